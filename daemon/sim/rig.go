// Package sim is holdup's simulated terminal: the rig (every part of the
// hardware replaced by a simulator that keeps the real part's rules), the
// sim-control protocol that `holdup run -sim-control` speaks on its
// standard input and output, the scripted outage scenario `make sim` runs
// against daemon children, and the journal power-cut demo.
//
// Production code never imports this package: the daemon takes the rig's
// Hardware like any other.
package sim

// The simulated hardware `holdup sim` (and `holdup run` on a config with
// [sim] enabled) runs the daemon on: the same assembly as on a terminal,
// with every part replaced by a simulator that keeps the real part's
// rules — a power-fail line with the kernel's edge semantics, DL/T 698.45
// units on pseudo-terminals, an HPLC module that reboots, Modbus slaves
// on pseudo-terminals, GPIO chips, an EEPROM backed by an image file that
// survives a killed process, and a master station on loopback.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"holdup/config"
	"holdup/daemon"
	"holdup/devices"
	"holdup/eeprom"
	"holdup/hplc"
	"holdup/power"
	"holdup/proto698"
)

// RigOptions adjust the rig.
type RigOptions struct {
	// Master is a master station to report to; empty starts one on
	// loopback inside the rig.
	Master string
	// Site lets the measured quantities move with time (the inverter's
	// output swings, the meters' energy grows); without it they hold their
	// starting values, which tests compare against.
	Site bool
	// MainsLost starts the rig with the mains absent: the phase voltages
	// down and the power-fail line asserted, as a holdup started during an
	// outage (an operator's restart) finds them.
	MainsLost bool
	// SupercapV is the simulated supercap's voltage at the start
	// ([power.supercap]): 0 charged to full_v, negative empty (0 V).
	SupercapV float64
}

// rig is the simulated hardware of one daemon process.
type Rig struct {
	cfg    *config.Config
	log    *slog.Logger
	cancel context.CancelFunc
	wg     sync.WaitGroup

	ports  map[string]string // configured serial port → pty
	acs    []*proto698.ACSim // every simulated 698 unit (they see the mains)
	hsim   *hplc.Sim
	hpty   *hplc.SimPTY
	chips  map[string]*devices.SimChip
	slaves map[string]*devices.SimSlave
	master *proto698.MasterSim

	site      site
	mainsLost atomic.Bool

	mu   sync.Mutex
	line *power.SimLine

	supercap *SimSupercap // [power.supercap] simulated; nil without one (supercap.go)
}

// NewRig starts the simulators the configuration names and points the
// configuration's uplink at the simulated master station.
func NewRig(ctx context.Context, cfg *config.Config, opts RigOptions, log *slog.Logger) (_ *Rig, err error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(ctx)
	// r is a local, not the named result: a failing return sets the
	// result to nil, and the goroutines started below read r.
	r := &Rig{cfg: cfg, log: log.With("part", "rig"), cancel: cancel, ports: map[string]string{},
		chips: map[string]*devices.SimChip{}, slaves: map[string]*devices.SimSlave{}}
	defer func() {
		if err != nil {
			r.Close()
		}
	}()
	nominal := cfg.Power.NominalV
	if nominal == 0 {
		nominal = 220
	}
	unit698 := func(port, address string, baud int) error {
		if _, ok := r.ports[port]; ok {
			return nil
		}
		addr, err := proto698.ParseAddress(proto698.AddrSingle, address)
		if err != nil {
			return fmt.Errorf("sim: 698 unit on %s: address %q: %w", port, address, err)
		}
		s, err := proto698.NewACSim(proto698.ACSimConfig{Addr: addr, Baud: baud, Voltages: [3]float64{nominal, nominal, nominal},
			LostMode: proto698.LostZero, ResidualVolts: 1.5}, r.log.With("sim", port))
		if err != nil {
			return fmt.Errorf("sim: 698 unit on %s: %w", port, err)
		}
		r.ports[port] = s.Path()
		r.acs = append(r.acs, s)
		r.goRun(ctx, s.Run)
		return nil
	}
	if err := unit698(cfg.ACSampling.Port, cfg.ACSampling.Address, cfg.ACSampling.Baud); err != nil {
		return nil, err
	}
	for _, d := range cfg.Devices {
		if !d.Enabled {
			continue
		}
		switch d.Driver {
		case devices.DriverDLT698:
			if err := unit698(d.Port, d.Address, d.Baud); err != nil {
				return nil, err
			}
		case devices.DriverModbusRTU:
			if _, ok := r.ports[d.Port]; ok {
				r.log.Warn("one simulated slave per port: device not simulated", "device", d.Name, "port", d.Port)
				continue
			}
			unit := d.Unit
			if unit == 0 {
				unit = 1
			}
			s := devices.NewSimSlave(byte(unit), 256, d.Baud)
			path, wait, err := devices.ServePTY(ctx, s)
			if err != nil {
				return nil, fmt.Errorf("sim: modbus slave for %q: %w", d.Name, err)
			}
			r.ports[d.Port] = path
			r.slaves[d.Name] = s
			r.site.inverters = append(r.site.inverters, siteInverter{slave: s, points: d.Points})
			r.wg.Add(1)
			go func() { defer r.wg.Done(); _ = wait() }()
		case devices.DriverGPIOOutput:
			if r.chips[d.Port] == nil {
				r.chips[d.Port] = devices.NewSimChip(d.Port, 64)
			}
		}
	}
	if h := cfg.HPLC; h != nil {
		pty, err := hplc.OpenSimPTY()
		if err != nil {
			return nil, fmt.Errorf("sim: HPLC module pty: %w", err)
		}
		r.hpty = pty
		// The module was in service before: its parameter area holds the
		// master address and the meters (Reinit restores them after a
		// parameter-area init).
		meters := map[hplc.Addr]hplc.SimMeter{}
		var nodes []hplc.Node
		for _, d := range cfg.Devices {
			if d.Driver == devices.DriverHPLC && d.Enabled {
				a, err := hplc.ParseAddr(d.Address)
				if err != nil {
					return nil, fmt.Errorf("sim: meter %q: %w", d.Name, err)
				}
				meters[a] = hplc.SimMeter{Voltage: [3]float64{nominal, nominal, nominal}, Current: [3]float64{1.5, 1.5, 1.5}, ForwardEnergy: siteHPLCKWh}
				r.site.meters = append(r.site.meters, a)
				nodes = append(nodes, hplc.Node{Addr: a, Protocol: hplc.ProtoDLT645_2007})
			}
		}
		var masterAddr hplc.Addr
		if cfg.Uplink != nil {
			masterAddr, _ = hplc.ParseAddr(cfg.Uplink.TerminalAddress)
		}
		// A real module takes seconds to reboot; the sim keeps the rule
		// (silent while rebooting) on a shorter time so a scenario fits
		// in a minute.
		r.hsim = hplc.NewSim(pty.Master, hplc.SimConfig{RebootTime: 300 * time.Millisecond, MeterDelay: 20 * time.Millisecond,
			Master: masterAddr, Nodes: nodes, Meters: meters},
			r.log.With("sim", "hplc"))
		r.ports[h.Port] = pty.Path
		r.goRun(ctx, r.hsim.Run)
	}
	r.site.acs, r.site.hsim, r.site.lost, r.site.kwh698, r.site.start = r.acs, r.hsim, &r.mainsLost, site698KWh, time.Now()
	r.site.set(r.site.powerAt(0))
	if sc := cfg.Power.Supercap; sc != nil {
		r.supercap = newRigSupercap(sc, opts.SupercapV)
	}
	if opts.MainsLost {
		r.mainsLost.Store(true)
		for _, s := range r.acs {
			s.SetMainsLost(true)
		}
		if r.supercap != nil {
			r.supercap.SetMains(false)
		}
	}
	if opts.Site {
		r.goRun(ctx, r.site.run)
	}
	if cfg.Uplink != nil {
		if opts.Master != "" {
			cfg.Uplink.Master = opts.Master
		} else {
			m, err := proto698.NewMasterSim("127.0.0.1:0", time.Local, r.log.With("sim", "master"))
			if err != nil {
				return nil, fmt.Errorf("sim: master station: %w", err)
			}
			r.master = m
			cfg.Uplink.Master = m.Addr()
			sec, err := masterSecurity(cfg.Uplink.Security)
			if err != nil {
				return nil, err
			}
			r.goRun(ctx, m.Run)
			m.Secure(sec) // its requests plaintext+MAC under the configured key
			r.wg.Add(1)
			go func() { defer r.wg.Done(); drainMaster(ctx, m) }()
		}
	}
	return r, nil
}

// drainMaster keeps the master's event channel flowing when nobody reads it.
func drainMaster(ctx context.Context, m *proto698.MasterSim) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-m.Events():
		}
	}
}

func (r *Rig) goRun(ctx context.Context, run func(context.Context) error) {
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		if err := run(ctx); err != nil && ctx.Err() == nil {
			r.log.Error("simulator stopped", "err", err)
		}
	}()
}

// close stops every simulator and waits for them.
func (r *Rig) Close() {
	r.cancel()
	r.wg.Wait()
	if r.hpty != nil {
		_ = r.hpty.Close()
	}
}

// setMains cuts or restores the simulated mains: the phase voltages fall
// (or rise) first, then the supervisor's power-fail output follows, as on
// a terminal.
func (r *Rig) SetMains(present bool) error {
	r.mu.Lock()
	line := r.line
	r.mu.Unlock()
	r.mainsLost.Store(!present)
	if r.supercap != nil {
		r.supercap.SetMains(present)
	}
	for _, s := range r.acs {
		s.SetMainsLost(!present)
	}
	if r.cfg.Sim.RealPowerLine {
		// The real line is driven from outside (the board, or the guest
		// harness's host); only the simulated phase voltages follow.
		return nil
	}
	if line == nil {
		return errors.New("sim: power-fail line not open")
	}
	if present {
		return line.Restore()
	}
	return line.Fail()
}

// faultNames are the sim-control names of the Modbus slave's faults.
var faultNames = map[string]devices.Fault{"crc": devices.FaultBadCRC, "truncate": devices.FaultTruncate,
	"extra": devices.FaultExtraByte, "silent": devices.FaultSilent}

// Fault makes the simulated Modbus slave behind device give its next n
// answers with the named fault (crc, truncate, extra, silent): the line
// noise the error-rate watch is there for.
func (r *Rig) Fault(device, fault string, n int) error {
	f, ok := faultNames[fault]
	if !ok {
		return fmt.Errorf("sim: fault %q: want crc, truncate, extra or silent", fault)
	}
	s := r.slaves[device]
	if s == nil {
		return fmt.Errorf("sim: no simulated Modbus slave for device %q", device)
	}
	if n < 1 || n > 100 {
		return fmt.Errorf("sim: fault count %d: want 1 to 100", n)
	}
	fs := make([]devices.Fault, n)
	for i := range fs {
		fs[i] = f
	}
	s.Inject(fs...)
	return nil
}

// Hardware returns the daemon's view of the simulated parts.
func (r *Rig) Hardware() *daemon.Hardware {
	real := daemon.RealHardware()
	hw := &daemon.Hardware{
		Name:  "simulated",
		Mains: r,
		OpenLine: func(cfg config.Power, h power.EdgeHandler, _ *slog.Logger) (power.Line, error) {
			initial := 0 // active high: low means mains present
			if cfg.FailLine.ActiveLow {
				initial = 1
			}
			if r.mainsLost.Load() {
				initial ^= 1 // asserted: the supervisor reports the loss
			}
			l, err := power.NewSimLine(power.SimLineConfig{ActiveHigh: !cfg.FailLine.ActiveLow, Debounce: cfg.Debounce, Initial: initial}, nil, h)
			if err != nil {
				return nil, err
			}
			r.mu.Lock()
			r.line = l
			r.mu.Unlock()
			return l, nil
		},
		OpenEEPROM: func(cfg config.EEPROM) (eeprom.Bus, func() error, error) {
			if r.cfg.Sim.EEPROMImage == "" {
				return nil, nil, errors.New("sim.eeprom_image is not set")
			}
			s, err := eeprom.OpenSimImage(r.cfg.Sim.EEPROMImage, eeprom.SimConfig{Part: cfg.Part, Addr: uint16(cfg.Address), BusHz: 400_000})
			if err != nil {
				return nil, nil, err
			}
			return s, s.Close, nil
		},
		// Every serial port the configuration names leads to the
		// simulator behind it, on a pseudo-terminal opened the way a
		// terminal opens its port, with the configured line settings.
		OpenSerial: func(c devices.SerialConfig) (devices.SerialPort, error) {
			p, ok := r.ports[c.Path]
			if !ok {
				return nil, fmt.Errorf("%w: no simulated device behind %s", devices.ErrLinkDown, c.Path)
			}
			c.Path = p
			return devices.OpenSerial(c)
		},
		OpenHPLCReset: func(config.HPLC) (hplc.ResetLine, func() error, error) {
			if r.hsim == nil {
				return nil, nil, errors.New("no simulated HPLC module")
			}
			return r.hsim.ResetLine(), nil, nil
		},
		OpenChip: func(name string) (devices.Chip, error) {
			if c := r.chips[name]; c != nil {
				return c, nil
			}
			return nil, fmt.Errorf("no simulated GPIO chip %s", name)
		},
		Stat: func(path string) error {
			if _, ok := r.ports[path]; ok {
				return nil
			}
			for name := range r.chips {
				if devices.ChipPath(name) == path {
					return nil
				}
			}
			return fmt.Errorf("no simulated device %s", path)
		},
	}
	if c := r.supercap; c != nil {
		hw.Supercap = func(config.Power) (power.SupercapReader, error) { return c.Read, nil }
	}
	if r.cfg.Sim.RealPowerLine {
		hw.OpenLine = real.OpenLine
		hw.Name += ", real power-fail line"
	}
	if r.cfg.Sim.RealEEPROM {
		hw.OpenEEPROM = real.OpenEEPROM
		hw.Name += ", real EEPROM"
	}
	return hw
}
