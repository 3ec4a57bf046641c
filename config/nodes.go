package config

import (
	"fmt"

	"holdup/devices"
)

// Node is a device node (or sysfs directory) the configuration names:
// the key that names it and its path on the terminal.
type Node struct {
	Key  string
	Path string
}

// Nodes lists every device node the configuration names, in file order of
// the sections: the EEPROM's I2C bus, the GPIO chips, the serial ports and
// the supercap's IIO directory. `holdup check-config -probe` looks each up
// on the machine it runs on.
func (c *Config) Nodes() []Node {
	out := []Node{{"eeprom.bus", c.EEPROM.Bus}, {"power.fail_line.chip", devices.ChipPath(c.Power.FailLine.Chip)}}
	if s := c.Power.Supercap; s != nil {
		out = append(out, Node{"power.supercap.iio_device", s.IIODevice})
	}
	out = append(out, Node{"ac_sampling.port", c.ACSampling.Port})
	if h := c.HPLC; h != nil {
		out = append(out, Node{"hplc.port", h.Port})
		if h.ResetLine.Chip != "" {
			out = append(out, Node{"hplc.reset_line.chip", devices.ChipPath(h.ResetLine.Chip)})
		}
	}
	seen := map[string]bool{}
	for _, n := range out {
		seen[n.Path] = true
	}
	for i, d := range c.Devices {
		var path string
		switch {
		case d.Driver == devices.DriverGPIOOutput:
			path = devices.ChipPath(d.Port)
		case d.Driver == devices.DriverModbusRTU || d.Driver == devices.DriverDLT698:
			path = d.Port
		}
		if path != "" && !seen[path] {
			seen[path] = true
			key := fmt.Sprintf("device[%d].port", i)
			if d.Driver == devices.DriverGPIOOutput {
				key = fmt.Sprintf("device[%d].chip", i)
			}
			out = append(out, Node{key, path})
		}
	}
	if con := c.Console; con != nil && con.Port != "" && con.Port != "stdio" && con.Port != "none" {
		out = append(out, Node{"console.port", con.Port})
	}
	return out
}
