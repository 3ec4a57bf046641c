package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"holdup/eeprom"
	"holdup/power"
	"holdup/store"
)

func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = dispatch(context.Background(), args, &o, &e)
	return code, o.String(), e.String()
}

// simImage runs the journal demo and returns the image it leaves.
func simImage(t *testing.T, seed string) string {
	t.Helper()
	dir := t.TempDir()
	code, out, errOut := run(t, "sim", "-scenario", "journal", "-dir", dir, "-records", "120", "-seed", seed)
	if code != 0 {
		t.Fatalf("sim exit %d: %s %s", code, out, errOut)
	}
	if !strings.Contains(out, "lost 0") {
		t.Fatalf("sim summary: %s", out)
	}
	return filepath.Join(dir, "eeprom.bin")
}

func TestJournalDumpJSON(t *testing.T) {
	img := simImage(t, "11")
	code, out, errOut := run(t, "journal", "dump", "-image", img, "-part", "at24c256", "-all")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	sc := bufio.NewScanner(strings.NewReader(out))
	var prev float64
	n := 0
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %d is not JSON: %v", n+1, err)
		}
		for _, k := range []string{"sequence", "time", "business_type", "io_interface", "device", "value", "integrity", "invalid"} {
			if _, ok := m[k]; !ok {
				t.Fatalf("line %d lacks %q: %s", n+1, k, sc.Text())
			}
		}
		seq := m["sequence"].(float64)
		if seq <= prev {
			t.Fatalf("sequence %v after %v", seq, prev)
		}
		prev = seq
		n++
	}
	if n < 50 {
		t.Fatalf("dump printed %d records", n)
	}
	if !strings.Contains(errOut, "records printed") {
		t.Fatalf("no summary on stderr: %s", errOut)
	}
	if !strings.Contains(errOut, ", 0 skipped regions, 0 lost ranges (0 sequence numbers)\n") || strings.Contains(errOut, "lost: ") {
		t.Fatalf("summary reports damage on an intact image: %s", errOut)
	}
}

// TestJournalDumpLostRanges erases a page in the middle of a journal's
// records: the dump's summary counts the lost range and a lost: line names
// the sequence numbers and the damaged pages.
func TestJournalDumpLostRanges(t *testing.T) {
	part, err := eeprom.LookupPart("at24c256")
	if err != nil {
		t.Fatal(err)
	}
	sim := eeprom.NewSim(eeprom.SimConfig{Part: part, Seed: 1})
	chip, err := eeprom.NewChip(sim, part, 0x50)
	if err != nil {
		t.Fatal(err)
	}
	j, err := store.Open(chip, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 30; i++ {
		rec := store.Record{Time: time.UnixMilli(1_780_000_000_000 + int64(i)), Business: store.BusinessControl,
			Interface: "rs485-2", Device: fmt.Sprintf("breaker-%02d", i), Value: i%2 == 0,
			Integrity: store.Integrity{Kind: store.IntegrityCRC16Modbus, Value: uint32(i)}}
		if _, err := j.Append(context.Background(), rec); err != nil {
			t.Fatal(err)
		}
	}
	j.Close()
	img := sim.Image()
	for i := 10 * part.PageSize; i < 11*part.PageSize; i++ {
		img[i] = 0xFF
	}
	path := filepath.Join(t.TempDir(), "eeprom.bin")
	if err := os.WriteFile(path, img, 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := run(t, "journal", "dump", "-image", path, "-part", "at24c256")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !regexp.MustCompile(`, \d+ skipped regions, 1 lost ranges \([1-9]\d* sequence numbers\)\n`).MatchString(errOut) {
		t.Fatalf("summary does not count one lost range: %s", errOut)
	}
	if !regexp.MustCompile(`(?m)^lost: seq \d+(\.\.\d+)? \(\d+ sequence numbers?\) where pages? \d+(\.\.\d+)? (is|are) damaged from offset \d+$`).MatchString(errOut) {
		t.Fatalf("no lost: line naming the range: %s", errOut)
	}
}

// TestJournalDumpCBORIndependentDecoder decodes the CBOR sequence with
// Python's cbor2 (Debian python3-cbor2), not our own decoder, and checks it
// against the JSON dump.
func TestJournalDumpCBORIndependentDecoder(t *testing.T) {
	if err := exec.Command("/usr/bin/python3", "-c", "import cbor2").Run(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("python3-cbor2 is required in CI: %v", err)
		}
		t.Skip("python3-cbor2 not installed (apt-get install python3-cbor2)")
	}
	img := simImage(t, "12")
	_, js, _ := run(t, "journal", "dump", "-image", img, "-all")
	code, cb, errOut := run(t, "journal", "dump", "-image", img, "-all", "-format", "cbor")
	if code != 0 {
		t.Fatal(errOut)
	}
	py := `
import sys, json, io, cbor2
data = sys.stdin.buffer.read()
f = io.BytesIO(data)
out = []
while f.tell() < len(data):
    r = cbor2.load(f)
    out.append({"sequence": r[1], "time_ms": r[2], "business": r[3], "io_interface": r[4],
                "device": r[5], "attributes": r.get(6, {}), "value": r[7], "integrity": r[8],
                "invalid": r.get(9, False)})
json.dump(out, sys.stdout)
`
	cmd := exec.Command("/usr/bin/python3", "-c", py)
	cmd.Stdin = strings.NewReader(cb)
	pyOut, err := cmd.Output()
	if err != nil {
		t.Fatalf("cbor2 could not decode the dump: %v", err)
	}
	var fromPy []map[string]any
	if err := json.Unmarshal(pyOut, &fromPy); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(js), "\n")
	if len(lines) != len(fromPy) || len(lines) < 50 {
		t.Fatalf("cbor2 decoded %d records, JSON dump has %d", len(fromPy), len(lines))
	}
	business := map[string]float64{"control": 1, "collection": 2, "event": 3, "alarm": 4}
	for i, l := range lines {
		var j map[string]any
		json.Unmarshal([]byte(l), &j)
		p := fromPy[i]
		integ := p["integrity"].([]any)
		ji := j["integrity"].(map[string]any)
		if p["sequence"] != j["sequence"] || p["device"] != j["device"] || p["io_interface"] != j["io_interface"] ||
			p["value"] != j["value"] || p["business"] != business[j["business_type"].(string)] ||
			integ[1] != ji["value"] || p["invalid"] != j["invalid"] {
			t.Fatalf("record %d: cbor2 %v, json %v", i, p, j)
		}
	}
}

func TestJournalDumpBadInput(t *testing.T) {
	dir := t.TempDir()
	small := filepath.Join(dir, "small.bin")
	os.WriteFile(small, make([]byte, 4096), 0o644)
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"journal", "dump", "-image", small, "-part", "at24c1024"}, 1, `unknown part "at24c1024"`},
		{[]string{"journal", "dump", "-image", small, "-part", "at24c256"}, 1, "is 4096 bytes but part at24c256 holds 32768"},
		{[]string{"journal", "dump", "-image", filepath.Join(dir, "nope.bin")}, 1, "no such file"},
		{[]string{"journal", "dump"}, 2, "-image FILE is required"},
		{[]string{"journal", "dump", "-image", small, "-format", "xml"}, 2, `-format "xml"`},
		{[]string{"journal"}, 2, "journal dump -image"},
		{[]string{"frobnicate"}, 2, `unknown command "frobnicate"`},
	}
	for _, c := range cases {
		code, _, errOut := run(t, c.args...)
		if code != c.code || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d containing %q", c.args, code, errOut, c.code, c.want)
		}
	}
	// A corrupt image: random bytes are reported, not printed, no panic.
	part, _ := eeprom.LookupPart("at24c32")
	junk := make([]byte, part.Size)
	for i := range junk {
		junk[i] = byte(i*7 + i/13)
	}
	bad := filepath.Join(dir, "junk.bin")
	os.WriteFile(bad, junk, 0o644)
	code, out, errOut := run(t, "journal", "dump", "-image", bad, "-part", "at24c32")
	if code != 1 || out != "" || !strings.Contains(errOut, "no journal frame verified") {
		t.Fatalf("junk image: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

func TestVersion(t *testing.T) {
	code, out, _ := run(t, "version")
	if code != 0 || !strings.HasPrefix(out, "holdup ") {
		t.Fatalf("version: %d %q", code, out)
	}
}

// TestFrameDecodeDetectsEveryVector decodes every public vector without
// -proto and checks the detected protocol, and that a corrupted copy names
// the failing field and offset and exits 1.
func TestFrameDecodeDetectsEveryVector(t *testing.T) {
	files := map[string]string{
		"proto698/testdata/dlt698.tsv":    "698",
		"hplc/testdata/q1376_2.tsv":       "1376.2",
		"hplc/dlt645/testdata/dlt645.tsv": "645",
	}
	n := 0
	for file, proto := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(strings.TrimSpace(string(raw)), "\n")[1:] {
			hexFrame := strings.Split(line, "\t")[0]
			code, out, errOut := run(t, "frame", "decode", hexFrame)
			var got struct {
				Proto string         `json:"proto"`
				Frame map[string]any `json:"frame"`
			}
			if code != 0 || json.Unmarshal([]byte(out), &got) != nil || got.Proto != proto || len(got.Frame) == 0 {
				t.Errorf("%s line %d: exit %d proto %q (want %s): %s", file, i+2, code, got.Proto, proto, errOut)
			}
			// Flip the last checksum byte: a clear error, exit 1.
			b := []byte(hexFrame)
			if b[len(b)-3] == '0' {
				b[len(b)-3] = '1'
			} else {
				b[len(b)-3] = '0'
			}
			code, out, errOut = run(t, "frame", "decode", "-proto", proto, string(b))
			if code != 1 || out != "" || !strings.Contains(errOut, "at byte offset") {
				t.Errorf("%s line %d corrupted: exit %d, stderr %q", file, i+2, code, errOut)
			}
			n++
		}
	}
	if n < 40 {
		t.Fatalf("only %d vectors", n)
	}
	if code, _, errOut := run(t, "frame", "decode", "-proto", "modbus", "00"); code != 2 || !strings.Contains(errOut, "want one of") {
		t.Fatalf("unknown -proto: %d %q", code, errOut)
	}
}

func TestCheckConfig(t *testing.T) {
	for _, f := range []string{"deploy/holdup.toml", "testdata/sim.toml"} {
		if code, out, errOut := run(t, "check-config", f); code != 0 || !strings.Contains(out, "valid") {
			t.Errorf("%s: exit %d %s %s", f, code, out, errOut)
		}
	}
	dir := t.TempDir()
	raw, err := os.ReadFile("deploy/holdup.toml")
	if err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(string(raw), "[eeprom]", "[eeprom]\nfrobnicate = 1", 1)
	path := filepath.Join(dir, "bad.toml")
	os.WriteFile(path, []byte(bad), 0o644)
	code, _, errOut := run(t, "check-config", path)
	if code != 2 || !strings.Contains(errOut, "frobnicate") || !strings.Contains(errOut, "bad.toml:") {
		t.Fatalf("unknown key: exit %d, %q", code, errOut)
	}
	// run refuses the same file before starting anything.
	code, _, errOut = run(t, "run", "-config", path)
	if code != 2 || !strings.Contains(errOut, "frobnicate") {
		t.Fatalf("run with an invalid config: exit %d, %q", code, errOut)
	}
}

// TestMain lets the test binary stand in for the holdup binary when the
// scenario starts daemon children (it re-executes itself with
// HOLDUP_SIM_CHILD=1 and `run …` arguments).
func TestMain(m *testing.M) {
	if os.Getenv(simChildEnv) != "" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM) // as main does
		code := dispatch(ctx, os.Args[1:], os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}

func TestRunWithoutEEPROMBus(t *testing.T) {
	if _, err := os.Stat("/dev/i2c-5"); err == nil {
		t.Skip("this machine has /dev/i2c-5")
	}
	code, _, errOut := run(t, "run", "-config", "deploy/holdup.toml", "-console", "none")
	if code != 1 || !strings.Contains(errOut, "EEPROM bus /dev/i2c-5") || !strings.Contains(errOut, "deploy/holdup.toml:10") {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	code, _, errOut = run(t, "run", "-config", "deploy/holdup.toml", "-sim-control")
	if code != 2 || !strings.Contains(errOut, "[sim] enabled") {
		t.Fatalf("sim flag on a real config: exit %d, stderr %q", code, errOut)
	}
}

func TestSimCommand(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("the full scenario takes ~15 s")
	}
	dir := t.TempDir()
	start := time.Now()
	code, out, errOut := run(t, "sim", "-dir", dir)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	if d := time.Since(start); d > 60*time.Second {
		t.Errorf("holdup sim took %v (must be under 60 s)", d)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	last := lines[len(lines)-1]
	// The fields of earlier releases keep their places; forwarded is
	// appended.
	m := regexp.MustCompile(`^summary: outages (\d+), warm (\d+), cold (\d+), journaled (\d+), replayed (\d+), rejected (\d+), lost (\d+), forwarded (\d+)$`).FindStringSubmatch(last)
	if m == nil {
		t.Fatalf("last line %q", last)
	}
	n := make([]int, 9)
	for i := 1; i < 9; i++ {
		n[i], _ = strconv.Atoi(m[i])
	}
	// Three outages: warm, warm after an operator's restart, cold.
	// Every journaled record replayed; every control action and reading
	// (all but the outage begin/end records) forwarded to the master.
	events := 0
	if em := regexp.MustCompile(`(\d+) outage begin/end`).FindStringSubmatch(out); em != nil {
		events, _ = strconv.Atoi(em[1])
	}
	if n[1] != 3 || n[2] != 2 || n[3] != 1 || n[4] < 15 || n[5] != n[4] || n[6] != 0 || n[7] != 0 || events < 6 || n[8] != n[4]-events {
		t.Fatalf("summary %q (%d outage begin/end records)", last, events)
	}
	// The master station saw the outages' invalid values: NULL on GET of
	// the mains-only meter (the scenario checks each answer: once per
	// outage, and again after the restart during the second) and in the
	// data reports the outages sent at once.
	if c := strings.Count(out, "sim-plc-meter/energy: NULL (invalid)"); c != 4 {
		t.Errorf("master read the mains-only meter as NULL %d times, want 4", c)
	}
	if dm := regexp.MustCompile(`(\d+) data reports, (\d+) with invalid \(NULL\) values`).FindStringSubmatch(out); dm == nil || dm[2] == "0" {
		t.Errorf("no data report with invalid values: %v", dm)
	}
	// Each of the method's steps, 1-1…1-5 and 2-1…2-8, at least once.
	for i := 1; i <= 8; i++ {
		for _, side := range []int{1, 2} {
			if side == 1 && i > 5 {
				continue
			}
			if !regexp.MustCompile(fmt.Sprintf(`(?m)^\+\S+\s+%d-%d `, side, i)).MatchString(out) {
				t.Errorf("timeline lacks step %d-%d", side, i)
			}
		}
	}
	for _, step := range []power.Step{power.StepColdStart, power.StepOutageContinued, power.StepPathClosed, power.StepForwarded} {
		if !strings.Contains(out, string(step)) {
			t.Errorf("timeline lacks %q", step)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "eeprom.bin")); err != nil {
		t.Fatal(err)
	}
}

// TestChildStopsOnSignal: a daemon child stops cleanly on SIGTERM (as
// systemd stops it) while its controller keeps the control pipe open.

// lineOf returns the line number (from 1) of the first line of raw that
// contains s, so a test names a key's line without counting by hand.
func lineOf(t *testing.T, raw []byte, s string) string {
	t.Helper()
	for i, l := range strings.Split(string(raw), "\n") {
		if strings.Contains(l, s) {
			return strconv.Itoa(i + 1)
		}
	}
	t.Fatalf("no line contains %q", s)
	return ""
}

// TestCheckConfigProbe: -probe warns, naming key and line, about each
// device node the file names that this machine lacks, and only those; the
// file stays valid (exit 0), and without -probe nothing is looked up.
func TestCheckConfigProbe(t *testing.T) {
	raw, err := os.ReadFile("testdata/sim.toml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	const tty = "/dev/null" // stands in for a port that exists
	path := filepath.Join(dir, "probe.toml")
	if err := os.WriteFile(path, []byte(strings.Replace(string(raw), `port = "/dev/ttySIM0"`, `port = "`+tty+`"`, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := run(t, "check-config", "-probe", path)
	if code != 0 || !strings.Contains(out, "valid") {
		t.Fatalf("exit %d, %q %q", code, out, errOut)
	}
	// The hold-up estimate: the sim's supercap would hold 187.5 s, the
	// configured 180 s bounds it.
	if want := "hold-up budget: 180 s (configured holdup_budget; the supercap 10 F, 5 -> 2.5 V at 0.5 W would hold 3m8s), final flush 150 s after the loss"; !strings.Contains(out, want) {
		t.Errorf("check-config output lacks %q:\n%s", want, out)
	}
	for _, want := range []string{
		"warning: eeprom.bus (" + path + ":" + lineOf(t, raw, `bus = "/dev/i2c-1"`) + "): /dev/i2c-1: no such file or directory",
		"warning: device[0].port (" + path + ":" + lineOf(t, raw, `port = "/dev/ttySIM2"`) + "): /dev/ttySIM2: no such file or directory",
		"warning: device[3].chip (" + path + ":" + lineOf(t, raw, `chip = "gpiochip1"`) + "): /dev/gpiochip1: no such file or directory",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("-probe output lacks %q:\n%s", want, errOut)
		}
	}
	if strings.Contains(errOut, "ac_sampling.port") {
		t.Errorf("-probe warned about a port that exists:\n%s", errOut)
	}
	if _, _, errOut := run(t, "check-config", path); errOut != "" {
		t.Errorf("without -probe: %q, want no warnings", errOut)
	}
}
