package sim

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"holdup/config"
	"holdup/daemon"
	"holdup/devices"
	"holdup/power"
	"holdup/sched"
	"holdup/store"
)

// lockedBuffer collects a daemon's logs for a failing test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// simDaemon is the daemon assembled in this process on the sim rig.
type simDaemon struct {
	d      *daemon.Daemon
	rig    *Rig
	cancel context.CancelFunc
	done   chan error
	log    *lockedBuffer

	mu    sync.Mutex
	acked []daemon.JournalEvent
}

// steps returns the steps of entries, in order.
func steps(entries []power.Entry) []power.Step {
	out := make([]power.Step, len(entries))
	for i, e := range entries {
		out[i] = e.Step
	}
	return out
}

// simConfig is the sim configuration the tests run (make sim's).
const simConfig = "../../testdata/sim.toml"

// readOp is a collection of point p through drv, as the scheduler runs it.
func readOp(drv devices.Driver, p devices.Point) sched.Op {
	d := drv.Device()
	return sched.Op{Device: d.Name, Point: p.Name, Class: sched.Collection, Integrity: sched.Checked,
		Run: func(ctx context.Context) (sched.Result, error) {
			s, err := drv.Read(ctx, p)
			return sched.Result{Value: s.Value, Raw: s.Raw, ChecksumKind: s.ChecksumKind, Checksum: s.Checksum}, err
		}}
}

// startSim assembles and runs the daemon on testdata/sim.toml with its
// state in dir; edit may change the configuration and the hardware.
func startSim(t *testing.T, dir string, edit func(*config.Config, *daemon.Hardware)) *simDaemon {
	t.Helper()
	return startSimConsole(t, dir, edit, "none")
}

// startSimConsole is startSim with the console on port ("" = configured).
func startSimConsole(t *testing.T, dir string, edit func(*config.Config, *daemon.Hardware), port string) *simDaemon {
	t.Helper()
	cfg, err := config.Load(simConfig)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Sim.EEPROMImage = filepath.Join(dir, "eeprom.bin")
	cfg.Store.Path = filepath.Join(dir, "data.db")
	ctx, cancel := context.WithCancel(context.Background())
	r, err := NewRig(context.Background(), cfg, RigOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	hw := r.Hardware()
	if edit != nil {
		edit(cfg, hw)
	}
	s := &simDaemon{rig: r, cancel: cancel, done: make(chan error, 1), log: &lockedBuffer{}}
	s.d, err = daemon.New(cfg, hw, daemon.Options{Log: s.log, Console: port, ObserveJournal: func(e daemon.JournalEvent) {
		s.mu.Lock()
		s.acked = append(s.acked, e)
		s.mu.Unlock()
	}})
	if err != nil {
		cancel()
		r.Close()
		t.Fatal(err)
	}
	go func() { s.done <- s.d.Run(ctx); r.Close() }()
	t.Cleanup(func() {
		s.stop(t) // idempotent
		if t.Failed() {
			t.Logf("daemon log:\n%s", s.log)
		}
	})
	return s
}

func (s *simDaemon) stop(t *testing.T) {
	t.Helper()
	s.cancel()
	select {
	case err := <-s.done:
		s.done <- err
		if err != nil {
			t.Errorf("daemon: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("daemon did not stop within 20 s")
	}
}

func (s *simDaemon) wait(t *testing.T, step power.Step, after uint64) power.Entry {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	e, err := s.d.Timeline().Wait(ctx, step, after)
	if err != nil {
		t.Fatalf("waiting for %q: %v\n%s", step, err, stepList(steps(s.d.Timeline().Entries())))
	}
	return e
}

func (s *simDaemon) control(t *testing.T, device, point string, v float64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.d.Control(ctx, device, point, v); err != nil {
		t.Fatalf("control %s/%s: %v", device, point, err)
	}
}

func (s *simDaemon) alarms() string {
	var b strings.Builder
	for _, a := range s.d.Alarms() {
		b.WriteString(string(a.Code) + ": " + a.Err.Error() + "\n")
	}
	return b.String()
}

// lossWithRecords cuts the mains, waits for protection and journals two
// control actions; it returns the timeline position after protection.
func (s *simDaemon) lossWithRecords(t *testing.T) uint64 {
	t.Helper()
	after := s.d.Timeline().Last()
	if err := s.rig.SetMains(false); err != nil {
		t.Fatal(err)
	}
	e := s.wait(t, power.StepModulesInvalid, after)
	s.control(t, "sim-inverter", "limit", 42)
	s.control(t, "sim-relay", "trip", 1)
	return e.Seq
}

// journaled returns the records the daemon acknowledged so far.
func (s *simDaemon) journaled() []daemon.JournalEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]daemon.JournalEvent(nil), s.acked...)
}

// mustHoldAll fails t for every acknowledged record the data store at path
// lacks (where says which store, for the message) and returns its records.
func mustHoldAll(t *testing.T, path string, acked []daemon.JournalEvent, where string) map[uint64]store.Record {
	t.Helper()
	got := storedRecords(t, path)
	for _, a := range acked {
		if _, ok := got[a.Seq]; !ok {
			t.Errorf("record %d (%s %s) acknowledged is not in %s", a.Seq, a.Record.Device, a.Record.Business, where)
		}
	}
	return got
}

func storedRecords(t *testing.T, path string) map[uint64]store.Record {
	t.Helper()
	ds, err := store.OpenDataStore(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	got := map[uint64]store.Record{}
	if err := ds.Records(func(r store.StoredRecord) error { got[r.Record.Seq] = r.Record; return nil }); err != nil {
		t.Fatal(err)
	}
	return got
}

// TestMissingGPIOChipKeepsProtecting: with the power-fail line's chip
// missing the daemon says so (chip named, alarm raised), and still does
// what it can without it: the cold start replays the outage a previous run
// journaled, and field IO runs.
func TestMissingGPIOChipKeepsProtecting(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first := startSim(t, dir, nil)
	first.wait(t, power.StepIdle, 0)
	first.lossWithRecords(t)
	first.stop(t) // shut down during the outage: the journal holds it open
	acked := first.journaled()
	if len(acked) < 3 {
		t.Fatalf("first run acknowledged %d records", len(acked))
	}

	second := startSim(t, dir, func(cfg *config.Config, hw *daemon.Hardware) {
		cfg.Power.FailLine.Chip = "gpiochip-holdup-test-missing"
		hw.OpenLine = daemon.RealHardware().OpenLine
	})
	e := second.wait(t, power.StepColdStart, 0)
	second.wait(t, power.StepSleeping, e.Seq)
	al := second.alarms()
	if !strings.Contains(al, string(power.AlarmLine)) || !strings.Contains(al, "gpiochip-holdup-test-missing") ||
		!strings.Contains(al, "power.fail_line") || !strings.Contains(al, "sim.toml:") {
		t.Fatalf("alarms do not name the missing chip and the config key:\n%s", al)
	}
	second.control(t, "sim-inverter", "limit", 7)
	second.stop(t)
	mustHoldAll(t, filepath.Join(dir, "data.db"), acked, "the data store after the cold start")
}

// TestUnreadableDataStore: a file at store.path that is not a data store
// at all is damage: the alarm names the key and the file and where it went,
// a fresh data store takes its place, and an outage's records reach it at
// the return (the unavailable case is TestDataStoreOpensLate).
func TestUnreadableDataStore(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "data.db")
	if err := os.WriteFile(db, bytes.Repeat([]byte("not a bbolt file "), 1024), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startSim(t, dir, nil)
	s.wait(t, power.StepIdle, 0)
	if al := s.alarms(); !strings.Contains(al, "store.path") || !strings.Contains(al, db) || !strings.Contains(al, ".damaged-") {
		t.Fatalf("alarms do not name store.path, the file and where it went:\n%s", al)
	}
	after := s.lossWithRecords(t)
	if err := s.rig.SetMains(true); err != nil {
		t.Fatal(err)
	}
	s.wait(t, power.StepCompletion, after)
	s.stop(t)
	mustHoldAll(t, db, s.journaled(), "the fresh data store")
}

// TestRunWithoutEEPROMBus: on a machine without the configured i2c-dev
// node, `holdup run` refuses to start with an error naming the bus and
// where the config sets it.
func TestSystemdNotify(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	t.Setenv("NOTIFY_SOCKET", sock)
	t.Setenv("WATCHDOG_USEC", "200000")
	t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()))
	msgs := make(chan string, 64)
	go func() {
		b := make([]byte, 512)
		for {
			n, err := conn.Read(b)
			if err != nil {
				close(msgs)
				return
			}
			msgs <- string(b[:n])
		}
	}()
	next := func(want string) {
		t.Helper()
		deadline := time.After(10 * time.Second)
		for {
			select {
			case m := <-msgs:
				if strings.Contains(m, want) {
					return
				}
			case <-deadline:
				t.Fatalf("no %s from the daemon", want)
			}
		}
	}
	s := startSim(t, t.TempDir(), nil)
	next("READY=1")
	next("STATUS=protecting: every configured part up")
	next("WATCHDOG=1")
	next("WATCHDOG=1")
	s.stop(t)
	next("STOPPING=1")

	// A part missing at start is said loudly: in STATUS= and on the
	// console's greeting, not only in a log line.
	s = startSim(t, t.TempDir(), func(_ *config.Config, hw *daemon.Hardware) {
		hw.OpenLine = func(config.Power, power.EdgeHandler, *slog.Logger) (power.Line, error) {
			return nil, errors.New("no such chip")
		}
	})
	next("READY=1")
	next("STATUS=DEGRADED: protecting without " + string(power.AlarmLine))
	s.stop(t)
}

// TestBlipThroughDaemon: a power-fail edge the phase voltages overrule is
// a blip — no outage journaled or logged — and the mains-only device shed
// by the optimistic gate runs again afterwards.
func TestBlipThroughDaemon(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := startSim(t, dir, nil)
	s.wait(t, power.StepIdle, 0)
	line := s.rig.line
	if err := line.Fail(); err != nil { // the line drops, the voltages stay
		t.Fatal(err)
	}
	s.wait(t, power.StepBlip, 0)
	drv := s.d.Driver("sim-plc-meter")
	p, _ := drv.Device().Point("energy")
	var err error
	for range 40 { // the reopener re-opens the gated interface just after the blip
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		var res sched.Result
		res, err = s.d.Scheduler().Do(ctx, readOp(drv, p))
		cancel()
		if err == nil {
			if res.Value != 1234.56 {
				t.Fatalf("meter energy %v, want the simulated meter's 1234.56", res.Value)
			}
			break
		}
		if !errors.Is(err, sched.ErrAwaitingReinit) {
			t.Fatalf("mains-only device after a blip: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("mains-only device still shut after a blip: %v", err)
	}
	if err := line.Restore(); err != nil {
		t.Fatal(err)
	}
	if err := s.d.Monitor().Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	steps := steps(s.d.Timeline().Since(0))
	if has(steps, power.StepOutageJournaled) || has(steps, power.StepGated) {
		t.Fatalf("a blip became an outage:\n%s", stepList(steps))
	}

	s.stop(t)
	ds, err := store.OpenDataStore(filepath.Join(dir, "data.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	if os, _ := ds.Outages(0); len(os) != 0 {
		t.Fatalf("outage log after a blip: %+v", os)
	}
}

// TestACSamplingUnreachable: without the AC-sampling unit the daemon says
// so, decides the loss from the GPIO line alone, and logs the outage as
// unconfirmed.
func TestACSamplingUnreachable(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := startSim(t, dir, func(cfg *config.Config, hw *daemon.Hardware) {
		open := hw.OpenSerial
		hw.OpenSerial = func(sc devices.SerialConfig) (devices.SerialPort, error) {
			if sc.Path == cfg.ACSampling.Port {
				return nil, errors.New("open /dev/ttySIM0: no such file or directory")
			}
			return open(sc)
		}
	})
	s.wait(t, power.StepIdle, 0)
	if al := s.alarms(); !strings.Contains(al, "ac_sampling.port") || !strings.Contains(al, "GPIO line alone") {
		t.Fatalf("alarms: %s", al)
	}
	after := s.lossWithRecords(t)
	if err := s.rig.SetMains(true); err != nil {
		t.Fatal(err)
	}
	s.wait(t, power.StepSleeping, after)
	inOrder(t, steps(s.d.Timeline().Entries()), power.StepLossUnconfirmed, power.StepOutageJournaled,
		power.StepModulesInvalid, power.StepRestoreGPIO, power.StepReplayed, power.StepCompletion)
	s.stop(t)
	ds, err := store.OpenDataStore(filepath.Join(dir, "data.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	os, err := ds.Outages(0)
	if err != nil || len(os) != 1 || os[0].LossConfirmed || os[0].RestoreConfirmed || os[0].Replayed < 4 {
		t.Fatalf("outage log: %+v %v", os, err)
	}
}

// TestLossDuringRecovery: power fails again while the warm recovery runs
// (the HPLC module is rebooting): recovery stops at a safe point, the new
// outage is protected, and after the final return every acknowledged
// record is in the data store exactly once and both outages are logged.
func TestLossDuringRecovery(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := startSim(t, dir, nil)
	s.wait(t, power.StepIdle, 0)
	after := s.lossWithRecords(t)
	if err := s.rig.SetMains(true); err != nil {
		t.Fatal(err)
	}
	e := s.wait(t, power.StepRestoreReported, after)
	// Re-initialising the HPLC module takes seconds: cut the mains again.
	if err := s.rig.SetMains(false); err != nil {
		t.Fatal(err)
	}
	e2 := s.wait(t, power.StepRecoveryStopped, e.Seq)
	s.wait(t, power.StepModulesInvalid, e2.Seq)
	s.control(t, "sim-inverter", "limit", 43)
	if err := s.rig.SetMains(true); err != nil {
		t.Fatal(err)
	}
	e3 := s.wait(t, power.StepCompletion, e2.Seq)
	s.wait(t, power.StepSleeping, e3.Seq)
	steps := steps(s.d.Timeline().Since(after))
	inOrder(t, steps, power.StepRestoreConfirmed, power.StepRestoreReported, power.StepRecoveryStopped,
		power.StepLossConfirmed, power.StepModulesInvalid, power.StepRestoreConfirmed, power.StepReinit,
		power.StepResumed, power.StepReplayed, power.StepCompletion, power.StepSleeping)
	s.stop(t)
	acked := s.journaled()
	ds, err := store.OpenDataStore(filepath.Join(dir, "data.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	seen := map[uint64]int{}
	if err := ds.Records(func(r store.StoredRecord) error { seen[r.Record.Seq]++; return nil }); err != nil {
		t.Fatal(err)
	}
	for _, a := range acked {
		if seen[a.Seq] != 1 {
			t.Errorf("record %d (%s %s) stored %d times", a.Seq, a.Record.Business, a.Record.Device, seen[a.Seq])
		}
	}
	outs, err := ds.Outages(0)
	if err != nil || len(outs) != 2 {
		t.Fatalf("outage log: %+v %v", outs, err)
	}
	replayed, dup, interrupted := 0, 0, 0
	for _, o := range outs {
		replayed += o.Replayed
		dup += o.Duplicate
		if o.Interrupted {
			interrupted++
		}
	}
	if replayed != len(acked) || dup != 0 || interrupted != 1 {
		t.Fatalf("outage log replayed %d (acknowledged %d), duplicates %d, interrupted %d: %+v", replayed, len(acked), dup, interrupted, outs)
	}
}

// TestChatterThroughDaemon: 1,000 edges on the power-fail line within a
// few milliseconds (no kernel debounce) make one outage, not many.
func TestChatterThroughDaemon(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := startSim(t, dir, func(cfg *config.Config, _ *daemon.Hardware) { cfg.Power.Debounce = 0 })
	s.wait(t, power.StepIdle, 0)
	for _, ac := range s.rig.acs {
		ac.SetMainsLost(true)
	}
	start := time.Now()
	if err := s.rig.line.Chatter(1001, nil, power.MainsLost); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 10*time.Millisecond {
		t.Logf("1,001 edges took %v (slow machine)", d)
	}
	e := s.wait(t, power.StepModulesInvalid, 0)
	if err := s.rig.SetMains(true); err != nil {
		t.Fatal(err)
	}
	s.wait(t, power.StepSleeping, e.Seq)
	st, err := s.d.Monitor().Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, x := range steps(s.d.Timeline().Entries()) {
		if x == power.StepOutageJournaled {
			n++
		}
	}
	if n != 1 || st.Outages != 1 || st.Warm != 1 || st.Edges < 1000 {
		t.Fatalf("%d outage-begin steps, stats %+v", n, st)
	}
}

// TestVoltmeterGarbage: an AC-sampling unit answering implausible
// voltages never counts as mains present: the loss is decided from the
// GPIO line, the alarm names the reading, and the outage is protected.
func TestVoltmeterGarbage(t *testing.T) {
	t.Parallel()
	s := startSim(t, t.TempDir(), nil)
	s.wait(t, power.StepIdle, 0)
	for _, ac := range s.rig.acs {
		ac.SetVoltages([3]float64{999, 999, 999}) // above max_v: garbage
	}
	if err := s.rig.line.Fail(); err != nil {
		t.Fatal(err)
	}
	s.wait(t, power.StepModulesInvalid, 0)
	entries := s.d.Timeline().Entries()
	inOrder(t, steps(entries), power.StepEdgeGated, power.StepLossUnconfirmed, power.StepOutageJournaled, power.StepGated)
	found := false
	for _, e := range entries {
		found = found || (e.Step == power.StepAlarm && strings.Contains(e.Detail, string(power.AlarmVoltmeterGarbage)) && strings.Contains(e.Detail, "999"))
	}
	if !found || !strings.Contains(s.alarms(), string(power.AlarmVoltmeterGarbage)) {
		t.Fatalf("no voltmeter-garbage alarm naming the reading:\n%s\nalarms: %s", stepList(steps(entries)), s.alarms())
	}
	if !s.d.Scheduler().InOutage() {
		t.Fatal("scheduler not in outage mode")
	}
}

// TestSimWithRealParts: [sim] real_power_line / real_eeprom swap the real
// GPIO line and i2c-dev EEPROM into the simulated rig (hardware-in-the-loop
// on a board without the serial units); the phase-voltage simulators still
// follow `loss`, while the real line is left to whoever drives it.
func TestSimWithRealParts(t *testing.T) {
	cfg, err := config.Load(simConfig)
	if err != nil {
		t.Fatal(err)
	}
	r := &Rig{cfg: cfg}
	if hw := r.Hardware(); hw.Name != "simulated" {
		t.Fatalf("plain sim hardware is %q", hw.Name)
	}
	cfg.Sim.RealPowerLine, cfg.Sim.RealEEPROM = true, true
	hw := r.Hardware()
	if !strings.Contains(hw.Name, "real power-fail line") || !strings.Contains(hw.Name, "real EEPROM") {
		t.Fatalf("hardware %q", hw.Name)
	}
	if _, err := os.Stat(cfg.EEPROM.Bus); err != nil {
		if _, _, err := hw.OpenEEPROM(cfg.EEPROM); err == nil || !strings.Contains(err.Error(), cfg.EEPROM.Bus) {
			t.Fatalf("real EEPROM on a host without %s: %v", cfg.EEPROM.Bus, err)
		}
	}
	if err := r.SetMains(false); err != nil {
		t.Fatalf("loss with a real line (driven from outside): %v", err)
	}
	raw := "[sim]\nenabled = true\nreal_eeprom = true\nreal_power_line = true\n"
	full, _ := os.ReadFile(simConfig)
	body := strings.Replace(string(full), "[sim]\nenabled = true\n", raw, 1)
	body = strings.Replace(body, "eeprom_image = ", "# eeprom_image = ", 1)
	if _, err := config.Parse([]byte(body), "hil.toml"); err != nil {
		t.Fatalf("a real-EEPROM sim config needs no image: %v", err)
	}
}

// TestDLT698MetersShareTheirBus: two DL/T 698.45 meters on one RS-485 bus
// open its port once and take turns on it; the meter that answers is read,
// the silent one times out until the error-rate watch silences it alone —
// the bus stays open for the other.
func TestDLT698MetersShareTheirBus(t *testing.T) {
	t.Parallel()
	var (
		mu    sync.Mutex
		opens = map[string]int{}
	)
	s := startSim(t, t.TempDir(), func(cfg *config.Config, hw *daemon.Hardware) {
		var first devices.Device
		for _, d := range cfg.Devices {
			if d.Name == "sim-meter" {
				first = d
			}
		}
		second := first
		second.Name, second.Address, second.Timeout = "sim-meter-2", "000000000003", 100*time.Millisecond
		second.Points = []devices.Point{{Name: "energy", Class: devices.ClassCollection, Integrity: devices.IntegrityChecked,
			Period: time.Second, Deadline: time.Second, Scale: 1, Item: "00100200"}}
		cfg.Devices = append(cfg.Devices, second)
		cfg.Sched.ErrorThreshold = 2
		open := hw.OpenSerial
		hw.OpenSerial = func(sc devices.SerialConfig) (devices.SerialPort, error) {
			mu.Lock()
			opens[sc.Path]++
			mu.Unlock()
			return open(sc)
		}
	})
	s.wait(t, power.StepIdle, 0)
	ctx := context.Background()
	for end := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if silent, _ := s.d.Scheduler().Silent("sim-meter-2"); silent {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("sim-meter-2 never silenced; alarms:\n%s", s.alarms())
		}
	}
	if st, _ := s.d.Scheduler().Stats("/dev/ttySIM3"); st.Closed {
		t.Fatal("one silent meter closed the whole bus")
	}
	r1 := sched.Reading{Value: readThrough(t, s, "sim-meter", "00100200")}
	r2, _ := s.d.Scheduler().Latest(ctx, "sim-meter-2", "energy")
	if !r2.Invalid {
		t.Fatalf("sim-meter-2 %+v, want invalid: nobody answers at its address", r2)
	}
	if !strings.Contains(s.alarms(), "sim-meter-2") {
		t.Errorf("no alarm names the silenced meter:\n%s", s.alarms())
	}
	mu.Lock()
	if opens["/dev/ttySIM3"] != 1 {
		t.Errorf("the shared bus was opened %d times, want once", opens["/dev/ttySIM3"])
	}
	mu.Unlock()
	// Re-initialising the bus (as after an outage, or to re-open a closed
	// path) re-opens its port once, under both meters' clients.
	if err := s.d.ReinitInterface(ctx, "/dev/ttySIM3"); err != nil {
		t.Fatal(err)
	}
	if silent, _ := s.d.Scheduler().Silent("sim-meter-2"); silent {
		t.Error("re-initialising the bus left sim-meter-2 silenced")
	}
	mu.Lock()
	if opens["/dev/ttySIM3"] != 2 {
		t.Errorf("after re-initialisation the bus was opened %d times in all, want 2", opens["/dev/ttySIM3"])
	}
	mu.Unlock()
	if v := readThrough(t, s, "sim-meter", "00100200"); v != r1.Value {
		t.Errorf("sim-meter reads %v on the re-opened port, want %v", v, r1.Value)
	}
}

// TestSerialLinesAsConfigured: every serial port the daemon opens (the
// AC-sampling unit, a DL/T 698.45 bus, the HPLC module, a Modbus RTU bus)
// goes through the one opener with the line the configuration gives it —
// a meter bus configured odd parity is opened odd, not the protocol's
// usual even.
func TestSerialLinesAsConfigured(t *testing.T) {
	t.Parallel()
	var (
		mu     sync.Mutex
		opened = map[string]devices.SerialConfig{}
	)
	s := startSim(t, t.TempDir(), func(cfg *config.Config, hw *daemon.Hardware) {
		for i := range cfg.Devices {
			if cfg.Devices[i].Name == "sim-meter" {
				cfg.Devices[i].Parity = "O"
				cfg.Devices[i].StopBits = 2
			}
		}
		open := hw.OpenSerial
		hw.OpenSerial = func(sc devices.SerialConfig) (devices.SerialPort, error) {
			mu.Lock()
			opened[sc.Path] = sc
			mu.Unlock()
			return open(sc)
		}
	})
	s.wait(t, power.StepIdle, 0)
	mu.Lock()
	defer mu.Unlock()
	for path, want := range map[string]string{
		"/dev/ttySIM0": "/dev/ttySIM0 9600 8E1", // [ac_sampling]: DL/T 698.45's default
		"/dev/ttySIM1": "/dev/ttySIM1 9600 8E1", // [hplc]: 1376.2 is 8E1
		"/dev/ttySIM2": "/dev/ttySIM2 9600 8N1", // modbus-rtu default
		"/dev/ttySIM3": "/dev/ttySIM3 9600 8O2", // the meter bus as edited
	} {
		sc, ok := opened[path]
		if !ok {
			t.Errorf("%s never opened", path)
			continue
		}
		if got := sc.String(); got != want {
			t.Errorf("%s opened as %q, want %q", path, got, want)
		}
	}
}

// TestSiteReadsLikeASite: the simulated devices read like a real site: the
// inverter's output in watts within its rating, the meters' energy in kWh
// growing with what the inverter delivered, nothing delivered or metered
// while the mains is out (a grid-tied inverter disconnects).
func TestSiteReadsLikeASite(t *testing.T) {
	t.Parallel()
	s := startSim(t, t.TempDir(), nil)
	s.wait(t, power.StepIdle, 0)
	ctx := context.Background()
	inverter := func() float64 {
		t.Helper()
		drv := s.d.Driver("sim-inverter")
		p, _ := drv.Device().Point("power")
		res, err := s.d.Scheduler().Do(ctx, readOp(drv, p))
		if err != nil {
			t.Fatal(err)
		}
		return res.Value
	}
	meter698 := func() float64 { return readThrough(t, s, "sim-meter", "00100200") * 0.01 } // the meter counts 0.01 kWh
	meter645 := func() float64 { return readThrough(t, s, "sim-plc-meter", "00010000") }
	if w := inverter(); w != sitePowerW {
		t.Fatalf("inverter output %v W at the start, want %v", w, sitePowerW)
	}
	e698, e645 := meter698(), meter645()
	if math.Abs(e698-site698KWh) > 0.005 || math.Abs(e645-siteHPLCKWh) > 0.005 {
		t.Fatalf("meters read %v and %v kWh, want %v and %v", e698, e645, site698KWh, siteHPLCKWh)
	}
	// A quarter of the swing in: the output is at its peak; an hour of it
	// is 5.4 kWh on both meters.
	s.rig.site.step(ctx, siteSwing/4, time.Hour)
	if w := inverter(); w != sitePowerW+siteSwingW || w > siteRatedW {
		t.Fatalf("inverter output %v W at the swing's peak, want %v within the %v W rating", w, sitePowerW+siteSwingW, siteRatedW)
	}
	if d := meter698() - e698; math.Abs(d-5.4) > 0.005 {
		t.Errorf("698 meter grew %v kWh over an hour at 5.4 kW", d)
	}
	if d := meter645() - e645; math.Abs(d-5.4) > 0.005 {
		t.Errorf("645 meter grew %v kWh over an hour at 5.4 kW", d)
	}
	// Mains out: the inverter disconnects, the meters stand still.
	if err := s.rig.SetMains(false); err != nil {
		t.Fatal(err)
	}
	e698 = meter698()
	s.rig.site.step(ctx, siteSwing/4, time.Hour)
	if w := inverter(); w != 0 {
		t.Errorf("inverter output %v W with the mains out, want 0", w)
	}
	if d := meter698() - e698; math.Abs(d) > 1e-9 { // not == 0: arm64 may fuse the scaling into the subtraction
		t.Errorf("698 meter counted %v kWh with the mains out", d)
	}
}

// TestNewRigFailsCleanly: a rig that cannot be built (here: the master's
// key file is missing) returns the error after closing what it started,
// instead of panicking on the nil rig its failing return leaves behind.
func TestNewRigFailsCleanly(t *testing.T) {
	cfg, err := config.Load(simConfig)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg.Sim.EEPROMImage = filepath.Join(dir, "eeprom.bin")
	cfg.Store.Path = filepath.Join(dir, "data.db")
	cfg.Uplink.Security.KeyFile = filepath.Join(dir, "no-such.key")
	r, err := NewRig(context.Background(), cfg, RigOptions{}, nil)
	if err == nil {
		r.Close()
		t.Fatal("NewRig with a missing key file succeeded")
	}
	if !strings.Contains(err.Error(), "no-such.key") {
		t.Errorf("error %q does not name the key file", err)
	}
}
