package config

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"holdup/devices"
)

var (
	rePort  = regexp.MustCompile(`^[0-9]{1,5}$`)
	reLabel = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`)
	reDigit = regexp.MustCompile(`^[0-9]+$`)
)

// checkHostPort checks a TCP peer written "host:port": the host an IP
// address (IPv6 in brackets) or an RFC 1123 host name, the port 1..65535.
func checkHostPort(s string) string {
	host, port, err := net.SplitHostPort(s)
	if err != nil || host == "" {
		return "must be host:port (an IPv6 address in brackets: \"[fd00::1]:9000\")"
	}
	if n, err := strconv.Atoi(port); !rePort.MatchString(port) || err != nil || n < 1 || n > 65535 {
		return fmt.Sprintf("port must be 1..65535 (got %q)", port)
	}
	if a, err := netip.ParseAddr(host); err == nil {
		switch {
		case a.IsUnspecified():
			return fmt.Sprintf("%s is the unspecified address, not a host to connect to", host)
		case a.IsMulticast() || a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
			return fmt.Sprintf("%s is a multicast or broadcast address, not a host", host)
		}
		return ""
	}
	if !isHostName(host) {
		return fmt.Sprintf("host %q is neither an IP address nor an RFC 1123 host name", host)
	}
	return ""
}

// isHostName reports whether h is an RFC 1123 host name: dot-separated
// labels of 1-63 letters, digits and inner hyphens, 253 characters at most
// (a trailing dot allowed), the last label not all digits (RFC 1123 2.1: a
// name must not look like a dotted address, so 10.0.0.256 is neither).
func isHostName(h string) bool {
	h = strings.TrimSuffix(h, ".")
	if h == "" || len(h) > 253 {
		return false
	}
	labels := strings.Split(h, ".")
	for _, l := range labels {
		if !reLabel.MatchString(l) {
			return false
		}
	}
	return !reDigit.MatchString(labels[len(labels)-1])
}

// endpoint is a host:port that checkHostPort accepted, in one spelling:
// the address unmapped, the name in lower case without a trailing dot.
func endpoint(s string) string {
	host, port, _ := net.SplitHostPort(s)
	if a, err := netip.ParseAddr(host); err == nil {
		host = a.Unmap().String()
	} else {
		host = strings.ToLower(strings.TrimSuffix(host, "."))
	}
	n, _ := strconv.Atoi(port)
	return net.JoinHostPort(host, strconv.Itoa(n))
}

// Bcrypt costs console.password_hash may have: below 10 a guesser gets
// too many tries between lockouts; each step doubles a login, and cost 10
// takes about a quarter second on the terminal's Cortex-A7
// (console.HashCost), so 14 is 4 s and 31 is six days.
const (
	minBcryptCost = 10
	maxBcryptCost = 14
	cost10Login   = 250 * time.Millisecond
)

func checkBcrypt(h string) string {
	cost, err := bcrypt.Cost([]byte(h))
	if err != nil {
		return "not a bcrypt hash"
	}
	switch {
	case cost < minBcryptCost:
		return fmt.Sprintf("bcrypt cost %d is too low (want %d..%d)", cost, minBcryptCost, maxBcryptCost)
	case cost > maxBcryptCost:
		return fmt.Sprintf("bcrypt cost %d is too high: a login would take about %v on the terminal (want %d..%d)",
			cost, cost10Login*time.Duration(1<<(cost-10)), minBcryptCost, maxBcryptCost)
	}
	return ""
}

// checkChip refuses a GPIO chip that is not one: the chips are the
// gpiochipN character devices (devices.ChipPath).
func checkChip(t *table, k, chip string) {
	if chip != "" && !reChip.MatchString(chip) {
		t.errf(k, "must be a GPIO chip like \"gpiochip0\" or \"/dev/gpiochip0\" (got %q)", chip)
	}
}

// checkStorePath checks store.path as a file name. Only syntax, and one
// stat: the daemon creates the file (and must be allowed to), but a path
// that exists as a directory can never be the database.
func checkStorePath(p string) string {
	switch {
	case !strings.HasPrefix(p, "/") || strings.IndexByte(p, 0) >= 0:
		return "must be an absolute path"
	case strings.HasSuffix(p, "/"):
		return "must name the database file, not a directory"
	case path.Clean(p) != p:
		return fmt.Sprintf("must be a clean path like %q", path.Clean(p))
	}
	for _, dir := range []string{"/dev", "/proc", "/sys"} {
		if p == dir || strings.HasPrefix(p, dir+"/") {
			return fmt.Sprintf("must not be on %s (no database file lives there)", dir)
		}
	}
	if fi, err := os.Stat(p); err == nil && fi.IsDir() {
		return fmt.Sprintf("is a directory: name the database file in it, like %q", path.Join(p, "data.db"))
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
	checkTCP(d, c)
	checkMeters(d, c)
	checkLines(d, c)
	checkUplinkOADs(d, c)
	if c.Sim.EEPROMImage != "" && c.Store.Path != "" && path.Clean(c.Sim.EEPROMImage) == c.Store.Path {
		d.errAt("store.path", "%s is already sim.eeprom_image (line %d)", c.Store.Path, d.lineOf("sim.eeprom_image"))
	}
}

// checkTCP refuses two modbus-tcp devices on one server with one unit id
// (the same device twice), and a device on the master station's address.
func checkTCP(d *decoder, c *Config) {
	first := map[string]string{} // endpoint and unit → key
	master := ""
	if c.Uplink != nil && c.Uplink.Master != "" && checkHostPort(c.Uplink.Master) == "" {
		master = endpoint(c.Uplink.Master)
	}
	for i, dv := range c.Devices {
		if dv.Driver != devices.DriverModbusTCP || dv.Port == "" || checkHostPort(dv.Port) != "" {
			continue
		}
		k := fmt.Sprintf("device[%d].address", i)
		ep := endpoint(dv.Port)
		if ep == master {
			d.errAt(k, "%s is already uplink.master (line %d)", dv.Port, d.lineOf("uplink.master"))
			continue
		}
		id := ep + "\x00" + strconv.Itoa(dv.Unit)
		if f, dup := first[id]; dup {
			d.errAt(k, "%s unit %d is already %s (line %d)", dv.Port, dv.Unit, f, d.lineOf(f))
			continue
		}
		first[id] = k
	}
}

// checkMeters refuses two hplc meters with one address: both go through
// the one [hplc] module, which could not tell them apart.
func checkMeters(d *decoder, c *Config) {
	first := map[string]string{}
	for i, dv := range c.Devices {
		if dv.Driver != devices.DriverHPLC || !reMeter645.MatchString(dv.Address) {
			continue
		}
		k := fmt.Sprintf("device[%d].address", i)
		if f, dup := first[dv.Address]; dup {
			d.errAt(k, "meter %s is already %s (line %d)", dv.Address, f, d.lineOf(f))
			continue
		}
		first[dv.Address] = k
	}
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
	key     string // config key of the port
	shared  bool   // a device bus that several devices may share
	drv     devices.DriverName
	ser     Serial
	addrKey string // config key of the unit id or address on the bus
	addr    string // unit id or address on the bus, as compared
}

// checkPorts refuses a serial port used by two parts (only devices of one
// driver, agreeing on the line, share a bus, each at its own address), and
// a serial port that is the EEPROM's I2C bus or another I2C bus or GPIO
// chip.
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
		// A DL/T 698.45 server address is hex: 0A and 0a are one.
		addr, addrKey := strings.ToUpper(dv.Address), fmt.Sprintf("device[%d].address", i)
		if dv.Driver == devices.DriverModbusRTU {
			addr, addrKey = strconv.Itoa(dv.Unit), fmt.Sprintf("device[%d].unit", i)
		}
		add(portUse{key: fmt.Sprintf("device[%d].port", i), shared: true, drv: dv.Driver, ser: SerialOf(dv),
			addrKey: addrKey, addr: addr})
	}
	first := map[string]portUse{}
	addrs := map[string]string{} // port+addr → key
	for _, u := range uses {
		if u.ser.Port == "" {
			continue
		}
		switch p := u.ser.Port; {
		case c.EEPROM.Bus != "" && p == c.EEPROM.Bus:
			d.errAt(u.key, "%s is already eeprom.bus (line %d)", p, d.lineOf("eeprom.bus"))
			continue
		case reI2CBus.MatchString(p):
			d.errAt(u.key, "%s is an I2C bus, not a serial port", p)
			continue
		case reChip.MatchString(p):
			d.errAt(u.key, "%s is a GPIO chip, not a serial port", p)
			continue
		}
		f, seen := first[u.ser.Port]
		if !seen {
			first[u.ser.Port] = u
		} else {
			switch {
			case !u.shared || !f.shared:
				d.errAt(u.key, "%s is already %s (line %d)", u.ser.Port, f.key, d.lineOf(f.key))
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
				what := "address"
				if u.drv == devices.DriverModbusRTU {
					what = "unit"
				}
				d.errAt(u.addrKey, "%s %s on bus %s is already %s (line %d)", what, u.addr, u.ser.Port, k, d.lineOf(k))
				continue
			}
			addrs[id] = u.addrKey
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
