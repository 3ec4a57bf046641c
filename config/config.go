package config

import (
	"path/filepath"
	"strings"
	"time"

	"holdup/devices"
	"holdup/eeprom"
)

// Config is a whole, validated configuration file.
type Config struct {
	File       string     // the file it was read from
	EEPROM     EEPROM     // [eeprom], required
	Power      Power      // [power], required
	ACSampling ACSampling // [ac_sampling], required
	Uplink     *Uplink    // [uplink]; nil when the terminal reports to no master station
	HPLC       *HPLC      // [hplc]; nil when the terminal has no HPLC module
	Sched      Sched      // [sched]; defaults when absent
	// Devices are the [[device]] tables as the devices package runs them,
	// defaults applied; an hplc meter's Port and line are the [hplc]
	// module's, which its IO goes through.
	Devices []devices.Device
	Store   Store     // [store], required
	Console *Console  // [console]; nil when there is no console
	Status  Status    // [status]; defaults when absent
	Hooks   *Hooks    // [hooks]; nil when no other app is told of power events
	Log     LogConfig // [log]; defaults when absent
	Sim     Sim       // [sim]; Enabled false when absent
	lines   map[string]int
}

// Line returns the line where key (e.g. "device[1].name") is written, or 0.
// The daemon uses it to point at the file when a later check (one only
// another package can make, like opening the EEPROM bus) fails.
func (c *Config) Line(key string) int { return c.lines[key] }

// EEPROM is the journal's I2C EEPROM.
type EEPROM struct {
	Bus     string      // "/dev/i2c-5"
	BusNum  int         // 5, parsed from Bus
	Address uint8       // 7-bit base address, 0x50..0x57, aligned to the part's folded address bits
	Part    eeprom.Part // the part, from the eeprom package's table (eeprom.LookupPart)
}

// GPIOLine names one line of a GPIO character device. Exactly one of
// Offset (≥ 0) and Name (non-empty) identifies the line; Offset is -1 when
// Name is used.
type GPIOLine struct {
	Chip      string // "gpiochip0"
	Offset    int    // line offset on the chip, or -1
	Name      string // line name from the device tree, or ""
	ActiveLow bool
}

// Power is the power-fail detection and hold-up budget. Defaults follow
// the power package's (and DL/T 698.45 event 3106's): loss below 60 % and
// restore at 80 % of nominal.
//
// PhaseRule (power.phase_rule) says which phase voltages confirm a loss and
// a return (the power package's PhaseRule). "all", the default, is the rule
// of the power-failure protection method holdup implements, for
// three-phase-fed terminals: one phase below loss_v confirms a loss, and
// the mains is back only when all three phases are at or above restore_v.
// "any" is for single-phase-fed terminals, whose other phases read
// nothing: a loss needs all three phases below loss_v, and one phase at or
// above restore_v is a return. Between the two thresholds the mains is in
// the hysteresis band and the monitor keeps its state.
type Power struct {
	FailLine         GPIOLine      // [power.fail_line]; active_low defaults to true (a PFO output)
	Debounce         time.Duration // fail_line.debounce: kernel debounce, 0 = none
	NominalV         float64       // nominal phase voltage, V
	LossV            float64       // a phase below this is out, V
	RestoreV         float64       // a phase at or above this meets the specification, V (> LossV)
	PhaseRule        string        // phase_rule: "all" (default, the method) or "any" (single-phase fed)
	MaxV             float64       // readings above this are garbage, V (> RestoreV)
	ConfirmTimeout   time.Duration // how long a voltage reading may take to confirm a GPIO edge
	Settle           time.Duration // software debounce: the line must be stable this long
	MaxSettle        time.Duration // cap on the settle wait for a chattering line
	Recheck          time.Duration // re-read voltages this often while line and voltages disagree
	ReportEvery      time.Duration // repeat the outage report this often while power is out
	HoldupBudget     time.Duration // how long the supercap carries the terminal
	FinalFlushMargin time.Duration // "final flush" when this much hold-up time is left
	Supercap         *Supercap     // [power.supercap]; nil when not measured
	End              PowerEnd      // the end of the hold-up window and the start-up charge wait (power_budget.go)
}

// Supercap is an optional IIO ADC channel measuring the supercapacitor
// (power.IIOVoltage).
type Supercap struct {
	IIODevice   string        // sysfs directory, /sys/bus/iio/devices/iio:deviceN
	Channel     int           // in_voltageN_raw
	Divider     float64       // resistor divider ratio in front of the ADC (≥ 1)
	EmptyV      float64       // voltage at which the supply drops out (power SupercapMinV)
	FullV       float64       // voltage of a full capacitor (charge, budget estimate); 0 when not given
	Farads      float64       // capacitance_f: capacitance, F; 0 when not given
	LoadW       float64       // load_w: power drawn from it during an outage, W; 0 when not given
	SampleEvery time.Duration // sampling interval during an outage
}

// Serial is a serial port's settings as the file writes them ([ac_sampling]
// and [hplc]; a device's line is in its devices.Device, parity as a letter).
type Serial struct {
	Port     string // "/dev/ttyS1"
	Baud     int
	DataBits int    // 5..8, default 8
	Parity   string // none|even|odd
	StopBits int    // 1 or 2, default 1
}

// ParityLetter is the parity as serial drivers name it: "N", "E" or "O"
// ("" when unset).
func (s Serial) ParityLetter() string {
	switch s.Parity {
	case "even":
		return "E"
	case "odd":
		return "O"
	case "none":
		return "N"
	}
	return ""
}

// SerialConfig is the line as the serial opener takes it
// (devices.OpenSerial).
func (s Serial) SerialConfig() devices.SerialConfig {
	return devices.SerialConfig{Path: s.Port, Baud: s.Baud, DataBits: s.DataBits, Parity: s.ParityLetter(), StopBits: s.StopBits}
}

// SerialOf returns a serial device's line (Port, Baud, DataBits, Parity
// "N"/"E"/"O", StopBits) in the file's terms, parity none|even|odd.
func SerialOf(d devices.Device) Serial {
	s := Serial{Port: d.Port, Baud: d.Baud, DataBits: d.DataBits, StopBits: d.StopBits}
	switch strings.ToUpper(d.Parity) {
	case "N":
		s.Parity = "none"
	case "E":
		s.Parity = "even"
	case "O":
		s.Parity = "odd"
	}
	return s
}

// ACSampling is the DL/T 698.45 AC-sampling unit that confirms voltages
// (proto698.ACClientConfig).
type ACSampling struct {
	Serial
	Address  string        // server address, hex digits
	Timeout  time.Duration // wait for one answer
	Retries  int           // repeated requests after the first
	Preamble int           // FE wake-up bytes before each request
	// ByteTimeout (byte_timeout) drops a partial answer after this much
	// line silence; 0: the one the line speed gives
	// (proto698.SerialByteTimeout).
	ByteTimeout time.Duration
}

// Uplink is the master station connection, DL/T 698.45 over TCP
// (proto698.UplinkConfig).
type Uplink struct {
	Master           string        // "host:port"
	TerminalAddress  string        // this terminal's server address, hex digits
	Heartbeat        time.Duration // link heartbeat period
	ResponseTimeout  time.Duration // wait for LINK-Response / REPORT-Response
	MissedHeartbeats int           // unanswered heartbeats that drop the link
	RetryMin         time.Duration // reconnect back-off bounds
	RetryMax         time.Duration
	ReportPeriod     time.Duration // periodic data report period
	// ForwardBatch is the most outage records one history report carries
	// (the store-and-forward leg after a replay).
	ForwardBatch int
	// ForwardInterval is the least time between two history reports: the
	// outage history never crowds out live traffic.
	ForwardInterval time.Duration
	// SetClock lets the master station set the system clock (SET 4000
	// attribute 2, ACTION 4000 method 127 broadcast time setting); false
	// (the default) answers both "read/write denied".
	SetClock bool
	// ClockMaxStep is the largest step a master may set the clock by
	// (unless the clock is before holdup's build date: unset).
	ClockMaxStep time.Duration
	// ControlRate (per second) and ControlBurst bound the master's control
	// requests (a token bucket); beyond them a SET is refused with
	// "temporarily unavailable".
	ControlRate  float64
	ControlBurst int
	// Security authenticates the master's control (uplink_security.go).
	Security UplinkSecurity
}

// HPLC is the power-line carrier module, Q/GDW 1376.2 (hplc.Config).
type HPLC struct {
	Serial
	ResetLine    GPIOLine      // [hplc.reset_line]
	ResetPulse   time.Duration // how long reset is held asserted
	ReplyTimeout time.Duration // wait for the answer to one command
	Retries      int           // resends of an unanswered command
	BootTimeout  time.Duration // wait for the module after a reset
}

// Sched holds the scheduler's settings (sched.Config).
type Sched struct {
	ErrorWindow           int           // recent exchanges the error-rate watch looks at
	ErrorThreshold        int           // failures among them that close the interface (≤ ErrorWindow)
	OutageCollectInterval time.Duration // minimum spacing of collection on one interface in an outage; 0 = no limit
	DrawThresholdMW       int           // devices drawing more are gated in an outage; 0 = gate on mains_only alone
	QueueLen              int           // each interface owner's queue capacity
	JournalQueue          int           // critical-record queue capacity
	// SilentBackoff is how long a device that fails while others on its
	// bus answer is left alone before one probe; it doubles per failed
	// probe up to SilentBackoffMax.
	SilentBackoff, SilentBackoffMax time.Duration
}

// Store is the data store and journal options.
type Store struct {
	Path         string // bbolt file
	VerifyWrites bool   // read back every journal page programmed (store.Options)
}

// Console is the operator console.
type Console struct {
	Port            string // device path or "stdio"
	Baud            int
	PasswordHash    string // bcrypt; empty disables login (and every mutating command)
	LockoutFailures int
	LockoutPeriod   time.Duration
	SessionTimeout  time.Duration // idle time after which a login ends
}

// DefaultStatusSocket is where the daemon answers `holdup status` when
// status.socket is not set (and the configuration is not a [sim] one).
const DefaultStatusSocket = "/run/holdup/holdup.sock"

// Status is the [status] section: the read-only status socket.
type Status struct {
	Socket string // status.socket; "" when not set (see Config.StatusSocket)
}

// StatusSocket is the unix socket the daemon answers `holdup status` on:
// status.socket when set; for a [sim] configuration without it,
// holdup.sock beside the data store (a simulated terminal never takes
// the real one's); DefaultStatusSocket otherwise.
func (c *Config) StatusSocket() string {
	switch {
	case c.Status.Socket != "":
		return c.Status.Socket
	case c.Sim.Enabled:
		return filepath.Join(filepath.Dir(c.Store.Path), "holdup.sock")
	}
	return DefaultStatusSocket
}

// LogConfig is the [log] section.
type LogConfig struct {
	Level  string // debug|info|warn|error
	Format string // text|json
}

// Sim is the [sim] section: run on simulated hardware.
type Sim struct {
	Enabled     bool
	EEPROMImage string // file backing the simulated EEPROM
	// RealPowerLine keeps the real power-fail line (GPIO character device)
	// and RealEEPROM the real EEPROM (i2c-dev) while the rest is simulated:
	// hardware-in-the-loop runs on a board whose serial units are absent.
	RealPowerLine bool
	RealEEPROM    bool
}
