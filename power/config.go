package power

import (
	"fmt"
	"time"
)

// Config tunes the monitor. Zero fields take the defaults listed.
type Config struct {
	// NominalV is the nominal phase voltage (default 220 V).
	NominalV float64 `toml:"nominal_v"`
	// LossV: a phase below it is out (default 60 % of nominal, the
	// DL/T 698.45 event 3106 default). PhasesAll: one phase out confirms
	// a loss; PhasesAny: all three must be out.
	LossV float64 `toml:"loss_v"`
	// RestoreV: a phase at or above it meets the specification (default
	// 80 % of nominal). PhasesAll: mains present when all three do;
	// PhasesAny: when one does. Must exceed LossV: the gap is the
	// hysteresis band.
	RestoreV float64 `toml:"restore_v"`
	// PhaseRule picks the phases that decide: PhasesAll ("all", the
	// default, the method's rule) or PhasesAny ("any", for
	// single-phase-fed terminals).
	PhaseRule PhaseRule `toml:"phase_rule"`
	// MaxV: readings above it are garbage (default 2 × nominal).
	MaxV float64 `toml:"max_v"`
	// ConfirmTimeout bounds a voltmeter reading; past it the decision is
	// taken from the GPIO line alone and marked unconfirmed (default 1 s).
	ConfirmTimeout time.Duration `toml:"confirm_timeout"`
	// Settle is the software debounce: the line must be stable this long
	// before a decision (default 20 ms).
	Settle time.Duration `toml:"settle"`
	// MaxSettle caps the settle wait for a line that never stops
	// chattering (default 1 s).
	MaxSettle time.Duration `toml:"max_settle"`
	// Recheck is the interval of re-reading the voltages while the line
	// and the voltages disagree (default 2 s).
	Recheck time.Duration `toml:"recheck"`
	// ReportEvery repeats the outage report while power is out
	// (default 60 s).
	ReportEvery time.Duration `toml:"report_every"`
	// HoldUp is the hold-up time of the capacitor (default 180 s).
	HoldUp time.Duration `toml:"hold_up"`
	// FlushMargin: "final flush" is emitted when the hold-up time left
	// falls to this margin (default 30 s).
	FlushMargin time.Duration `toml:"flush_margin"`
	// SupercapMinV is the capacitor voltage at which the supply drops out;
	// zero disables the capacitor estimate.
	SupercapMinV float64 `toml:"supercap_min_v"`
	// SupercapFullV is the voltage of a full capacitor, SupercapFarads its
	// capacitance and SupercapLoadW the power drawn from it in an outage
	// (zero: unknown). With Farads and LoadW one reading gives a hold-up
	// estimate (Capacitor.HoldUp); FullV gives the charge (Capacitor.Charge).
	SupercapFullV  float64 `toml:"supercap_full_v"`
	SupercapFarads float64 `toml:"supercap_farads"`
	SupercapLoadW  float64 `toml:"supercap_load_w"`
	// SupercapEvery is the capacitor sampling interval during an outage
	// (default 1 s).
	SupercapEvery time.Duration `toml:"supercap_every"`
	// TimelineSize is how many timeline entries are kept (default 1024).
	TimelineSize int `toml:"timeline_size"`
}

// WithDefaults returns c with zero fields set to their defaults.
func (c Config) WithDefaults() Config {
	if c.NominalV == 0 {
		c.NominalV = 220
	}
	if c.LossV == 0 {
		c.LossV = 0.6 * c.NominalV
	}
	if c.RestoreV == 0 {
		c.RestoreV = 0.8 * c.NominalV
	}
	if c.MaxV == 0 {
		c.MaxV = 2 * c.NominalV
	}
	if c.PhaseRule == "" {
		c.PhaseRule = PhasesAll
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.ConfirmTimeout, time.Second)
	def(&c.Settle, 20*time.Millisecond)
	def(&c.MaxSettle, time.Second)
	def(&c.Recheck, 2*time.Second)
	def(&c.ReportEvery, 60*time.Second)
	def(&c.HoldUp, 180*time.Second)
	def(&c.FlushMargin, 30*time.Second)
	def(&c.SupercapEvery, time.Second)
	if c.TimelineSize == 0 {
		c.TimelineSize = 1024
	}
	return c
}

// Validate checks a config (after WithDefaults) and names the bad key.
func (c Config) Validate() error {
	switch {
	case !(c.NominalV > 0):
		return fmt.Errorf("power: config nominal_v %v: must be positive", c.NominalV)
	case !(c.LossV > 0):
		return fmt.Errorf("power: config loss_v %v: must be positive", c.LossV)
	case !(c.RestoreV > c.LossV):
		return fmt.Errorf("power: config restore_v %v: must be above loss_v %v (hysteresis)", c.RestoreV, c.LossV)
	case !(c.MaxV > c.RestoreV):
		return fmt.Errorf("power: config max_v %v: must be above restore_v %v", c.MaxV, c.RestoreV)
	case c.PhaseRule != PhasesAll && c.PhaseRule != PhasesAny:
		return fmt.Errorf("power: config phase_rule %q: must be %q or %q", c.PhaseRule, PhasesAll, PhasesAny)
	case c.SupercapMinV < 0:
		return fmt.Errorf("power: config supercap_min_v %v: must not be negative", c.SupercapMinV)
	case c.SupercapFullV < 0 || c.SupercapFarads < 0 || c.SupercapLoadW < 0:
		return fmt.Errorf("power: config supercap_full_v %v, supercap_farads %v, supercap_load_w %v: must not be negative",
			c.SupercapFullV, c.SupercapFarads, c.SupercapLoadW)
	case c.TimelineSize < 16:
		return fmt.Errorf("power: config timeline_size %d: must be at least 16", c.TimelineSize)
	case c.FlushMargin >= c.HoldUp:
		return fmt.Errorf("power: config flush_margin %v: must be below hold_up %v", c.FlushMargin, c.HoldUp)
	case c.MaxSettle < c.Settle:
		return fmt.Errorf("power: config max_settle %v: must not be below settle %v", c.MaxSettle, c.Settle)
	}
	for _, d := range []struct {
		key string
		v   time.Duration
	}{
		{"confirm_timeout", c.ConfirmTimeout}, {"settle", c.Settle}, {"max_settle", c.MaxSettle},
		{"recheck", c.Recheck}, {"report_every", c.ReportEvery}, {"hold_up", c.HoldUp},
		{"flush_margin", c.FlushMargin}, {"supercap_every", c.SupercapEvery},
	} {
		if d.v <= 0 {
			return fmt.Errorf("power: config %s %v: must be positive", d.key, d.v)
		}
	}
	return nil
}

// Capacitor returns the capacitor the configuration describes.
func (c Config) Capacitor() Capacitor {
	return Capacitor{EmptyV: c.SupercapMinV, FullV: c.SupercapFullV, Farads: c.SupercapFarads, LoadW: c.SupercapLoadW}
}

func (c Config) thresholds() Thresholds {
	return Thresholds{LossV: c.LossV, RestoreV: c.RestoreV, MaxV: c.MaxV, Rule: c.PhaseRule}
}
