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

// Power is the power-fail detection and hold-up budget.
type Power struct {
	FailLine         GPIOLine      // [power.fail_line]
	Debounce         time.Duration // fail_line.debounce
	NominalV         float64       // nominal phase voltage, V
	LossV            float64       // below this mains is lost, V
	RestoreV         float64       // above this mains is back, V (> LossV)
	ConfirmTimeout   time.Duration // how long to wait for the voltages to confirm a GPIO edge
	HoldupBudget     time.Duration // how long the supercap carries the terminal
	FinalFlushMargin time.Duration // reserve at the end of the budget for the last journal flush
	Supercap         *Supercap     // [power.supercap]; nil when not measured
}

// Supercap is an optional ADC input measuring the supercapacitor.
type Supercap struct {
	Path   string  // sysfs IIO raw file
	Scale  float64 // volts per count, including the divider
	FullV  float64 // voltage of a full capacitor
	EmptyV float64 // voltage at which the regulators drop out
}

// Serial is a serial port's settings.
type Serial struct {
	Port   string // "/dev/ttyS1"
	Baud   int
	Parity string // none|even|odd (8 data bits, 1 stop bit)
}

// ACSampling is the DL/T 698.45 AC-sampling unit that confirms voltages.
type ACSampling struct {
	Serial
	Address string        // server address, hex digits
	Timeout time.Duration // per request
}

// Uplink is the master station connection (DL/T 698.45 over TCP).
type Uplink struct {
	Master          string        // "host:port"
	TerminalAddress string        // this terminal's server address, hex digits
	Heartbeat       time.Duration // link heartbeat period
	ReportPeriod    time.Duration // periodic data report period
}

// HPLC is the power-line carrier module (Q/GDW 1376.2).
type HPLC struct {
	Serial
	ResetLine  GPIOLine      // [hplc.reset_line]
	ResetPulse time.Duration // how long reset is held asserted
}

// Sched holds the scheduler's thresholds.
type Sched struct {
	ErrorWindow          time.Duration // window the error rate is measured over
	ErrorThreshold       float64       // failed/total in the window that marks a device, (0,1]
	MinSamples           int           // operations in the window before the rate counts
	OutageCollectionRate float64       // fraction of the normal collection rate kept on the supercap, (0,1]
	DrawThresholdMW      int           // devices drawing more than this are shed on the supercap
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
	DrawMW    int  // power the device draws from the terminal, mW

	Serial  Serial        // modbus-rtu, dlt698
	Address string        // modbus-tcp "host:port"; dlt698 hex server address; hplc 12-digit meter address
	Unit    int           // Modbus unit id
	Timeout time.Duration // per request
	Line    GPIOLine      // gpio-output

	Points []Point
}

// Class is a point's class.
type Class string

// The point classes.
const (
	ClassControl    Class = "control"
	ClassCollection Class = "collection"
)

// Integrity is whether a point's values are verified.
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
	Integrity Integrity
	Period    time.Duration // collection period; 0 for on-demand control points
	Deadline  time.Duration // an operation later than this is failed
	Kind      string        // bool|u16|i16|u32|i32|f32
	Scale     float64       // engineering value = raw × Scale
	// Address is the driver's point address: a Modbus register or coil
	// number (as decimal text), a DL/T 698 OAD or DL/T 645 data identifier
	// (8 hex digits), empty for gpio-output.
	Address  string
	Register uint16 // Modbus: the register or coil number
	ID       uint32 // dlt698: the OAD; hplc: the DL/T 645 data identifier
	Table    string // Modbus only: holding|input|coil|discrete
}

// Store is the data store.
type Store struct {
	Path string // bbolt file
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
}
