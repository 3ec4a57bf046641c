package daemon

// The journal's capacity for a configuration's outage workload, known
// before an outage (holdup check-config, the console, holdup status).

import (
	"fmt"
	"math"
	"time"

	"holdup/config"
	"holdup/devices"
	"holdup/sched"
	"holdup/store"
)

// JournalCapacity is how much of a configuration's outage workload the
// journal's EEPROM holds.
type JournalCapacity struct {
	// Records is how many of the workload's records fit from an empty
	// journal (store.EstimateCapacity).
	Records int
	// PerSecond is the workload's record rate (config.OutageWorkload).
	PerSecond float64
	// Seconds is how long the workload runs before the journal refuses
	// it: Records / PerSecond (+Inf without journaled collection).
	Seconds float64
	// Budget is the hold-up budget an outage gets (Power.HoldUpEstimate).
	Budget time.Duration
	// Estimate is the store's figures behind Records.
	Estimate store.CapacityEstimate
}

// Fits reports whether the journal holds the workload for the whole
// hold-up budget.
func (c JournalCapacity) Fits() bool { return c.Seconds >= c.Budget.Seconds() }

// Line is holdup check-config's line: "journal capacity: N records, about
// S s of this configuration's outage workload (hold-up budget B s)".
func (c JournalCapacity) Line() string {
	if math.IsInf(c.Seconds, 1) {
		return fmt.Sprintf("journal capacity: %d records, no collection journaled in an outage by this configuration (hold-up budget %.0f s)",
			c.Records, c.Budget.Seconds())
	}
	return fmt.Sprintf("journal capacity: %d records, about %.0f s of this configuration's outage workload (hold-up budget %.0f s)",
		c.Records, c.Seconds, c.Budget.Seconds())
}

// Warning is the warning for a workload the journal cannot hold for the
// budget, "" when it can.
func (c JournalCapacity) Warning() string {
	if c.Fits() {
		return ""
	}
	return fmt.Sprintf("journal capacity: the %s holds about %.0f s of the outage workload (%.2f records/s), less than the hold-up budget of %.0f s: collection records are refused near the end of a long outage (lengthen collection periods, raise sched.outage_collect_interval, or use a larger eeprom part)",
		"EEPROM", c.Seconds, c.PerSecond, c.Budget.Seconds())
}

// capacityEpoch is the time the representative records carry (any time
// encodes alike: their deltas from the lap's epoch are what count).
var capacityEpoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// OutageRecords returns one representative journal record per stream of
// the configuration's outage workload, as the scheduler hands them to the
// journal (the configured names, the driver's checksum at its widest, a
// value that needs a 64-bit float).
func OutageRecords(w config.OutageWorkload) []store.Record {
	out := make([]store.Record, 0, len(w.Streams))
	for _, s := range w.Streams {
		c := sched.CriticalRecord{Business: "collection", Interface: s.Interface, Device: s.Device, Point: s.Point,
			Class: sched.Collection, Integrity: sched.Checked, Attrs: map[string]string{"driver": string(s.Driver)},
			Time: capacityEpoch, ChecksumKind: devices.DriverChecksum(s.Driver), Value: 0.1}
		c.Checksum = widestCheck(c.ChecksumKind)
		out = append(out, criticalRecord(c))
	}
	return out
}

// EstimateJournalCapacity estimates the journal's capacity for cfg's
// outage workload on its EEPROM part.
func EstimateJournalCapacity(cfg *config.Config) (JournalCapacity, error) {
	w := cfg.OutageWorkload()
	budget, _ := cfg.Power.HoldUpEstimate()
	c := JournalCapacity{PerSecond: w.PerSecond, Budget: budget, Seconds: math.Inf(1)}
	part := cfg.EEPROM.Part
	recs := OutageRecords(w)
	if len(recs) == 0 {
		// No journaled collection: size by a control record of the
		// first device, so the count still says what the chip holds.
		recs = []store.Record{criticalRecord(sched.CriticalRecord{Business: "control", Class: sched.Control,
			Interface: "-", Device: "-", Point: "-", Time: capacityEpoch, Value: 0.1})}
	}
	est, err := store.EstimateCapacity(part.PageSize, part.Pages(), recs, store.Options{})
	if err != nil {
		return c, fmt.Errorf("daemon: journal capacity on %s: %w", part.Name, err)
	}
	c.Records, c.Estimate = est.Records, est
	if w.PerSecond > 0 {
		c.Seconds = float64(est.Records) / w.PerSecond
	}
	return c, nil
}

// widestCheck is the largest check value of a checksum kind.
func widestCheck(kind string) uint32 {
	switch kind {
	case devices.ChecksumSum8:
		return math.MaxUint8
	case devices.ChecksumCRC16Modbus, devices.ChecksumCRC16X25:
		return math.MaxUint16
	}
	return 0
}

// JournalCapacityText is what holdup check-config prints of the journal's
// capacity: the line (with its newline; "" if it cannot be estimated) and
// a warning ("" when the workload fits the budget).
func JournalCapacityText(cfg *config.Config) (line, warning string) {
	c, err := EstimateJournalCapacity(cfg)
	if err != nil {
		return "", err.Error()
	}
	return c.Line() + "\n", c.Warning()
}
