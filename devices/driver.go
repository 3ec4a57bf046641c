package devices

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
)

// Driver performs a device's IO. Every error it returns names its exchange
// outcome through an IOOutcome() string method (see Classify), which the
// scheduler reads without importing this package.
type Driver interface {
	// Device returns the device's (validated) configuration.
	Device() Device
	// Read reads a collection point.
	Read(ctx context.Context, p Point) (Sample, error)
	// Write performs a control action on a point.
	Write(ctx context.Context, p Point, v float64) (Sample, error)
	// Reinit re-initialises the device's interface after power returns or
	// after the scheduler closed it.
	Reinit(ctx context.Context) error
	// Close releases the driver (not a shared bus or chip; see Set.Close).
	Close() error
}

// InterfaceOf names the physical interface a device's IO goes through:
// the serial port or GPIO chip, or "tcp:host:port". Devices with the same
// interface share one scheduler owner.
func InterfaceOf(d Device) string {
	switch d.Driver {
	case DriverModbusTCP:
		return "tcp:" + d.Port
	case DriverGPIOOutput:
		return ChipPath(d.Port)
	}
	return d.Port
}

// Env supplies what OpenAll needs to reach hardware. Nil fields use the
// real implementations where there is one.
type Env struct {
	Log *slog.Logger
	// OpenSerial opens a serial port; nil: OpenSerial (go.bug.st/serial).
	OpenSerial func(c SerialConfig) (SerialPort, error)
	// OpenChip opens a GPIO chip; nil: OpenChip (go-gpiocdev).
	OpenChip func(name string) (Chip, error)
	// Dialer dials Modbus TCP devices; nil: net.Dialer.
	Dialer Dialer
	// DLT698 and HPLC build the protocol clients for dlt698 and hplc
	// devices (NewDLT698Client and NewHPLCMeterClient; the daemon wires
	// them in with the bus and module they share).
	DLT698 func(d Device) (DLT698Client, error)
	HPLC   func(d Device) (HPLCClient, error)
}

// Set is the opened devices: drivers by device name and the shared buses
// and chips they run on.
type Set struct {
	Drivers map[string]Driver
	buses   map[string]*sharedPort
	chips   map[string]Chip
}

type sharedPort struct {
	owner Device // first device that opened it
	bus   *RTUTransport
}

// OpenAll opens every device in devs (already validated), sharing one RTU
// bus per serial port and one chip per GPIO chip. A device that cannot be
// opened is left out and reported in the joined error (one
// *ConfigError each, naming the device and key); the others are opened.
func OpenAll(devs []Device, env Env) (*Set, error) {
	if env.Log == nil {
		env.Log = slog.New(slog.DiscardHandler)
	}
	s := &Set{Drivers: map[string]Driver{}, buses: map[string]*sharedPort{}, chips: map[string]Chip{}}
	var errs []error
	for _, d := range devs {
		drv, key, err := s.open(d, env)
		if err != nil {
			var ce *ConfigError
			if !errors.As(err, &ce) {
				err = &ConfigError{Device: d.Name, Key: key, Err: err}
			}
			errs = append(errs, err)
			continue
		}
		s.Drivers[d.Name] = drv
	}
	return s, errors.Join(errs...)
}

func (s *Set) open(d Device, env Env) (Driver, string, error) {
	switch d.Driver {
	case DriverModbusRTU:
		bus, err := s.bus(d, env)
		if err != nil {
			return nil, "port", err
		}
		return NewModbusRTU(d, bus, env.Log), "", nil
	case DriverModbusTCP:
		return NewModbusTCP(d, env.Dialer, env.Log), "", nil
	case DriverGPIOOutput:
		chip := s.chips[d.Port]
		if chip == nil {
			open := env.OpenChip
			if open == nil {
				open = OpenChip
			}
			c, err := open(d.Port)
			if err != nil {
				return nil, "port", err
			}
			chip = c
			s.chips[d.Port] = c
		}
		g, err := NewGPIOOutput(d, chip)
		if err != nil {
			return nil, "points", err
		}
		return g, "", nil
	case DriverDLT698:
		if env.DLT698 == nil {
			return nil, "driver", errors.New("no DL/T 698.45 client wired into this build")
		}
		c, err := env.DLT698(d)
		if err != nil {
			return nil, "port", err
		}
		drv, err := NewDLT698(d, c)
		return drv, "", err
	case DriverHPLC:
		if env.HPLC == nil {
			return nil, "driver", errors.New("no HPLC client wired into this build")
		}
		c, err := env.HPLC(d)
		if err != nil {
			return nil, "port", err
		}
		drv, err := NewHPLC(d, c)
		return drv, "", err
	}
	return nil, "driver", fmt.Errorf("unknown driver %q (want %s)", d.Driver, joinNames(driverNames))
}

// bus returns the RTU bus on d's port, opening it for the first device.
func (s *Set) bus(d Device, env Env) (*RTUTransport, error) {
	if sp := s.buses[d.Port]; sp != nil {
		o := sp.owner
		if o.Baud != d.Baud || o.DataBits != d.DataBits || !strings.EqualFold(o.Parity, d.Parity) || o.StopBits != d.StopBits {
			return nil, fmt.Errorf("port %s already open at %d %d%s%d for device %q", d.Port, o.Baud, o.DataBits, o.Parity, o.StopBits, o.Name)
		}
		return sp.bus, nil
	}
	open := env.OpenSerial
	if open == nil {
		open = OpenSerial
	}
	bus, err := openRTUBus(d, open)
	if err != nil {
		return nil, err
	}
	s.buses[d.Port] = &sharedPort{owner: d, bus: bus}
	return bus, nil
}

// Close closes every driver, bus and chip.
func (s *Set) Close() error {
	var errs []error
	for _, d := range s.Drivers {
		errs = append(errs, d.Close())
	}
	for _, b := range s.buses {
		errs = append(errs, b.bus.Close())
	}
	for _, c := range s.chips {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// Close on a Modbus RTU device leaves the shared bus open; Set.Close
// closes it. Compile-time checks that the drivers satisfy Driver:
var (
	_ Driver = (*Modbus)(nil)
	_ Driver = (*GPIOOutput)(nil)
	_ Driver = (*DLT698)(nil)
	_ Driver = (*HPLC)(nil)
)
