package config

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// PowerEnd is what holdup does at the end of the hold-up window and at
// start-up while the capacitor charges ([power] keys).
type PowerEnd struct {
	// ShutdownCommand (shutdown_command) is run, as an argv array, once
	// the final flush has journaled every pending critical record and the
	// file systems are synced: e.g. ["systemctl", "poweroff"]. Empty (the
	// default): nothing is run, the capacitor simply runs out.
	ShutdownCommand []string
	// ShutdownTimeout (shutdown_timeout) bounds the command (default 20 s).
	ShutdownTimeout time.Duration
	// ShutdownReportOAD (shutdown_report_oad) is the attribute the
	// "shutting down" data report carries to the master station (8 hex
	// digits, the object list of the master assigns it); empty: the
	// master is not told beyond the outage's 3106 report.
	ShutdownReportOAD string
	// MinStartCharge (min_start_charge) is the share (0 … 1) of the
	// capacitor's usable energy — between supercap.empty_v and
	// supercap.full_v, so also the share of the full hold-up time — it
	// must hold before collection starts; 0 (the default) does not wait.
	// It needs [power.supercap] with full_v.
	MinStartCharge float64
	// StartChargeTimeout (start_charge_timeout) ends that wait, charged
	// or not (default 2 min).
	StartChargeTimeout time.Duration
}

// readPowerEnd reads the [power] keys of PowerEnd.
func readPowerEnd(t *table, sc *Supercap) PowerEnd {
	var e PowerEnd
	if v, ok := t.get("shutdown_command"); ok {
		arr, isArr := v.([]any)
		if !isArr || len(arr) == 0 {
			t.errf("shutdown_command", "must be a non-empty array of strings, the program and its arguments (got %s %v)", typeName(v), v)
		}
		for i, a := range arr {
			s, isStr := a.(string)
			if !isStr || s == "" {
				t.errf("shutdown_command", "element %d must be a non-empty string (got %s %v)", i, typeName(a), a)
				continue
			}
			e.ShutdownCommand = append(e.ShutdownCommand, s)
		}
	}
	e.ShutdownTimeout = t.duration("shutdown_timeout", 20*time.Second, 100*time.Millisecond, 10*time.Minute)
	e.ShutdownReportOAD = t.str("shutdown_report_oad", "")
	if o := e.ShutdownReportOAD; o != "" && !isHex(o, 8) {
		t.errf("shutdown_report_oad", "must be 8 hex digits, an attribute OAD such as \"2F0F0200\" (got %q)", o)
	}
	var ok bool
	if e.MinStartCharge, ok = t.number("min_start_charge", 0); ok && (e.MinStartCharge < 0 || e.MinStartCharge > 1) {
		t.errf("min_start_charge", "must be a share of the usable energy in 0..1, e.g. 0.8 (got %g)", e.MinStartCharge)
	} else if ok && e.MinStartCharge > 0 && (sc == nil || sc.FullV == 0) {
		t.errf("min_start_charge", "needs [power.supercap] with full_v: the charge is measured between empty_v and full_v")
	}
	e.StartChargeTimeout = t.duration("start_charge_timeout", 2*time.Minute, time.Second, time.Hour)
	return e
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// readSupercapEnergy reads the capacitor's energy parameters.
func readSupercapEnergy(t *table, s *Supercap) {
	var okC, okW bool
	if s.Farads, okC = t.number("capacitance_f", 0); okC && (s.Farads < 0 || s.Farads > 10000) {
		t.errf("capacitance_f", "must be in 0..10000 F (got %g)", s.Farads)
	}
	if s.LoadW, okW = t.number("load_w", 0); okW && (s.LoadW < 0 || s.LoadW > 1000) {
		t.errf("load_w", "must be in 0..1000 W (got %g)", s.LoadW)
	}
	if (s.Farads > 0) != (s.LoadW > 0) && t.has("capacitance_f") != t.has("load_w") {
		k := "load_w"
		if !t.has("capacitance_f") {
			k = "capacitance_f"
		}
		t.errf(k, "capacitance_f and load_w go together: the hold-up estimate needs both")
	}
}

// HoldUpEstimate returns the hold-up budget an outage starting from a
// full capacitor gets, and where it comes from: with [power.supercap]
// giving full_v, capacitance_f and load_w, the energy the capacitor holds
// between full_v and empty_v at that load, C·(Vfull² − Vempty²)/(2P),
// bounded by holdup_budget (the smaller wins, as at run time); otherwise
// holdup_budget. During an outage the supercap readings refine it.
func (p Power) HoldUpEstimate() (time.Duration, string) {
	s := p.Supercap
	if s == nil || !(s.FullV > s.EmptyV && s.Farads > 0 && s.LoadW > 0) {
		return p.HoldupBudget, "configured holdup_budget"
	}
	secs := s.Farads * (s.FullV*s.FullV - s.EmptyV*s.EmptyV) / (2 * s.LoadW)
	est := time.Duration(math.Round(secs)) * time.Second
	from := fmt.Sprintf("supercap %g F, %g -> %g V at %g W", s.Farads, s.FullV, s.EmptyV, s.LoadW)
	if est > p.HoldupBudget {
		return p.HoldupBudget, fmt.Sprintf("configured holdup_budget; the %s would hold %v", from, est)
	}
	return est, from
}

// EndText says what the end of the hold-up window and the start-up do,
// for the console's summary.
func (p Power) EndText() string {
	cmd := "no shutdown command"
	if c := p.End.ShutdownCommand; len(c) > 0 {
		cmd = "shutdown: " + strings.Join(c, " ")
	}
	wait := "start-up does not wait for charge"
	if p.End.MinStartCharge > 0 {
		wait = fmt.Sprintf("start-up waits for %g %% charge (%v at most)", 100*p.End.MinStartCharge, p.End.StartChargeTimeout)
	}
	return cmd + "; " + wait
}

// HoldUpText is the estimate as check-config prints it: "180 s
// (configured holdup_budget), final flush at 150 s".
func (p Power) HoldUpText() string {
	d, from := p.HoldUpEstimate()
	flush := d - p.FinalFlushMargin
	return fmt.Sprintf("%v s (%s), final flush %v s after the loss", d.Seconds(), from, max(flush, 0).Seconds())
}
