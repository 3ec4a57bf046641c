package store

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"holdup/eeprom"
)

// The version-1 image in testdata was made by the version-1 writer (the
// journal before the compact format) with
//
//	go test ./store -run '^TestWriteV1Image$' -store.write-v1-image
//
// and is committed: TestReplayV1Image mounts and replays it with today's
// code. Regenerating it with a writer that no longer writes version 1
// would defeat the test, so the flag is for the record only.
var writeV1Image = flag.Bool("store.write-v1-image", false, "write testdata/journal-v1-at24c64.{bin,jsonl} with the version-1 writer")

const (
	v1ImagePath = "testdata/journal-v1-at24c64.bin"
	v1JSONPath  = "testdata/journal-v1-at24c64.jsonl"
)

// simMixRecord is record i of the sim's outage mix (testdata/sim.toml,
// what `make sim` journals): the inverter's power every 5 s (Modbus RTU,
// CRC-16), the meter's energy every 10 s (DL/T 698.45, FCS), and a control
// write of each control point now and then; the HPLC meter is mains-only.
func simMixRecord(base time.Time, i int) Record {
	type src struct {
		iface, dev, driver, point, business string
		b                                   BusinessType
		kind                                IntegrityKind
	}
	srcs := []src{
		{"/dev/ttySIM2", "sim-inverter", "modbus-rtu", "power", "collection", BusinessCollection, IntegrityCRC16Modbus},
		{"/dev/ttySIM2", "sim-inverter", "modbus-rtu", "power", "collection", BusinessCollection, IntegrityCRC16Modbus},
		{"/dev/ttySIM3", "sim-meter", "dlt698", "energy", "collection", BusinessCollection, IntegrityCRC16X25},
		{"/dev/ttySIM2", "sim-inverter", "modbus-rtu", "power", "collection", BusinessCollection, IntegrityCRC16Modbus},
		{"/dev/ttySIM2", "sim-inverter", "modbus-rtu", "power", "collection", BusinessCollection, IntegrityCRC16Modbus},
		{"/dev/ttySIM3", "sim-meter", "dlt698", "energy", "collection", BusinessCollection, IntegrityCRC16X25},
		{"/dev/ttySIM2", "sim-inverter", "modbus-rtu", "limit", "control", BusinessControl, IntegrityCRC16Modbus},
		{"/dev/gpiochip1", "sim-relay", "gpio-output", "trip", "control", BusinessControl, IntegrityNone},
		{"/dev/ttySIM3", "sim-meter", "dlt698", "port-mode", "control", BusinessControl, IntegrityCRC16X25},
	}
	s := srcs[i%len(srcs)]
	r := Record{
		Time: base.Add(time.Duration(i)*1700*time.Millisecond + time.Duration(i%7)*time.Millisecond), Business: s.b,
		Interface: s.iface, Device: s.dev,
		Attrs:     map[string]any{"point": s.point, "business": s.business, "driver": s.driver},
		Integrity: Integrity{Kind: s.kind, Value: uint32(0x3A71+i*7919) & integrityMax[s.kind]},
	}
	switch s.point {
	case "power":
		r.Value = float64(4000+(i*37)%2000) + 0.5*float64(i%2)
	case "energy":
		r.Value = 12345.67 + 0.01*float64(i)
	case "limit":
		r.Value = float64(40 + i%3)
	default:
		r.Value = float64(i % 2)
	}
	return r
}

type fixedRand struct{ b byte }

func (f *fixedRand) Read(p []byte) (int, error) {
	for i := range p {
		f.b = f.b*31 + 7
		p[i] = f.b
	}
	return len(p), nil
}

// TestWriteV1Image writes the version-1 image: a journal that has lapped
// the AT24C64 once (consumed), then an outage begin, the sim mix, and an
// outage end left unconsumed, and the JSON of those unconsumed records.
func TestWriteV1Image(t *testing.T) {
	if !*writeV1Image {
		t.Skip("only with -store.write-v1-image")
	}
	ctx := context.Background()
	sim, chip := simChip(t, "at24c64", eeprom.TornRandom, 1)
	j, err := Open(chip, v1ImageOptions())
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 12, 4, 14, 5, 24, 665e6, time.UTC)
	// One lap consumed, so the unconsumed records wrap the end of the chip.
	var last uint64
	for i := 0; i < 40; i++ {
		if last, err = j.Append(ctx, simMixRecord(base, i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.Consume(ctx, last); err != nil {
		t.Fatal(err)
	}
	var want []Record
	app := func(r Record) {
		seq, err := j.Append(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		r.Seq = seq
		want = append(want, r)
	}
	b := base.Add(10 * time.Minute)
	app(OutageBeginRecord(OutageBegin{At: b, Confirmed: true, Volts: [3]float64{1.5, 1.5, 1.5}, BootID: "f496f15d-f39e-4f20-8c0e-a942da3ea213"}))
	for i := 0; i < 26; i++ {
		app(simMixRecord(b, i))
	}
	app(OutageEndRecord(OutageEnd{Begin: b, End: b.Add(3 * time.Minute), Cold: true, Evidence: "boot id changed: the terminal rebooted"}))
	j.Close()
	if err := os.WriteFile(v1ImagePath, sim.Image(), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	for _, r := range want {
		if err := enc.Encode(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(v1JSONPath, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s and %s (%d unconsumed records)", filepath.Clean(v1ImagePath), v1JSONPath, len(want))
}

func v1ImageOptions() Options { return Options{Rand: &fixedRand{b: 1}, legacyV1: true} }

// TestReplayV1Image mounts the committed version-1 image with today's
// code: every unconsumed record replays as the version-1 writer journaled
// it (the JSON it printed then), and appending after the upgrade goes on
// from the next sequence number without disturbing them.
func TestReplayV1Image(t *testing.T) {
	img, err := os.ReadFile(v1ImagePath)
	if err != nil {
		t.Fatal(err)
	}
	wantJSON, err := os.ReadFile(v1JSONPath)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := eeprom.LookupPart("at24c64")
	sim := eeprom.NewSim(eeprom.SimConfig{Part: p, Seed: 1})
	if err := sim.Load(img); err != nil {
		t.Fatal(err)
	}
	chip, _ := eeprom.NewChip(sim, p, 0x50)
	j, err := Open(chip, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	rep := j.MountReport()
	if len(rep.Skipped) > 0 || len(rep.Lost) > 0 || rep.Formatted {
		t.Fatalf("mount of the version-1 image: %+v", rep)
	}
	dump := func() []byte {
		var out bytes.Buffer
		enc := json.NewEncoder(&out)
		for _, e := range collect(t, j) {
			if err := enc.Encode(e.Record); err != nil {
				t.Fatal(err)
			}
		}
		return out.Bytes()
	}
	if got := dump(); !bytes.Equal(got, wantJSON) {
		t.Fatalf("replay of the version-1 image differs:\n got %s\nwant %s", got, wantJSON)
	}
	if n := bytes.Count(wantJSON, []byte("\n")); rep.Records != n || n < 20 {
		t.Fatalf("mount found %d records, the image holds %d", rep.Records, n)
	}
	// Appending after the upgrade keeps them and follows their sequence.
	seq, err := j.Append(context.Background(), simMixRecord(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), 3))
	if err != nil {
		t.Fatal(err)
	}
	if seq < rep.NextSeq || seq > rep.NextSeq+1 {
		t.Fatalf("first append after the upgrade got sequence %d, want %d (or one more after its dictionary frame)", seq, rep.NextSeq)
	}
	got := dump()
	if !bytes.HasPrefix(got, wantJSON) || bytes.Count(got, []byte("\n")) != rep.Records+1 {
		t.Fatalf("after an append the version-1 records changed:\n%s", got)
	}
}

// TestInspectVersions: the dump's version summary counts the record
// frames of each format on the image: the committed version-1 image is all
// version 1 (every record present, consumed or not); after the upgrade's
// writer appends, its new records count as version 2 beside the version-1
// ones still present; a journal written by version 2 alone says nothing.
func TestInspectVersions(t *testing.T) {
	ctx := context.Background()
	img, err := os.ReadFile(v1ImagePath)
	if err != nil {
		t.Fatal(err)
	}
	part, err := eeprom.LookupPart("at24c64")
	if err != nil {
		t.Fatal(err)
	}
	inspect := func(img []byte) *Inspection {
		t.Helper()
		in, err := Inspect(img, part.PageSize)
		if err != nil {
			t.Fatal(err)
		}
		return in
	}
	old := inspect(img)
	v1, v2 := old.Versions()
	if v1 != len(old.Records) || v1 < 28 || v2 != 0 {
		t.Fatalf("version-1 image: v1 %d, v2 %d of %d records", v1, v2, len(old.Records))
	}
	if got, want := old.VersionSummary(), fmt.Sprintf(", records v1 %d, v2 0", v1); got != want {
		t.Fatalf("version-1 image summary %q, want %q", got, want)
	}

	sim, chip := simChip(t, "at24c64", eeprom.TornRandom, 1)
	if err := sim.Load(img); err != nil {
		t.Fatal(err)
	}
	j, err := Open(chip, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := j.Append(ctx, typicalRecord(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	up := inspect(sim.Image())
	u1, u2 := up.Versions()
	if u2 != 3 || u1 == 0 || u1 > v1 || u1+u2 != len(up.Records) {
		t.Fatalf("after the upgrade's appends: v1 %d (was %d), v2 %d, %d records", u1, v1, u2, len(up.Records))
	}
	if got, want := up.VersionSummary(), fmt.Sprintf(", records v1 %d, v2 3", u1); got != want {
		t.Fatalf("upgraded image summary %q, want %q", got, want)
	}

	sim2, chip2 := simChip(t, "at24c64", eeprom.TornRandom, 2)
	j2, err := Open(chip2, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := j2.Append(ctx, typicalRecord(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := j2.Close(); err != nil {
		t.Fatal(err)
	}
	fresh := inspect(sim2.Image())
	if f1, f2 := fresh.Versions(); f1 != 0 || f2 != 3 || fresh.VersionSummary() != "" {
		t.Fatalf("version-2 journal: v1 %d, v2 %d, summary %q", f1, f2, fresh.VersionSummary())
	}
}
