package power

import (
	"fmt"
	"strings"
	"time"
)

// Did the supercapacitor run out? (the method's step 2-2)
//
// An outage-begin record without an end record at start-up only says that
// this process did not live through the outage: an operator's restart, a
// crash or an upgrade during the outage leaves one as well as a capacitor
// that ran out. The monitor decides from evidence, in this order, and
// records which evidence decided (OutageRecord.Evidence, OutageEnd.Evidence,
// the timeline's detail):
//
//  1. The kernel's boot id (Deps.BootID, journaled in every outage-begin
//     record). Both known and equal: the terminal never lost power — the
//     outage continues (protection stays on; the return is warm, confirmed
//     by the phase voltages as after a return edge). Both known and
//     different: the terminal rebooted — cold (the capacitor ran out, or
//     someone rebooted the terminal during the outage). The boot id is
//     decisive: nothing below overrules it.
//  2. The boot id is unknown (the begin record predates the field, or the
//     boot id cannot be read). The supercap voltage, when it is measured
//     (Deps.Supercap with SupercapMinV): a reading at start-up at or below
//     the cut-off voltage means the capacitor was drained — cold. A higher
//     reading proves nothing (the capacitor recharges as soon as mains is
//     back), so the decision goes on. Samples taken during the outage are
//     not journaled (EEPROM wear), so only the start-up reading is used.
//  3. The time elapsed since the loss against the hold-up budget
//     (Config.HoldUp): longer — the capacitor must have run out, cold.
//  4. Otherwise there is no evidence either way and the outage is cold, as
//     it was before boot ids were journaled.
type coldDecision struct {
	cold     bool
	evidence string
}

func (d coldDecision) kind() Kind {
	if d.cold {
		return KindCold
	}
	return KindWarm
}

// evidenceLived is the evidence of an outage this process lived through.
const evidenceLived = "lived through: this process saw the return"

// readBootID reads the kernel's boot id once, at start-up.
func (m *Monitor) readBootID() {
	if m.d.BootID == nil {
		return
	}
	id, err := m.d.BootID()
	if err != nil {
		m.bootErr = err
		return
	}
	m.bootID = strings.TrimSpace(id)
}

// decideCold decides whether the capacitor ran out during open, the
// outage found open in the journal at start-up (now).
func (m *Monitor) decideCold(open OutageBegin, now time.Time) coldDecision {
	if open.BootID != "" && m.bootID != "" {
		if open.BootID == m.bootID {
			return coldDecision{false, "same boot " + m.bootID + ": the terminal never lost power"}
		}
		return coldDecision{true, fmt.Sprintf("boot id changed %s → %s: the terminal rebooted", open.BootID, m.bootID)}
	}
	var why string
	switch {
	case open.BootID == "":
		why = "boot unknown (the begin record carries no boot id)"
	case m.bootErr != nil:
		why = fmt.Sprintf("boot unknown (boot id unreadable: %v)", m.bootErr)
	default:
		why = "boot unknown (no boot id source)"
	}
	if m.d.Supercap != nil && m.cfg.SupercapMinV > 0 {
		v, err := m.d.Supercap()
		switch {
		case err != nil:
			why += fmt.Sprintf("; supercap unreadable: %v", err)
		case v <= m.cfg.SupercapMinV:
			return coldDecision{true, fmt.Sprintf("%s; supercap %.2f V at start-up, at or below empty %.2f V: it ran out", why, v, m.cfg.SupercapMinV)}
		default:
			why += fmt.Sprintf("; supercap %.2f V at start-up proves nothing (it recharges on mains)", v)
		}
	}
	elapsed := now.Sub(open.At)
	if elapsed > m.cfg.HoldUp {
		return coldDecision{true, fmt.Sprintf("%s; %v since the loss > hold-up budget %v: the capacitor must have run out", why, elapsed, m.cfg.HoldUp)}
	}
	return coldDecision{true, fmt.Sprintf("%s; %v since the loss, within the hold-up budget %v: no evidence either way, cold", why, elapsed, m.cfg.HoldUp)}
}
