package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"holdup/devices"
	"holdup/eeprom"
	"holdup/power"
	"holdup/proto698"
	"holdup/sched"
	"holdup/store"
)

// echoDriver writes a control point and reports the value written, as a
// Modbus output with its CRC does; switched records every value written.
type echoDriver struct {
	dev      devices.Device
	switched *sync.Map // float64 → true
}

func (e echoDriver) Device() devices.Device { return e.dev }
func (e echoDriver) Read(context.Context, devices.Point) (devices.Sample, error) {
	return devices.Sample{}, errors.New("echo driver: no reads")
}
func (e echoDriver) Write(_ context.Context, _ devices.Point, v float64) (devices.Sample, error) {
	if e.switched != nil {
		e.switched.Store(v, true)
	}
	return devices.Sample{Value: v, ChecksumKind: devices.ChecksumCRC16Modbus, Checksum: uint32(v) & 0xFFFF}, nil
}
func (e echoDriver) Reinit(context.Context) error { return nil }
func (e echoDriver) Close() error                 { return nil }

const floodOAD = 0xF2050200

// floodRig is the master's SET path onto a real journal on a simulated
// AT24C64 (the sim's part): northbound → rate limit → scheduler (durable
// control) → journal adapter → store.Journal.
type floodRig struct {
	nb     *northbound
	j      *store.Journal
	ja     *journal
	s      *sched.Scheduler
	clk    *limitClock
	alarms *alarmList
	// switched holds every value the output was switched to.
	switched sync.Map
}

func newFloodRig(t *testing.T, rate float64, burst int) *floodRig {
	t.Helper()
	part, err := eeprom.LookupPart("at24c64")
	if err != nil {
		t.Fatal(err)
	}
	chip, err := eeprom.NewChip(eeprom.NewSim(eeprom.SimConfig{Part: part, Seed: 1}), part, 0x50)
	if err != nil {
		t.Fatal(err)
	}
	j, err := store.Open(chip, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = j.Close() })
	discard := slog.New(slog.DiscardHandler)
	r := &floodRig{j: j, clk: newLimitClock(), alarms: newAlarmList(32)}
	r.ja = newJournal(j, nil)
	r.ja.admit = &admissionWatch{raise: r.alarms.Raise, log: discard}
	r.s, err = sched.New(sched.Config{Devices: []sched.Device{{Name: "sw", Interface: "rs485"}}, Journal: r.ja})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = r.s.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	drv := echoDriver{dev: devices.Device{Name: "sw", Driver: devices.DriverModbusRTU}, switched: &r.switched}
	pt := devices.Point{Name: "relay", Class: devices.ClassControl, UplinkOAD: floodOAD}
	r.nb = &northbound{sched: r.s, points: map[uint32]nbPoint{floodOAD: {drv, pt}}, log: discard, now: make(chan struct{}, 1),
		limit: newControlLimit(rate, burst, r.clk.now, discard)}
	return r
}

// outage journals the outage-begin record and gates IO, as the power
// monitor does on a confirmed loss.
func (r *floodRig) outage(t *testing.T, at time.Time) {
	t.Helper()
	if err := r.ja.AppendOutageBegin(context.Background(), power.OutageBegin{At: at, Confirmed: true, Volts: [3]float64{12, 11, 10}}); err != nil {
		t.Fatal(err)
	}
	r.s.GateMainsOnly()
}

// flood sends SETs of the values from..from+n-1 from workers goroutines
// and returns the DAR each value got.
func (r *floodRig) flood(from, n, workers int) map[float64]proto698.DAR {
	var mu sync.Mutex
	got := make(map[float64]proto698.DAR, n)
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range next {
				dar := r.nb.Set(context.Background(), proto698.NewOAD(floodOAD), proto698.DoubleLong(i))
				mu.Lock()
				got[float64(i)] = dar
				mu.Unlock()
			}
		})
	}
	for i := from; i < from+n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	return got
}

// journaled reads the journal back (the replay's second verification) and
// returns the control values it holds and whether its last record is the
// outage-end record.
func journaled(t *testing.T, j *store.Journal) (map[float64]bool, bool) {
	t.Helper()
	vals := map[float64]bool{}
	var last store.Record
	rep, err := j.Replay(context.Background(), func(e store.Entry) error {
		last = e.Record
		if e.Record.Business == store.BusinessControl {
			v, ok := e.Record.Value.(float64)
			if !ok {
				return fmt.Errorf("control record %d value %T %v", e.Seq, e.Record.Value, e.Record.Value)
			}
			if vals[v] {
				return fmt.Errorf("control value %v journaled twice", v)
			}
			vals[v] = true
		}
		return nil
	})
	if err != nil || len(rep.Corrupt) > 0 {
		t.Fatalf("replay: %v, corrupt %v", err, rep.Corrupt)
	}
	ev, _ := store.IsOutageEvent(last)
	return vals, ev == store.EventOutageEnd
}

// checkAnswers: every SET answered success is in the journal and no other
// is; the rest got want (one of the DARs in want).
func checkAnswers(t *testing.T, got map[float64]proto698.DAR, vals map[float64]bool, want ...proto698.DAR) (ok, refused int) {
	t.Helper()
	for v, dar := range got {
		switch {
		case dar == proto698.DARSuccess:
			ok++
			if !vals[v] {
				t.Errorf("SET %v answered success but not in the journal", v)
			}
		case vals[v]:
			t.Errorf("SET %v answered %v but journaled", v, dar)
		default:
			refused++
			found := false
			for _, w := range want {
				found = found || dar == w
			}
			if !found {
				t.Errorf("SET %v answered %v, want one of %v", v, dar, want)
			}
		}
	}
	return ok, refused
}

// TestSetFloodRateLimited: a flood of SETs during an outage against the
// terminal's default rate (2/s, burst 8) and a clock the test moves: the
// burst and then two a second are done and journaled, every other SET is
// refused with "temporarily unavailable" before it reaches the scheduler,
// and the outage-end record lands after them.
func TestSetFloodRateLimited(t *testing.T) {
	r := newFloodRig(t, 2, 8)
	t0 := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	r.outage(t, t0)
	got := r.flood(0, 320, 8) // the clock stands still: the burst only
	r.clk.step(3 * time.Second)
	for v, dar := range r.flood(1000, 40, 1) { // 6 tokens (the burst is 8)
		got[v] = dar
	}
	if err := r.ja.AppendOutageEnd(context.Background(), power.OutageEnd{Begin: t0, End: t0.Add(time.Minute), Confirmed: true}); err != nil {
		t.Fatalf("outage-end after the flood: %v", err)
	}
	vals, endLast := journaled(t, r.j)
	ok, refused := checkAnswers(t, got, vals, proto698.DARTemporary)
	if ok != 8+6 || refused != 360-14 || len(vals) != 14 {
		t.Fatalf("%d SETs done, %d refused, %d journaled; want 14, 346, 14", ok, refused, len(vals))
	}
	if !endLast {
		t.Fatal("the outage-end record is not the journal's last")
	}
	if n := r.nb.limit.refusedTotal(); n != 346 {
		t.Fatalf("the limit counted %d refusals, want 346", n)
	}
	st, err := r.s.Stats("rs485")
	if err != nil {
		t.Fatal(err)
	}
	if st.Dispatched != 14 {
		t.Fatalf("%d exchanges reached the bus, want the 14 admitted SETs", st.Dispatched)
	}
}

// TestSetFloodJournalFull: a flood the rate does not stop (a generous
// configuration) fills the journal up to the control reserve: every SET
// answered success is journaled; from then on each SET is refused before
// it runs (the journal's admission is asked first), answered "temporarily
// unavailable", and the output never switched to a value whose record is
// not in the journal; the refusals are counted per class and alarmed once;
// and the largest outage-end record still lands (the 102,598-SET flood of
// issue 13 lost it).
func TestSetFloodJournalFull(t *testing.T) {
	r := newFloodRig(t, 1000, 1000)
	t0 := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	r.outage(t, t0)
	got := r.flood(0, 400, 8)
	end := power.OutageEnd{Begin: t0, End: t0.Add(time.Minute), Confirmed: true, Evidence: strings.Repeat("e", store.MaxStringLen)}
	if err := r.ja.AppendOutageEnd(context.Background(), end); err != nil {
		t.Fatalf("outage-end after the flood: %v", err)
	}
	vals, endLast := journaled(t, r.j)
	ok, refused := checkAnswers(t, got, vals, proto698.DARTemporary)
	if ok < 20 || refused < 100 || ok+refused != 400 {
		t.Fatalf("%d SETs done and journaled, %d refused by the journal: the flood should fill an 8 KiB part", ok, refused)
	}
	switched := 0
	r.switched.Range(func(k, _ any) bool {
		switched++
		if !vals[k.(float64)] {
			t.Errorf("output switched to %v, whose record is not in the journal", k)
		}
		return true
	})
	if switched != ok {
		t.Fatalf("output switched %d times, %d SETs done", switched, ok)
	}
	if !endLast {
		t.Fatal("the outage-end record is not the journal's last")
	}
	st, err := r.j.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Refused.Control != uint64(refused) || st.Refused.Lifecycle != 0 {
		t.Fatalf("journal refusals %+v, want control %d", st.Refused, refused)
	}
	n := 0
	for _, a := range r.alarms.recent() {
		if a.Code == alarmJournalAdmission {
			n++
			if !errors.Is(a.Err, store.ErrReserved) {
				t.Errorf("alarm %v does not name the reserve", a.Err)
			}
		}
	}
	if n != 1 {
		t.Fatalf("%d journal-admission alarms, want 1", n)
	}
	note := r.ja.admit.since(st.Refused)
	if want := fmt.Sprintf("control %d", refused); !strings.Contains(note, want) {
		t.Fatalf("completion log note %q does not say %q", note, want)
	}
	// The next outage starts afresh: nothing more to note, the alarm re-armed.
	if again := r.ja.admit.since(st.Refused); again != "" {
		t.Fatalf("second note %q, want none", again)
	}
}
