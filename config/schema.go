package config

import (
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"holdup/eeprom"
)

// decode reads the whole schema from the generic tree.
func decode(d *decoder, raw map[string]any) *Config {
	root := newTable(d, "", raw)
	c := &Config{}
	if t := root.sub("eeprom", true); t != nil {
		c.EEPROM = readEEPROM(t)
	}
	if t := root.sub("power", true); t != nil {
		c.Power = readPower(t)
	}
	if t := root.sub("ac_sampling", true); t != nil {
		c.ACSampling = readACSampling(t)
	}
	if t := root.sub("uplink", false); t != nil {
		u := readUplink(t)
		c.Uplink = &u
	}
	if t := root.sub("hplc", false); t != nil {
		h := readHPLC(t)
		c.HPLC = &h
	}
	st := root.sub("sched", false)
	if st == nil {
		st = newTable(d, "sched", map[string]any{})
	}
	c.Sched = readSched(st)
	for _, t := range root.tables("device") {
		c.Devices = append(c.Devices, readDevice(t, c.HPLC))
	}
	if t := root.sub("store", true); t != nil {
		c.Store = readStore(t)
	}
	if t := root.sub("console", false); t != nil {
		con := readConsole(t)
		c.Console = &con
	}
	if t := root.sub("status", false); t != nil {
		c.Status = readStatus(t)
	}
	if t := root.sub("hooks", false); t != nil {
		h := readHooks(t)
		c.Hooks = &h
	}
	lt := root.sub("log", false)
	if lt == nil {
		lt = newTable(d, "log", map[string]any{})
	}
	c.Log = readLog(lt)
	if t := root.sub("sim", false); t != nil {
		c.Sim = readSim(t)
	}
	root.done()
	crossCheck(d, c)
	return c
}

var (
	reI2CBus   = regexp.MustCompile(`^/dev/i2c-([0-9]{1,3})$`)
	reDevPath  = regexp.MustCompile(`^/dev/[A-Za-z0-9_./-]+$`)
	reHexAddr  = regexp.MustCompile(`^(?:[0-9A-Fa-f]{2}){1,16}$`)
	reMeter645 = regexp.MustCompile(`^[0-9]{12}$`)
	reHex8     = regexp.MustCompile(`^[0-9A-Fa-f]{8}$`)
	reName     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$`)
	reChip     = regexp.MustCompile(`^(?:/dev/)?gpiochip[0-9]{1,3}$`)
)

const maxDuration = 24 * time.Hour

// Bounds of the numbers that have no natural limit of their own.
const (
	// maxVolts is the low-voltage limit (1000 V AC): no phase reading of a
	// terminal on the low-voltage network is above it.
	maxVolts = 1000
	// minLossFraction: a phase at less than a tenth of nominal is not live
	// mains, so loss_v below it would never see a loss.
	minLossFraction = 0.1
	// maxDivider is the largest resistor-divider ratio in front of the
	// supercap ADC; maxSupercapV the largest supercap voltage.
	maxDivider   = 1000
	maxSupercapV = 100
	// minScale and maxScale bound |point.scale|: beyond them a register
	// value becomes a denormal or an overflow, not a reading.
	minScale = 1e-9
	maxScale = 1e9
	// maxDrawMW is the largest draw of one device (device.draw_mw), so the
	// largest sched.draw_threshold_mw that can gate anything.
	maxDrawMW = 100000
)

func readEEPROM(t *table) EEPROM {
	var e EEPROM
	e.Bus = t.reqStr("bus")
	if e.Bus != "" {
		if m := reI2CBus.FindStringSubmatch(e.Bus); m == nil {
			t.errf("bus", "must be an i2c-dev node like \"/dev/i2c-5\" (got %q)", e.Bus)
		} else {
			e.BusNum, _ = strconv.Atoi(m[1])
		}
	}
	addr := t.reqInteger("address", 0x50, 0x57)
	e.Address = uint8(addr)
	if name := t.reqStr("part"); name != "" {
		part, err := eeprom.LookupPart(name)
		if err != nil {
			t.errf("part", "unknown part %q (known: %s)", name, partNames())
		} else {
			e.Part = part
			// The part's high memory-address bits replace the low bits of
			// its device address (AT24CM01: A16; M24M02: A17..A16): it
			// answers on 1<<FoldedBits addresses from an aligned base.
			if n := 1 << part.FoldedBits; int(addr)%n != 0 {
				t.errf("address", "%s answers on %d addresses, so the base must be a multiple of %d (got 0x%02X)",
					part.Name, n, n, addr)
			}
		}
	}
	if t.has("page_size") {
		ps := t.integer("page_size", 0, 1, 4096)
		if e.Part.Name != "" && ps != 0 && int(ps) != e.Part.PageSize {
			t.errf("page_size", "%s has %d-byte pages (got %d)", e.Part.Name, e.Part.PageSize, ps)
		}
	}
	t.done()
	return e
}

// partNames lists the EEPROM parts eeprom knows, smallest first.
func partNames() string {
	var names []string
	for _, p := range eeprom.Parts() {
		names = append(names, p.Name)
	}
	return strings.Join(names, ", ")
}

// readLine reads a GPIO line table: chip and offset, or the line's name
// (chip then optional: every chip is searched).
func readLine(t *table, defActiveLow bool) GPIOLine {
	l := GPIOLine{Offset: -1}
	hasOff, hasName := t.has("offset"), t.has("line")
	switch {
	case hasOff && hasName:
		t.errf("line", "give either offset or line, not both")
	case !hasOff && !hasName:
		t.get("offset")
		t.errf("offset", "required (or give the line's name as line = \"…\")")
	}
	if hasOff || !t.has("chip") {
		l.Chip = t.reqStr("chip")
	} else {
		l.Chip = t.str("chip", "")
	}
	checkChip(t, "chip", l.Chip)
	l.Offset = int(t.integer("offset", -1, 0, 511))
	l.Name = t.str("line", "")
	if hasName && !hasOff && l.Name == "" {
		t.errf("line", "must not be empty")
	}
	l.ActiveLow = t.boolean("active_low", defActiveLow)
	return l
}

func readPower(t *table) Power {
	var p Power
	if ft := t.sub("fail_line", true); ft != nil {
		p.FailLine = readLine(ft, true)
		p.Debounce = ft.duration("debounce", 0, 0, time.Second)
		ft.done()
	}
	var okN, okL, okR, okM bool
	p.NominalV, okN = t.number("nominal_v", 220)
	if okN && (p.NominalV < 50 || p.NominalV > 480) {
		t.errf("nominal_v", "must be in 50..480 V (got %g)", p.NominalV)
		okN = false
	}
	p.LossV, okL = t.number("loss_v", 0.6*p.NominalV)
	if okL && p.LossV <= 0 {
		t.errf("loss_v", "must be > 0 V (got %g)", p.LossV)
		okL = false
	}
	if okN && okL && p.LossV < minLossFraction*p.NominalV {
		t.errf("loss_v", "must be at least 10 %% of power.nominal_v (%g V): a phase below that is not live mains (got %g)",
			minLossFraction*p.NominalV, p.LossV)
		okL = false
	}
	if okN && okL && p.LossV >= p.NominalV {
		t.errf("loss_v", "must be below power.nominal_v %g V (got %g)", p.NominalV, p.LossV)
		okL = false
	}
	p.RestoreV, okR = t.number("restore_v", 0.8*p.NominalV)
	if okR && p.RestoreV <= 0 {
		t.errf("restore_v", "must be > 0 V (got %g)", p.RestoreV)
		okR = false
	}
	if okL && okR && p.RestoreV <= p.LossV {
		t.errf("restore_v", "must be above power.loss_v %g V for hysteresis (got %g)", p.LossV, p.RestoreV)
		okR = false
	}
	if okN && okR && p.RestoreV > p.NominalV {
		t.errf("restore_v", "must not exceed power.nominal_v %g V (got %g)", p.NominalV, p.RestoreV)
		okR = false
	}
	p.MaxV, okM = t.number("max_v", 2*p.NominalV)
	if okM && okN && okR && p.MaxV <= p.NominalV {
		t.errf("max_v", "must be above power.nominal_v %g V (got %g)", p.NominalV, p.MaxV)
	} else if okM && p.MaxV > maxVolts {
		t.errf("max_v", "must not exceed %d V, the low-voltage limit (got %g)", maxVolts, p.MaxV)
	}
	p.PhaseRule = t.oneOf("phase_rule", "all", "all", "any")
	p.ConfirmTimeout = t.duration("confirm_timeout", time.Second, time.Millisecond, time.Minute)
	p.Settle = t.duration("settle", 20*time.Millisecond, time.Millisecond, 10*time.Second)
	p.MaxSettle = t.duration("max_settle", time.Second, time.Millisecond, time.Minute)
	if p.MaxSettle < p.Settle {
		t.errf("max_settle", "must not be below power.settle %v (got %v)", p.Settle, p.MaxSettle)
	}
	p.Recheck = t.duration("recheck", 2*time.Second, 100*time.Millisecond, time.Hour)
	p.ReportEvery = t.duration("report_every", time.Minute, time.Second, time.Hour)
	p.HoldupBudget = t.duration("holdup_budget", 180*time.Second, time.Second, time.Hour)
	p.FinalFlushMargin = t.duration("final_flush_margin", 30*time.Second, time.Second, time.Hour)
	if p.ConfirmTimeout+p.FinalFlushMargin >= p.HoldupBudget {
		t.errf("final_flush_margin", "power.confirm_timeout (%v) + final_flush_margin (%v) must leave time in holdup_budget (%v)",
			p.ConfirmTimeout, p.FinalFlushMargin, p.HoldupBudget)
	}
	if st := t.sub("supercap", false); st != nil {
		p.Supercap = readSupercap(st)
	}
	p.End = readPowerEnd(t, p.Supercap)
	t.done()
	return p
}

var reIIODir = regexp.MustCompile(`^/sys/bus/iio/devices/iio:device[0-9]+$`)

func readSupercap(t *table) *Supercap {
	s := &Supercap{}
	s.IIODevice = t.reqStr("iio_device")
	if s.IIODevice != "" && !reIIODir.MatchString(s.IIODevice) {
		t.errf("iio_device", "must be an IIO device directory like \"/sys/bus/iio/devices/iio:device0\" (got %q)", s.IIODevice)
	}
	s.Channel = int(t.reqInteger("channel", 0, 255))
	var ok bool
	if s.Divider, ok = t.number("divider", 1); ok && (s.Divider < 1 || s.Divider > maxDivider) {
		t.errf("divider", "must be >= 1 and <= %d (the ratio of the divider in front of the ADC) (got %g)", maxDivider, s.Divider)
	}
	okE := false
	if !t.has("empty_v") {
		t.get("empty_v")
		t.errf("empty_v", "required: the voltage at which the supply drops out")
	} else if s.EmptyV, okE = t.number("empty_v", 0); okE && (s.EmptyV <= 0 || s.EmptyV >= maxSupercapV) {
		t.errf("empty_v", "must be > 0 V and below %d V (got %g)", maxSupercapV, s.EmptyV)
		okE = false
	}
	if t.has("full_v") {
		var okF bool
		switch s.FullV, okF = t.number("full_v", 0); {
		case okF && okE && s.FullV <= s.EmptyV:
			t.errf("full_v", "must be above empty_v %g V (got %g)", s.EmptyV, s.FullV)
		case okF && s.FullV > maxSupercapV:
			t.errf("full_v", "must not exceed %d V (got %g)", maxSupercapV, s.FullV)
		}
	}
	s.SampleEvery = t.duration("sample_every", time.Second, 10*time.Millisecond, time.Minute)
	readSupercapEnergy(t, s)
	t.done()
	return s
}

var bauds = map[int64]bool{1200: true, 2400: true, 4800: true, 9600: true, 19200: true,
	38400: true, 57600: true, 115200: true, 230400: true, 460800: true, 921600: true}

// readSerial reads port, baud and parity from t.
func readSerial(t *table, defBaud int, defParity string) Serial {
	var s Serial
	s.Port = t.reqStr("port")
	if s.Port != "" && !reDevPath.MatchString(s.Port) {
		t.errf("port", "must be a device path like \"/dev/ttyS1\" (got %q)", s.Port)
	}
	s.Baud = readBaud(t, defBaud)
	s.DataBits = int(t.integer("data_bits", 8, 5, 8))
	s.Parity = t.oneOf("parity", defParity, "none", "even", "odd")
	s.StopBits = int(t.integer("stop_bits", 1, 1, 2))
	return s
}

func readBaud(t *table, def int) int {
	b := t.integer("baud", int64(def), 1, 4000000)
	if t.has("baud") && !bauds[b] {
		if _, isInt := t.m["baud"].(int64); isInt {
			t.errf("baud", "must be a standard rate (1200..921600) (got %d)", b)
		}
	}
	return int(b)
}

func readHexAddr(t *table, k string) string {
	s := t.reqStr(k)
	if s != "" && !reHexAddr.MatchString(s) {
		t.errf(k, "must be 2 to 32 hex digits, an even count (got %q)", s)
	}
	return s
}

func readACSampling(t *table) ACSampling {
	var a ACSampling
	a.Serial = readSerial(t, 9600, "even")
	a.Address = readHexAddr(t, "address")
	a.Timeout = t.duration("timeout", 500*time.Millisecond, time.Millisecond, time.Minute)
	a.Retries = int(t.integer("retries", 2, 0, 10))
	a.Preamble = int(t.integer("preamble", 4, 0, 16))
	a.ByteTimeout = readByteTimeout(t, a.Timeout)
	t.done()
	return a
}

// readByteTimeout reads the optional byte_timeout of a DL/T 698.45
// serial client (0: the one the line speed gives), shorter than the
// answer timeout it falls within.
func readByteTimeout(t *table, timeout time.Duration) time.Duration {
	bt := t.duration("byte_timeout", 0, time.Millisecond, 10*time.Second)
	if bt > 0 && timeout > 0 && bt >= timeout {
		t.errf("byte_timeout", "must be shorter than timeout (%v) (got %v)", timeout, bt)
	}
	return bt
}

func readUplink(t *table) Uplink {
	var u Uplink
	u.Master = t.reqStr("master")
	if u.Master != "" {
		if msg := checkHostPort(u.Master); msg != "" {
			t.errf("master", "%s (got %q)", msg, u.Master)
		}
	}
	u.TerminalAddress = readHexAddr(t, "terminal_address")
	u.Heartbeat = t.duration("heartbeat", time.Minute, time.Second, time.Hour)
	u.ResponseTimeout = t.duration("response_timeout", 10*time.Second, 100*time.Millisecond, 10*time.Minute)
	u.MissedHeartbeats = int(t.integer("missed_heartbeats", 3, 1, 100))
	u.RetryMin = t.duration("retry_min", time.Second, 100*time.Millisecond, time.Hour)
	u.RetryMax = t.duration("retry_max", time.Minute, 100*time.Millisecond, maxDuration)
	if u.RetryMax < u.RetryMin {
		t.errf("retry_max", "must not be below uplink.retry_min %v (got %v)", u.RetryMin, u.RetryMax)
	}
	u.ReportPeriod = t.duration("report_period", 15*time.Minute, time.Second, maxDuration)
	u.ForwardBatch = int(t.integer("forward_batch", 16, 1, 64))
	u.ForwardInterval = t.duration("forward_interval", time.Second, 100*time.Millisecond, time.Hour)
	readUplinkClock(t, &u)
	readUplinkControl(t, &u)
	u.Security = readUplinkSecurity(t)
	t.done()
	return u
}

func readHPLC(t *table) HPLC {
	var h HPLC
	h.Serial = readSerial(t, 9600, "even")
	if rt := t.sub("reset_line", true); rt != nil {
		h.ResetLine = readLine(rt, false)
		rt.done()
	}
	h.ResetPulse = t.duration("reset_pulse", 200*time.Millisecond, time.Millisecond, 10*time.Second)
	h.ReplyTimeout = t.duration("reply_timeout", 2*time.Second, 10*time.Millisecond, time.Minute)
	h.Retries = int(t.integer("retries", 2, 0, 10))
	h.BootTimeout = t.duration("boot_timeout", 30*time.Second, time.Second, 10*time.Minute)
	t.done()
	return h
}

func readSched(t *table) Sched {
	var s Sched
	s.ErrorWindow = int(t.integer("error_window", 20, 1, 10000))
	s.ErrorThreshold = int(t.integer("error_threshold", 5, 1, 10000))
	if s.ErrorThreshold > s.ErrorWindow {
		t.errf("error_threshold", "must not exceed sched.error_window %d exchanges (got %d)", s.ErrorWindow, s.ErrorThreshold)
	}
	s.OutageCollectInterval = t.duration("outage_collect_interval", 0, 0, time.Hour)
	s.DrawThresholdMW = int(t.integer("draw_threshold_mw", 0, 0, maxDrawMW))
	s.QueueLen = int(t.integer("queue_len", 64, 1, 4096))
	s.JournalQueue = int(t.integer("journal_queue", 64, 1, 4096))
	s.SilentBackoff = t.duration("silent_backoff", 30*time.Second, 100*time.Millisecond, time.Hour)
	s.SilentBackoffMax = t.duration("silent_backoff_max", 10*time.Minute, 100*time.Millisecond, maxDuration)
	if s.SilentBackoffMax < s.SilentBackoff {
		t.errf("silent_backoff_max", "must not be below sched.silent_backoff %v (got %v)", s.SilentBackoff, s.SilentBackoffMax)
	}
	t.done()
	return s
}

func readStore(t *table) Store {
	var s Store
	s.Path = t.reqStr("path")
	if s.Path != "" {
		if msg := checkStorePath(s.Path); msg != "" {
			t.errf("path", "%s (got %q)", msg, s.Path)
		}
	}
	s.VerifyWrites = t.boolean("verify_writes", false)
	t.done()
	return s
}

func readConsole(t *table) Console {
	var c Console
	c.Port = t.reqStr("port")
	if c.Port != "" && c.Port != "stdio" && !reDevPath.MatchString(c.Port) {
		t.errf("port", "must be \"stdio\" or a device path like \"/dev/ttyS0\" (got %q)", c.Port)
	}
	c.Baud = readBaud(t, 115200)
	c.PasswordHash = t.str("password_hash", "")
	if c.PasswordHash != "" {
		if msg := checkBcrypt(c.PasswordHash); msg != "" {
			t.errf("password_hash", "%s; make one with `holdup hashpw`", msg)
		}
	}
	c.LockoutFailures = int(t.integer("lockout_failures", 5, 1, 100))
	c.LockoutPeriod = t.duration("lockout_period", 5*time.Minute, time.Second, maxDuration)
	c.SessionTimeout = t.duration("session_timeout", 10*time.Minute, time.Second, maxDuration)
	t.done()
	return c
}

// maxSocketPath is the longest unix socket path the kernel binds
// (sun_path is 108 bytes with its terminating NUL).
const maxSocketPath = 107

func readStatus(t *table) Status {
	var s Status
	s.Socket = t.str("socket", "")
	switch {
	case !t.has("socket"):
	case s.Socket == "" || !filepath.IsAbs(s.Socket):
		t.errf("socket", "must be an absolute path like %q (got %q)", DefaultStatusSocket, s.Socket)
	case filepath.Clean(s.Socket) != s.Socket || strings.HasSuffix(s.Socket, "/"):
		t.errf("socket", "must be a clean path naming the socket file, like %q (got %q)", DefaultStatusSocket, s.Socket)
	case len(s.Socket) > maxSocketPath:
		t.errf("socket", "must be at most %d bytes, the longest path a unix socket binds (got %d)", maxSocketPath, len(s.Socket))
	}
	t.done()
	return s
}

func readLog(t *table) LogConfig {
	var l LogConfig
	l.Level = t.oneOf("level", "info", "debug", "info", "warn", "error")
	l.Format = t.oneOf("format", "text", "text", "json")
	t.done()
	return l
}

func readSim(t *table) Sim {
	var s Sim
	s.Enabled = t.boolean("enabled", false)
	s.EEPROMImage = t.str("eeprom_image", "")
	s.RealPowerLine = t.boolean("real_power_line", false)
	s.RealEEPROM = t.boolean("real_eeprom", false)
	if s.Enabled && !s.RealEEPROM && s.EEPROMImage == "" && !t.has("eeprom_image") {
		t.errf("eeprom_image", "required when sim.enabled = true")
	}
	if t.has("eeprom_image") && s.EEPROMImage == "" {
		if _, isStr := t.m["eeprom_image"].(string); isStr {
			t.errf("eeprom_image", "must not be empty")
		}
	}
	t.done()
	return s
}
