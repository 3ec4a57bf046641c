package config

import "time"

// Config is a whole, validated configuration file.
type Config struct {
	File       string     // the file it was read from
	EEPROM     EEPROM     // [eeprom], required
	Power      Power      // [power], required
	ACSampling ACSampling // [ac_sampling], required
	Uplink     *Uplink    // [uplink]; nil when the terminal reports to no master station
	HPLC       *HPLC      // [hplc]; nil when the terminal has no HPLC module
	Sched      Sched      // [sched]; defaults when absent
	Devices    []Device   // [[device]]
	Store      Store      // [store], required
	Console    *Console   // [console]; nil when there is no console
	Log        LogConfig  // [log]; defaults when absent
	Sim        Sim        // [sim]; Enabled false when absent
	lines      map[string]int
}

// Line returns the line where key (e.g. "device[1].name") is written, or 0.
// The main package uses it to point at the file when a later check (one
// only another package can make) fails.
func (c *Config) Line(key string) int { return c.lines[key] }

// EEPROM is the journal's I2C EEPROM.
type EEPROM struct {
	Bus      string // "/dev/i2c-5"
	BusNum   int    // 5, parsed from Bus
	Address  uint8  // 7-bit base address, 0x50..0x57
	Part     Part   // the part, from the table in parts.go
	PageSize int    // bytes per page; equals Part.PageSize
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
type Power struct {
	FailLine         GPIOLine      // [power.fail_line]; active_low defaults to true (a PFO output)
	Debounce         time.Duration // fail_line.debounce: kernel debounce, 0 = none
	NominalV         float64       // nominal phase voltage, V
	LossV            float64       // all phases below this: mains lost, V
	RestoreV         float64       // a phase at or above this: mains back, V (> LossV)
	MaxV             float64       // readings above this are garbage, V (> RestoreV)
	ConfirmTimeout   time.Duration // how long a voltage reading may take to confirm a GPIO edge
	Settle           time.Duration // software debounce: the line must be stable this long
	MaxSettle        time.Duration // cap on the settle wait for a chattering line
	Recheck          time.Duration // re-read voltages this often while line and voltages disagree
	ReportEvery      time.Duration // repeat the outage report this often while power is out
	HoldupBudget     time.Duration // how long the supercap carries the terminal
	FinalFlushMargin time.Duration // "final flush" when this much hold-up time is left
	Supercap         *Supercap     // [power.supercap]; nil when not measured
}

// Supercap is an optional IIO ADC channel measuring the supercapacitor
// (power.IIOVoltage).
type Supercap struct {
	IIODevice   string        // sysfs directory, /sys/bus/iio/devices/iio:deviceN
	Channel     int           // in_voltageN_raw
	Divider     float64       // resistor divider ratio in front of the ADC (≥ 1)
	EmptyV      float64       // voltage at which the supply drops out (power SupercapMinV)
	FullV       float64       // voltage of a full capacitor (for display); 0 when not given
	SampleEvery time.Duration // sampling interval during an outage
}

// Serial is a serial port's settings.
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

// ACSampling is the DL/T 698.45 AC-sampling unit that confirms voltages
// (proto698.ACClientConfig).
type ACSampling struct {
	Serial
	Address  string        // server address, hex digits
	Timeout  time.Duration // wait for one answer
	Retries  int           // repeated requests after the first
	Preamble int           // FE wake-up bytes before each request
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

// Driver names a device driver.
type Driver string

// The device drivers.
const (
	DriverModbusRTU  Driver = "modbus-rtu"
	DriverModbusTCP  Driver = "modbus-tcp"
	DriverDLT698     Driver = "dlt698"
	DriverHPLC       Driver = "hplc"
	DriverGPIOOutput Driver = "gpio-output"
)

// Device is one [[device]].
type Device struct {
	Name      string
	Driver    Driver
	Enabled   bool
	MainsOnly bool // shed as soon as mains is lost
	DrawMW    int  // power the device draws from the hold-up store, mW

	Serial  Serial        // modbus-rtu, dlt698
	Address string        // modbus-tcp "host:port"; dlt698 hex server address; hplc 12-digit meter address
	Unit    int           // Modbus unit id
	Timeout time.Duration // per request
	Chip    string        // gpio-output: the GPIO chip ("gpiochip1"); points are its lines
	// Password is an hplc meter's DL/T 645 write password as 8 hex
	// digits, privilege level first ("02123456"); required when the
	// device has control points. Operator is the operator code the meter
	// records with each write.
	Password string
	Operator uint32

	Points []Point
}

// Class is a point's class.
type Class string

// The point classes.
const (
	ClassControl    Class = "control"
	ClassCollection Class = "collection"
)

// Integrity is whether the protocol carries a checksum the application
// verifies for the point's data (as in the devices package).
type Integrity string

// The integrity modes.
const (
	IntegrityChecked   Integrity = "checked"
	IntegrityUnchecked Integrity = "unchecked"
)

// Point is one [[device.point]].
type Point struct {
	Name      string
	Class     Class
	Integrity Integrity     // default: checked on serial drivers, unchecked otherwise
	Period    time.Duration // collection period; 0 for on-demand control points
	Deadline  time.Duration // an operation later than this is failed
	Scale     float64       // engineering value = raw × Scale
	// Address is the point address as written: a Modbus register or coil
	// number or GPIO line offset (decimal text), a DL/T 698 OAD or DL/T 645
	// data identifier (8 hex digits).
	Address  string
	Register int    // Modbus register/coil number; gpio-output line offset
	ID       uint32 // dlt698: the OAD; hplc: the DL/T 645 data identifier
	// Kind is the Modbus table (coil|discrete|holding|input) or "line" for
	// gpio-output; empty for dlt698 and hplc.
	Kind string
	// Type is the register encoding of holding/input points:
	// u16|s16|u32|s32|f32; empty otherwise.
	Type      string
	ActiveLow bool // gpio-output: the line is active-low
	// UplinkOAD is the DL/T 698.45 OAD under which the master station
	// reads (GET) or, for a control point, sets (SET) this point over the
	// uplink; 0: the point is not exposed northbound.
	UplinkOAD uint32
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
