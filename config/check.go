package config

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"holdup/devices"
)

func checkHostPort(s string) string {
	host, port, err := net.SplitHostPort(s)
	if err != nil || host == "" {
		return "must be host:port"
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return "port must be 1..65535"
	}
	return ""
}

func checkBcrypt(h string) string {
	cost, err := bcrypt.Cost([]byte(h))
	if err != nil {
		return "not a bcrypt hash"
	}
	if cost < 8 {
		return fmt.Sprintf("bcrypt cost %d is too low (want ≥ 8)", cost)
	}
	return ""
}

// crossCheck looks across sections: names, ports and GPIO lines used twice,
// and what a driver needs from elsewhere in the file.
func crossCheck(d *decoder, c *Config) {
	names := map[string]int{}
	for i, dv := range c.Devices {
		if dv.Name == "" {
			continue
		}
		k := fmt.Sprintf("device[%d].name", i)
		if j, dup := names[dv.Name]; dup {
			d.errAt(k, "duplicate device name %q (first at line %d)", dv.Name,
				d.lineOf(fmt.Sprintf("device[%d].name", j)))
			continue
		}
		names[dv.Name] = i
		if dv.Driver == devices.DriverHPLC && c.HPLC == nil {
			d.errAt(fmt.Sprintf("device[%d].driver", i), "driver hplc needs an [hplc] section")
		}
	}
	checkPorts(d, c)
	checkLines(d, c)
	checkUplinkOADs(d, c)
}

// checkUplinkOADs refuses two points exposed under the same uplink OAD:
// the master could not tell which one it reads or sets.
func checkUplinkOADs(d *decoder, c *Config) {
	first := map[uint32]string{}
	for i, dv := range c.Devices {
		for j, p := range dv.Points {
			if p.UplinkOAD == 0 {
				continue
			}
			k := fmt.Sprintf("device[%d].point[%d].uplink_oad", i, j)
			if f, dup := first[p.UplinkOAD]; dup {
				d.errAt(k, "uplink OAD %08X is already given to another point (line %d)", p.UplinkOAD, d.lineOf(f))
				continue
			}
			first[p.UplinkOAD] = k
		}
	}
}

type portUse struct {
	key    string // config key of the port
	shared bool   // a device bus that several devices may share
	drv    devices.DriverName
	ser    Serial
	addr   string // unit id or address on the bus
}

func checkPorts(d *decoder, c *Config) {
	var uses []portUse
	add := func(u portUse) { uses = append(uses, u) }
	add(portUse{key: "ac_sampling.port", ser: c.ACSampling.Serial})
	if c.HPLC != nil {
		add(portUse{key: "hplc.port", ser: c.HPLC.Serial})
	}
	if c.Console != nil && c.Console.Port != "stdio" {
		add(portUse{key: "console.port", ser: Serial{Port: c.Console.Port}})
	}
	for i, dv := range c.Devices {
		if dv.Driver != devices.DriverModbusRTU && dv.Driver != devices.DriverDLT698 {
			continue
		}
		addr := dv.Address
		if dv.Driver == devices.DriverModbusRTU {
			addr = strconv.Itoa(dv.Unit)
		}
		add(portUse{key: fmt.Sprintf("device[%d].port", i), shared: true, drv: dv.Driver, ser: SerialOf(dv), addr: addr})
	}
	first := map[string]portUse{}
	addrs := map[string]string{} // port+addr → key
	for _, u := range uses {
		if u.ser.Port == "" {
			continue
		}
		f, seen := first[u.ser.Port]
		if !seen {
			first[u.ser.Port] = u
		} else {
			switch {
			case !u.shared || !f.shared:
				d.errAt(u.key, "port %s is already used by %s (line %d)", u.ser.Port, f.key, d.lineOf(f.key))
				continue
			case u.drv != f.drv:
				d.errAt(u.key, "devices sharing bus %s must use one driver: %s (line %d) is %s, this is %s",
					u.ser.Port, f.key, d.lineOf(f.key), f.drv, u.drv)
				continue
			case u.ser != f.ser:
				d.errAt(u.key, "devices sharing bus %s must agree on its settings: %s (line %d) has %s, this has %s",
					u.ser.Port, f.key, d.lineOf(f.key), serialText(f.ser), serialText(u.ser))
				continue
			}
		}
		if u.shared && u.addr != "" {
			id := u.ser.Port + "\x00" + u.addr
			if k, dup := addrs[id]; dup {
				d.errAt(u.key, "address %s on bus %s is already used by %s (line %d)", u.addr, u.ser.Port, k, d.lineOf(k))
				continue
			}
			addrs[id] = u.key
		}
	}
}

func checkLines(d *decoder, c *Config) {
	type lineUse struct {
		key string
		l   GPIOLine
	}
	uses := []lineUse{{"power.fail_line", c.Power.FailLine}}
	if c.HPLC != nil {
		uses = append(uses, lineUse{"hplc.reset_line", c.HPLC.ResetLine})
	}
	for i, dv := range c.Devices {
		if dv.Driver != devices.DriverGPIOOutput {
			continue
		}
		for j, p := range dv.Points {
			uses = append(uses, lineUse{fmt.Sprintf("device[%d].point[%d]", i, j),
				GPIOLine{Chip: dv.Port, Offset: p.Register}})
		}
	}
	seen := map[string]string{}
	for _, u := range uses {
		if u.l.Chip == "" && u.l.Name == "" {
			continue
		}
		var id, k string
		switch {
		case u.l.Offset >= 0:
			id, k = strings.TrimPrefix(u.l.Chip, "/dev/")+"\x00#"+strconv.Itoa(u.l.Offset), u.key+".offset"
			if strings.Contains(u.key, ".point[") {
				k = u.key + ".address"
			}
		case u.l.Name != "":
			id, k = "\x00name"+u.l.Name, u.key+".line"
		default:
			continue
		}
		if prev, dup := seen[id]; dup {
			d.errAt(k, "GPIO line is already used by %s (line %d)", prev, d.lineOf(prev))
			continue
		}
		seen[id] = k
	}
}
