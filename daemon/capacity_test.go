package daemon

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"holdup/config"
	"holdup/eeprom"
	"holdup/store"
)

// capacityTolerance is how far the estimate may be from a journal
// actually filled: dictionary refreshes and the lap boundaries it does
// not model cost a few records.
const capacityTolerance = 0.10

// fillWithWorkload appends the workload's records in turn, one at a time
// (each Append waits: an outage's pace), a second apart, on a fresh
// journal on part until the first refusal, and returns how many fit.
func fillWithWorkload(t *testing.T, part eeprom.Part, recs []store.Record) int {
	t.Helper()
	chip, err := eeprom.NewChip(eeprom.NewSim(eeprom.SimConfig{Part: part, Seed: 3}), part, 0x50)
	if err != nil {
		t.Fatal(err)
	}
	j, err := store.Open(chip, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	at := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	for n := 0; n < 100000; n++ {
		r := recs[n%len(recs)]
		r.Time = at.Add(time.Duration(n) * time.Second)
		r.Value = 1000 + float64(n)/3 // a reading that needs a 64-bit float
		if _, err := j.Append(context.Background(), r); err != nil {
			if !errors.Is(err, store.ErrFull) {
				t.Fatalf("record %d: %v", n, err)
			}
			return n
		}
	}
	t.Fatal("the journal never filled")
	return 0
}

// TestJournalCapacitySim: the estimate for testdata/sim.toml (the
// inverter every 5 s and the 698 meter every 10 s journaled; the HPLC
// meter gated as mains-only) is within capacityTolerance of the records a
// journal on the sim's AT24C64 actually takes of that workload, and the
// workload fits the 180 s budget.
func TestJournalCapacitySim(t *testing.T) {
	cfg, err := config.Load(filepath.Join("..", "testdata", "sim.toml"))
	if err != nil {
		t.Fatal(err)
	}
	w := cfg.OutageWorkload()
	if len(w.Streams) != 2 || math.Abs(w.PerSecond-0.3) > 1e-9 {
		t.Fatalf("workload %+v, want the inverter's power and the meter's energy, 0.3 records/s", w)
	}
	c, err := EstimateJournalCapacity(cfg)
	if err != nil {
		t.Fatal(err)
	}
	got := fillWithWorkload(t, cfg.EEPROM.Part, OutageRecords(w))
	if d := math.Abs(float64(c.Records-got)) / float64(got); d > capacityTolerance {
		t.Fatalf("estimate %d records (%+v), a journal filled with the workload took %d (%.0f %% off)", c.Records, c.Estimate, got, 100*d)
	}
	t.Logf("%s; filled: %d", c.Line(), got)
	if !c.Fits() || c.Warning() != "" {
		t.Fatalf("%s: the sim's workload should fit its budget", c.Line())
	}
	want := "journal capacity: " + strconv.Itoa(c.Records) + " records, about "
	if !strings.HasPrefix(c.Line(), want) || !strings.HasSuffix(c.Line(), "s of this configuration's outage workload (hold-up budget 180 s)") {
		t.Fatalf("line %q", c.Line())
	}
}

// TestJournalCapacityWarns: a configuration whose workload outruns the
// journal within the budget (eight points every second on their own
// interfaces, no outage rate limit) gets the warning, and its estimate
// still matches a journal filled with that workload.
func TestJournalCapacityWarns(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "testdata", "sim.toml"))
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(src), `outage_collect_interval = "2s"`, `outage_collect_interval = "0s"`, 1)
	s = strings.Replace(s, `period = "5s"`, `period = "1s"`, 1)
	s = strings.Replace(s, `period = "10s"`, `period = "1s"`, 1)
	path := filepath.Join(t.TempDir(), "heavy.toml")
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	c, err := EstimateJournalCapacity(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if c.PerSecond != 2 || c.Fits() || !strings.Contains(c.Warning(), "less than the hold-up budget of 180 s") {
		t.Fatalf("%s (%.1f/s): want a warning, got %q", c.Line(), c.PerSecond, c.Warning())
	}
	got := fillWithWorkload(t, cfg.EEPROM.Part, OutageRecords(cfg.OutageWorkload()))
	if d := math.Abs(float64(c.Records-got)) / float64(got); d > capacityTolerance {
		t.Fatalf("estimate %d records, filled %d", c.Records, got)
	}
}

// TestCapacityLineWithoutWorkload: a configuration that journals no
// collection in an outage says so instead of printing an endless time.
func TestCapacityLineWithoutWorkload(t *testing.T) {
	c := JournalCapacity{Records: 206, Seconds: math.Inf(1), Budget: 180 * time.Second}
	if got, want := c.Line(), "journal capacity: 206 records, no collection journaled in an outage by this configuration (hold-up budget 180 s)"; got != want {
		t.Errorf("line %q, want %q", got, want)
	}
	if w := c.Warning(); w != "" {
		t.Errorf("warning %q without a workload", w)
	}
}
