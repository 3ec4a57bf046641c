package config

import (
	"fmt"
	"strings"

	"holdup/devices"
)

// SummaryWidth is the widest line Summary returns.
const SummaryWidth = 80

// Summary describes the configuration for the operator console: one fact
// per line, ASCII, at most SummaryWidth columns, and never the password
// hash.
func (c *Config) Summary() []string {
	var out []string
	add := func(label, format string, args ...any) {
		line := fmt.Sprintf("%-9s %s", label, fmt.Sprintf(format, args...))
		if len(line) > SummaryWidth {
			line = line[:SummaryWidth-3] + "..."
		}
		out = append(out, line)
	}
	add("file", "%s", c.File)
	e := c.EEPROM
	add("eeprom", "%s (%d B, %d B pages) at 0x%02X on %s", e.Part.Name, e.Part.Size, e.Part.PageSize, e.Address, e.Bus)
	p := c.Power
	add("power", "fail line %s, debounce %v", lineText(p.FailLine), p.Debounce)
	add("", "loss %g V, restore %g V (%s phases), nominal %g V, confirm %v", p.LossV, p.RestoreV, phaseRuleText(p.PhaseRule), p.NominalV, p.ConfirmTimeout)
	sc := "none"
	if p.Supercap != nil {
		sc = fmt.Sprintf("%s ch %d, empty %g V", strings.TrimPrefix(p.Supercap.IIODevice, "/sys/bus/iio/devices/"),
			p.Supercap.Channel, p.Supercap.EmptyV)
	}
	add("", "hold-up %v, final flush margin %v, supercap %s", p.HoldupBudget, p.FinalFlushMargin, sc)
	est, from := p.HoldUpEstimate()
	add("", "hold-up budget %v s (%s)", est.Seconds(), from)
	add("", "%s", p.EndText())
	a := c.ACSampling
	add("ac", "%s, address %s, timeout %v", serialText(a.Serial), a.Address, a.Timeout)
	if u := c.Uplink; u != nil {
		add("uplink", "%s as %s, heartbeat %v, report %v", u.Master, u.TerminalAddress, u.Heartbeat, u.ReportPeriod)
		for _, l := range c.UplinkControlLines() {
			add("", "%s", l)
		}
	} else {
		add("uplink", "none")
	}
	if h := c.HPLC; h != nil {
		add("hplc", "%s, reset %s", serialText(h.Serial), lineText(h.ResetLine))
	} else {
		add("hplc", "none")
	}
	s := c.Sched
	add("sched", "close an interface after %d failures in %d exchanges", s.ErrorThreshold, s.ErrorWindow)
	add("", "outage: collect every >= %v, gate devices > %d mW", s.OutageCollectInterval, s.DrawThresholdMW)
	add("store", "%s", c.Store.Path)
	hooksSummary(c.Hooks, add)
	if k := c.Console; k != nil {
		login := "disabled (no password_hash)"
		if k.PasswordHash != "" {
			login = fmt.Sprintf("on, lockout %d/%v, idle %v", k.LockoutFailures, k.LockoutPeriod, k.SessionTimeout)
		}
		add("console", "%s %d, login %s", k.Port, k.Baud, login)
	}
	add("log", "%s %s", c.Log.Level, c.Log.Format)
	if c.Sim.Enabled {
		add("sim", "on, eeprom image %s", c.Sim.EEPROMImage)
	}
	add("devices", "%d", len(c.Devices))
	for _, d := range c.Devices {
		var where string
		switch d.Driver {
		case devices.DriverModbusRTU:
			where = fmt.Sprintf("%s unit %d", d.Port, d.Unit)
		case devices.DriverDLT698:
			where = d.Port + " " + d.Address
		case devices.DriverHPLC:
			where = d.Address // on the [hplc] module's port
		default: // modbus-tcp host:port, gpio-output chip
			where = d.Port
		}
		var flags []string
		if !d.Enabled {
			flags = append(flags, "disabled")
		}
		if d.MainsOnly {
			flags = append(flags, "mains-only")
		}
		line := fmt.Sprintf("  %-16s %-11s %-22s %2dpt %5dmW %s", d.Name, d.Driver, where, len(d.Points), d.DrawMW, strings.Join(flags, ","))
		if len(line) > SummaryWidth {
			line = line[:SummaryWidth-3] + "..."
		}
		out = append(out, line)
	}
	for i := range out {
		out[i] = strings.TrimRight(out[i], " ")
	}
	return out
}

func serialText(s Serial) string {
	return fmt.Sprintf("%s %d %d%s%d", s.Port, s.Baud, s.DataBits, strings.ToUpper(s.Parity[:1]), s.StopBits)
}

func lineText(l GPIOLine) string {
	id := l.Name
	if l.Offset >= 0 {
		id = fmt.Sprint(l.Offset)
	}
	s := l.Chip + ":" + id
	if l.ActiveLow {
		s += " active-low"
	}
	return s
}

// phaseRuleText names the phase rule with the default applied.
func phaseRuleText(r string) string {
	if r == "" {
		return "all"
	}
	return r
}
