// Package daemon is holdup's assembly: it builds every part from a
// *config.Config and a Hardware description (how each physical part is
// reached: the real terminal's, or a simulator's), runs them as goroutines
// connected by channels and small interfaces, and exposes to the console and
// the simulator what they need through a few methods.
//
// The rules live in the parts: the outage lifecycle in power, IO ordering
// and gating in sched, the journal and exactly-once replay in store, the
// protocols in proto698, hplc and devices. This package only maps each
// part's interfaces onto the part that does the work (adapters.go), and the
// master station's reads and writes onto the scheduler (northbound.go).
// Beside them: the terminal's own objects the master reads and sets
// (terminal.go: 4000 date-time, 4001 address, 3106; clock.go the clock a
// time setting steps), the master's authentication from the configuration
// (uplinksec.go: TLS, the MAC key) and its SET rate (ratelimit.go), alarms
// as event reports to the master, stored until confirmed, every security
// refusal among them (alarmreport.go), the journal's admission near full
// (admission.go), the end of the hold-up window and the start-up charge
// wait (shutdown.go), the other apps' events (hooks.go) and the history
// forwarding (forward.go).
//
// It never imports the simulator (daemon/sim); the simulator builds a
// Hardware of its own and hands it to New.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"holdup/config"
	"holdup/console"
	"holdup/devices"
	"holdup/eeprom"
	"holdup/hplc"
	"holdup/power"
	"holdup/proto698"
	"holdup/ratelog"
	"holdup/sched"
	"holdup/sdnotify"
	"holdup/store"
)

// Alarm codes of the parts the daemon assembles (the power package names
// its own).
const (
	alarmDevices power.AlarmCode = "devices"
	alarmHPLC    power.AlarmCode = "hplc"
	// alarmDataStoreDamaged: the data store file failed its check at
	// start and was moved aside for a fresh one.
	alarmDataStoreDamaged power.AlarmCode = "data-store-damaged"
	alarmConsole          power.AlarmCode = "console"
)

// MainsSwitch cuts and restores simulated mains (the console's `mains`
// command); only simulated hardware has one.
type MainsSwitch interface {
	SetMains(present bool) error
}

// Hardware says how the daemon reaches each part: the real terminal's
// devices (RealHardware) or a simulator's (daemon/sim).
type Hardware struct {
	// Name describes the hardware in the start-up log.
	Name string
	// OpenLine requests the power-fail line with h as its edge handler.
	OpenLine func(cfg config.Power, h power.EdgeHandler, log *slog.Logger) (power.Line, error)
	// OpenEEPROM opens the I2C bus the journal's EEPROM is on.
	OpenEEPROM func(cfg config.EEPROM) (eeprom.Bus, func() error, error)
	// OpenSerial opens every serial port the daemon uses: field buses,
	// DL/T 698.45 units, the HPLC module (the console is the operator's
	// port and always opened with devices.OpenSerial).
	OpenSerial func(c devices.SerialConfig) (devices.SerialPort, error)
	// OpenHPLCReset requests the HPLC module's reset line (nil, nil when
	// none is configured); the closer releases it.
	OpenHPLCReset func(cfg config.HPLC) (hplc.ResetLine, func() error, error)
	// OpenChip opens a GPIO chip for gpio-output devices.
	OpenChip func(name string) (devices.Chip, error)
	// Stat checks that a device's port exists (nil: no check).
	Stat devices.StatPort
	// Supercap reads the hold-up capacitor; nil when not measured.
	Supercap func(cfg config.Power) (power.SupercapReader, error)
	// BootID reads the kernel's boot id (ReadBootID on a terminal): the
	// power monitor journals it with each outage-begin record and, at
	// start-up with an outage open, tells a restart of holdup (same boot:
	// the outage continues, warm) from a reboot (cold). Nil: unknown.
	BootID func() (string, error)
	// Mains is the simulated mains switch; nil on a terminal.
	Mains MainsSwitch
	// Clock is the clock the master station reads and, with
	// uplink.set_clock, sets (4000); nil: the system clock on a terminal,
	// a SimClock for a [sim] configuration.
	Clock Clock
}

// JournalEvent is one record the EEPROM journal acknowledged (durable).
type JournalEvent struct {
	JournalID string
	Seq       uint64
	Record    store.Record
}

// Options are what the caller adds to the configuration.
type Options struct {
	// Version is logged at start-up.
	Version string
	// Log receives the logs (tee'd into the console's ring); nil discards.
	Log io.Writer
	// Console overrides console.port: "stdio", "none" or a device.
	Console string
	// ObserveJournal is told of every acknowledged journal append.
	ObserveJournal func(JournalEvent)
	// ObserveOutage is told of every completion log.
	ObserveOutage func(power.OutageRecord)
	// OnReady runs once start-up (and a cold replay) is done.
	OnReady func()
}

// Daemon is the assembled holdup.
type Daemon struct {
	cfg  *config.Config
	hw   *Hardware
	opts Options
	log  *slog.Logger
	ring *console.LogRing

	jrnl   *store.Journal
	ja     *journal
	dsMu   sync.RWMutex
	ds     *store.DataStore // nil while unavailable; under dsMu (see store())
	set    *devices.Set
	devs   []devices.Device // opened, in configuration order
	sched  *sched.Scheduler
	ac     *proto698.ACClient
	up     *proto698.Uplink
	nb     *northbound // the uplink's GET/SET server, filled by buildDevices
	mod    *hplc.Module
	mon    *power.Monitor
	line   power.Line
	ifaces interfaces
	reopen chan struct{}

	replayIO *sched.IOThread // the data store's replay thread (nil without a data store)
	fwd      *forwarder      // the outage history to the master (nil without data store or uplink)
	hooks    *hookFeed       // the terminal's other apps told of power events (nil without [hooks]; hooks.go)
	alarmRep *alarmReporter  // alarms to the master station as event reports (alarmreport.go)

	alarms *alarmList
	// degraded lists the parts the daemon runs without (problem), for
	// statusLine.
	degradedMu sync.Mutex
	degraded   []power.AlarmCode
	notify     *sdnotify.Notifier // nil outside systemd; set by Run
	invalid    atomic.Bool
	started    time.Time

	closers []func() error // run in reverse order after Run

	// The end of the hold-up window and the start-up charge wait
	// (shutdown.go): what holds collection back, under holdMu.
	holdMu       sync.Mutex
	holds        int
	chargeStatus string
	supercap     power.SupercapReader // nil when not measured
}

// New builds every part. A part the terminal cannot do without (the
// EEPROM journal, the scheduler) fails the start; a part it can protect
// without (the power-fail line, the data store, a device, the AC-sampling
// unit, the uplink) is reported, raised as an alarm, and left out.
func New(cfg *config.Config, hw *Hardware, opts Options) (d *Daemon, err error) {
	ring := console.NewLogRing(500)
	w := io.Writer(ring)
	if opts.Log != nil {
		w = io.MultiWriter(opts.Log, ring)
	}
	log, err := config.NewLogger(cfg.Log, w)
	if err != nil {
		return nil, fmt.Errorf("daemon: %w", err)
	}
	// Per-source log rate limiting: a flooding peer costs a few lines a
	// minute and cannot push other parts' alarms out of the log ring.
	log = slog.New(ratelog.New(log.Handler(), ratelog.Options{}))
	built := &Daemon{cfg: cfg, hw: hw, opts: opts, log: log, ring: ring, alarms: newAlarmList(32),
		reopen: make(chan struct{}, 1), started: time.Now()}
	d = built
	defer func() {
		if err != nil {
			built.close() // what was opened before the failure
		}
	}()
	log.Info("holdup starting", "version", opts.Version, "config", cfg.File, "hardware", hw.Name)
	built.buildHooks()
	built.buildAlarmReport()

	// The EEPROM journal: without it nothing can be protected.
	part := cfg.EEPROM.Part
	bus, closeBus, err := hw.OpenEEPROM(cfg.EEPROM)
	if err != nil {
		return nil, fmt.Errorf("daemon: EEPROM bus %s (config %s:%d): %w", cfg.EEPROM.Bus, cfg.File, cfg.Line("eeprom.bus"), err)
	}
	d.closers = append(d.closers, closeBus)
	chip, err := eeprom.NewChip(bus, part, uint16(cfg.EEPROM.Address))
	if err != nil {
		return nil, fmt.Errorf("daemon: EEPROM %s at 0x%02X: %w", part.Name, cfg.EEPROM.Address, err)
	}
	jlog := log.With("part", "journal")
	j, err := store.Open(chip, store.Options{Logger: jlog, VerifyWrites: cfg.Store.VerifyWrites,
		WriterThread: func() { sched.ApplyThreadNice(sched.ControlNice, "EEPROM journal writer", jlog) }})
	if err != nil {
		return nil, fmt.Errorf("daemon: journal on %s: %w", part.Name, err)
	}
	d.jrnl = j
	d.closers = append(d.closers, j.Close)
	d.ja = newJournal(j, opts.ObserveJournal)
	d.ja.admit = &admissionWatch{raise: d.alarms.Raise, log: jlog}
	if lost := j.LostRanges(); len(lost) > 0 {
		// Records the chip lost (a damaged page): never silently.
		n, ranges := uint64(0), make([]string, len(lost))
		for i, r := range lost {
			n, ranges[i] = n+r.Count(), r.String()
		}
		d.warn(power.AlarmJournal, fmt.Errorf("daemon: journal on %s: %d journaled record(s) lost to damage: %s",
			part.Name, n, strings.Join(ranges, "; ")))
	}

	// The data store: unreadable means no replay, but the journal keeps
	// protecting (nothing is consumed until the data store takes it).
	_, statErr := os.Stat(cfg.Store.Path)
	ds, damaged, err := store.OpenOrRecoverDataStore(cfg.Store.Path, time.Now())
	if errors.Is(statErr, fs.ErrNotExist) && err == nil {
		// A missing file is created; but if the journal was ever replayed
		// into a data store, that store's history is gone: say so.
		if st, serr := j.Stats(context.Background()); serr == nil && st.Consumed > 0 {
			d.warn(alarmDataStoreDamaged, fmt.Errorf("daemon: data store (store.path, %s:%d) %s is missing although the journal was replayed into one (up to sequence %d): its history is gone; a fresh one started",
				cfg.File, cfg.Line("store.path"), cfg.Store.Path, st.Consumed))
		}
	}
	if damaged != nil {
		// Kept for forensics; the fresh store takes the journal's records
		// from now on (nothing in the EEPROM is consumed before that).
		d.warn(alarmDataStoreDamaged, fmt.Errorf("daemon: data store (store.path, %s:%d) was damaged: %s; moved aside to %s, a fresh one started (its history and undelivered outage records are in the moved file)",
			cfg.File, cfg.Line("store.path"), damaged.Reason, damaged.MovedTo))
	}
	if err != nil {
		d.problem(power.AlarmReplay, fmt.Errorf("daemon: data store (store.path, %s:%d): %w; journaled records stay in the EEPROM until it opens (retried with back-off)",
			cfg.File, cfg.Line("store.path"), err))
	} else {
		d.setStore(ds)
	}

	if err := d.buildUplink(); err != nil {
		d.problem(power.AlarmUplink, err)
	}
	if err := d.buildHPLC(); err != nil {
		d.problem(alarmHPLC, err)
	}
	if err := d.buildDevices(); err != nil {
		return nil, err
	}
	if err := d.buildVoltmeter(); err != nil {
		d.problem(power.AlarmVoltmeterUnreachable, err)
	}
	if err := d.buildMonitor(); err != nil {
		return nil, err
	}
	d.fwd = d.newForwarder()
	line, err := hw.OpenLine(cfg.Power, d.mon.Edge, log)
	if err != nil {
		d.problem(power.AlarmLine, fmt.Errorf("daemon: power-fail line (power.fail_line, %s:%d): %w; running without loss detection (journal, replay and devices keep working)",
			cfg.File, cfg.Line("power.fail_line.chip"), err))
		line = deadLine{}
	} else {
		d.closers = append(d.closers, line.Close)
	}
	d.line = line
	return d, nil
}

// warn raises an alarm about something found at start that the daemon
// copes with (records lost to journal damage, a damaged data store
// replaced): every part still runs, so the status line stays as it is.
func (d *Daemon) warn(code power.AlarmCode, err error) {
	d.log.Error("start-up problem", "alarm", code, "err", err)
	d.alarms.Raise(power.Alarm{Code: code, Err: err, At: time.Now()})
}

// problem reports a part the daemon runs without (warn, and the status
// line says DEGRADED until recovered takes it off).
func (d *Daemon) problem(code power.AlarmCode, err error) {
	d.warn(code, err)
	d.degradedMu.Lock()
	if !slices.Contains(d.degraded, code) {
		d.degraded = append(d.degraded, code)
	}
	d.degradedMu.Unlock()
}

// recovered takes code off the degraded list (the part came up later)
// and tells systemd.
func (d *Daemon) recovered(code power.AlarmCode) {
	d.degradedMu.Lock()
	d.degraded = slices.DeleteFunc(d.degraded, func(c power.AlarmCode) bool { return c == code })
	d.degradedMu.Unlock()
	if d.notify != nil {
		_ = d.notify.Status(d.statusLine())
	}
}

// statusLine is the one-line state systemd shows (STATUS=) and the console
// prints on connecting: protecting, and loudly which parts it runs
// without (their alarms say why).
func (d *Daemon) statusLine() string {
	line := d.partsLine()
	if s := d.startStatus(); s != "" {
		line += "; start-up: " + s
	}
	return line
}

// partsLine is statusLine's first half: every part up, or which are not.
func (d *Daemon) partsLine() string {
	d.degradedMu.Lock()
	defer d.degradedMu.Unlock()
	if len(d.degraded) == 0 {
		return "protecting: every configured part up"
	}
	codes := make([]string, len(d.degraded))
	for i, c := range d.degraded {
		codes[i] = string(c)
	}
	return "DEGRADED: protecting without " + strings.Join(codes, ", ") + " (see the alarms)"
}

func (d *Daemon) buildUplink() error {
	u := d.cfg.Uplink
	if u == nil {
		return nil
	}
	addr, err := proto698.ParseAddress(proto698.AddrSingle, u.TerminalAddress)
	if err != nil {
		return fmt.Errorf("daemon: uplink.terminal_address (%s:%d): %w", d.cfg.File, d.cfg.Line("uplink.terminal_address"), err)
	}
	d.nb = &northbound{points: map[uint32]nbPoint{}, invalid: &d.invalid, log: d.log.With("part", "northbound"), now: make(chan struct{}, 1)}
	d.nb.limit = newControlLimit(u.ControlRate, u.ControlBurst, time.Now, d.nb.log)
	sec, err := uplinkSecurity(u.Security, d.log.With("part", "uplink"))
	if err != nil {
		if u.Security.TLS != nil && sec.TLS == nil {
			return err // never fall back to plain TCP
		}
		d.problem(power.AlarmUplink, fmt.Errorf("%w; the master cannot write, reads and reports go on", err))
	}
	sec.OnRefused = newSecurityAlarms(d.alarms.Raise, d.alarmRep.raise).refused
	up, err := proto698.NewUplink(proto698.UplinkConfig{
		Master: u.Master, Addr: addr, Heartbeat: u.Heartbeat, ResponseTimeout: u.ResponseTimeout,
		MissedHeartbeats: u.MissedHeartbeats, RetryMin: u.RetryMin, RetryMax: u.RetryMax,
		Server: d.guardWrites(d.newTerminal(addr)), Security: sec, OnEventConfirm: d.alarmRep.confirmed,
	}, d.log.With("part", "uplink"))
	if err != nil {
		return fmt.Errorf("daemon: uplink: %w", err)
	}
	d.up = up
	return nil
}

// exposePoints gives the uplink's server the opened points the
// configuration names an uplink_oad for (the uplink starts after this).
func (d *Daemon) exposePoints() {
	if d.nb == nil {
		return
	}
	d.nb.sched = d.sched
	for _, dev := range d.devs {
		for _, p := range dev.Points {
			if p.UplinkOAD != 0 {
				d.nb.points[p.UplinkOAD] = nbPoint{drv: d.set.Drivers[dev.Name], p: p}
			}
		}
	}
	d.log.Info("points exposed to the master station", "count", len(d.nb.points))
}

func (d *Daemon) buildHPLC() error {
	h := d.cfg.HPLC
	if h == nil {
		return nil
	}
	master := "000000000001"
	if d.cfg.Uplink != nil {
		master = d.cfg.Uplink.TerminalAddress
	}
	maddr, err := hplc.ParseAddr(master)
	if err != nil {
		return fmt.Errorf("daemon: hplc master address %q: %w", master, err)
	}
	var nodes []hplc.Node
	for _, dev := range d.cfg.Devices {
		if dev.Driver == devices.DriverHPLC && dev.Enabled {
			a, err := hplc.ParseAddr(dev.Address)
			if err != nil {
				return fmt.Errorf("daemon: device %q address: %w", dev.Name, err)
			}
			nodes = append(nodes, hplc.Node{Addr: a, Protocol: hplc.ProtoDLT645_2007})
		}
	}
	port, err := d.hw.OpenSerial(h.SerialConfig())
	if err != nil {
		return fmt.Errorf("daemon: HPLC module on %s (hplc.port, %s:%d): %w", h.Port, d.cfg.File, d.cfg.Line("hplc.port"), err)
	}
	reset, closeReset, err := d.hw.OpenHPLCReset(*h)
	if err != nil {
		_ = port.Close()
		return fmt.Errorf("daemon: HPLC module reset line (hplc.reset_line, %s:%d): %w", d.cfg.File, d.cfg.Line("hplc.reset_line.chip"), err)
	}
	// The module never closes the port it is handed: the closers run
	// after Run has waited for the module to stop.
	d.closers = append(d.closers, port.Close)
	if closeReset != nil {
		d.closers = append(d.closers, closeReset)
	}
	d.mod = hplc.NewModule(port, hplc.Config{
		Master: maddr, Nodes: nodes, ReplyTimeout: h.ReplyTimeout, Retries: h.Retries,
		ResetPulse: h.ResetPulse, BootTimeout: h.BootTimeout, Reset: reset,
	}, d.log.With("part", "hplc"))
	return nil
}

func (d *Daemon) buildDevices() error {
	var want []devices.Device
	for _, c := range d.cfg.Devices {
		if !c.Enabled {
			d.log.Info("device disabled in the configuration", "device", c.Name)
			continue
		}
		want = append(want, c)
	}
	valid, verr := devices.Validate(want, d.hw.Stat)
	env := devices.Env{OpenSerial: d.hw.OpenSerial, OpenChip: d.hw.OpenChip}
	env.Log = d.log.With("part", "devices")
	// DL/T 698.45 meters on one RS-485 bus share its port: opened once, one
	// client per meter address on it (the bus runs one exchange at a time,
	// and each exchange drops stale input first).
	buses698 := map[string]*devices.DLT698Bus{}
	env.DLT698 = func(dev devices.Device) (devices.DLT698Client, error) {
		bus, ok := buses698[dev.Port]
		if !ok {
			sc := dev.SerialConfig()
			var err error
			bus, err = devices.NewDLT698Bus(dev.Port, func() (devices.DLT698Port, error) { return d.hw.OpenSerial(sc) })
			if err != nil {
				return nil, err
			}
			buses698[dev.Port] = bus
			d.closers = append(d.closers, bus.Close)
		}
		addr, err := proto698.ParseAddress(proto698.AddrSingle, dev.Address)
		if err != nil {
			return nil, err
		}
		ac := proto698.NewACClient(bus, proto698.ACClientConfig{Addr: addr, Timeout: dev.Timeout, ByteTimeout: byteTimeout(dev.ByteTimeout, dev.SerialConfig())}, d.log.With("device", dev.Name))
		return devices.NewDLT698Client(ac, bus), nil
	}
	env.HPLC = func(dev devices.Device) (devices.HPLCClient, error) {
		if d.mod == nil {
			return nil, errors.New("no [hplc] module available")
		}
		pw, op, err := dev.MeterCredentials()
		if err != nil {
			return nil, fmt.Errorf("device %q password: %w", dev.Name, err)
		}
		return devices.NewHPLCMeterClient(d.mod, pw, op), nil
	}
	set, oerr := devices.OpenAll(valid, env)
	if err := errors.Join(verr, oerr); err != nil {
		// One bad device does not stop the others.
		d.problem(alarmDevices, fmt.Errorf("daemon: devices: %w", err))
	}
	d.set = set
	d.closers = append(d.closers, set.Close)

	var sdevs []sched.Device
	reinit := map[string]func(context.Context) error{}
	for _, dev := range valid {
		drv := set.Drivers[dev.Name]
		if drv == nil {
			continue
		}
		d.devs = append(d.devs, dev)
		iface := devices.InterfaceOf(dev)
		ctl := slices.ContainsFunc(dev.Points, func(p devices.Point) bool { return p.Class == devices.ClassControl })
		sdevs = append(sdevs, sched.Device{Name: dev.Name, Interface: iface, MainsOnly: dev.MainsOnly, DrawMW: dev.DrawMW, Control: ctl})
		if _, ok := reinit[iface]; !ok {
			reinit[iface] = drv.Reinit // one per interface: a shared bus is re-opened once
		}
	}
	s, err := sched.New(sched.Config{
		Devices: sdevs, DrawThresholdMW: d.cfg.Sched.DrawThresholdMW, OutageCollectInterval: d.cfg.Sched.OutageCollectInterval,
		ErrorWindow: d.cfg.Sched.ErrorWindow, ErrorThreshold: d.cfg.Sched.ErrorThreshold,
		SilentBackoff: d.cfg.Sched.SilentBackoff, SilentBackoffMax: d.cfg.Sched.SilentBackoffMax,
		QueueLen: d.cfg.Sched.QueueLen, JournalQueue: d.cfg.Sched.JournalQueue,
		Journal: d.ja,
		OnAlarm: func(a sched.Alarm) {
			d.alarms.Raise(power.Alarm{Code: power.AlarmCode("io-" + a.Reason.String()), Err: ioAlarmError{a}, At: a.Time})
			// The error-rate watch closing a path during an outage is the
			// method's step 1-4 (the monitor knows whether IO is shed).
			if closed := a.Reason == sched.AlarmErrorRate || a.Reason == sched.AlarmLinkDown; closed && a.Device == "" && d.mon != nil {
				d.mon.IOPathClosed(a.String())
			}
		},
		Logger: d.log.With("part", "sched"),
	})
	if err != nil {
		return fmt.Errorf("daemon: scheduler: %w", err)
	}
	d.sched = s
	d.exposePoints()
	for _, dev := range d.devs {
		drv := set.Drivers[dev.Name]
		for _, p := range dev.Points {
			if p.Class != devices.ClassCollection || p.Period <= 0 {
				continue
			}
			if err := s.Collect(pointOp(drv, p, 0), p.Period, p.Deadline); err != nil {
				d.problem(alarmDevices, fmt.Errorf("daemon: device %q point %q: %w", dev.Name, p.Name, err))
			}
		}
	}
	order := make([]string, 0, len(reinit))
	for k := range reinit {
		order = append(order, k)
	}
	sort.Strings(order)
	d.ifaces = interfaces{s: s, order: order, reinit: reinit}
	if d.mod != nil {
		hasHPLC := false
		for _, dev := range d.devs {
			hasHPLC = hasHPLC || dev.Driver == devices.DriverHPLC
		}
		if !hasHPLC {
			d.ifaces.module = d.mod
		}
	}
	return nil
}

func (d *Daemon) buildVoltmeter() error {
	ac := d.cfg.ACSampling
	addr, err := proto698.ParseAddress(proto698.AddrSingle, ac.Address)
	if err != nil {
		return fmt.Errorf("daemon: ac_sampling.address (%s:%d): %w", d.cfg.File, d.cfg.Line("ac_sampling.address"), err)
	}
	p, err := d.hw.OpenSerial(ac.SerialConfig())
	if err != nil {
		return fmt.Errorf("daemon: AC-sampling unit on %s (ac_sampling.port, %s:%d): %w; power-fail edges are decided from the GPIO line alone",
			ac.Port, d.cfg.File, d.cfg.Line("ac_sampling.port"), err)
	}
	d.closers = append(d.closers, p.Close)
	d.ac = proto698.NewACClient(p, proto698.ACClientConfig{Addr: addr, Timeout: ac.Timeout, Retries: ac.Retries, Preamble: ac.Preamble,
		ByteTimeout: byteTimeout(ac.ByteTimeout, ac.SerialConfig())},
		d.log.With("part", "ac-sampling"))
	return nil
}

// byteTimeout is a DL/T 698.45 serial client's inter-byte timeout: the
// configured one, else the one line sc's speed gives.
func byteTimeout(configured time.Duration, sc devices.SerialConfig) time.Duration {
	if configured > 0 {
		return configured
	}
	return proto698.SerialByteTimeout(sc.Baud, sc.CharBits())
}

func (d *Daemon) buildMonitor() error {
	pc := d.cfg.Power
	cfg := power.Config{
		NominalV: pc.NominalV, LossV: pc.LossV, RestoreV: pc.RestoreV, MaxV: pc.MaxV, PhaseRule: power.PhaseRule(pc.PhaseRule),
		ConfirmTimeout: pc.ConfirmTimeout, Settle: pc.Settle, MaxSettle: pc.MaxSettle, Recheck: pc.Recheck,
		ReportEvery: pc.ReportEvery, HoldUp: pc.HoldupBudget, FlushMargin: pc.FinalFlushMargin,
	}
	if d.cfg.Uplink != nil && d.cfg.Uplink.ReportPeriod > 0 && cfg.ReportEvery == 0 {
		cfg.ReportEvery = d.cfg.Uplink.ReportPeriod
	}
	deps := power.Deps{
		Gate:    gate{s: d.sched, reopen: d.reopen},
		Journal: d.ja,
		Uplink:  uplink{u: d.up, seqs: d.jrnl, log: d.log.With("part", "uplink")},
		Modules: d.modules(),
		Reinit:  d.ifaces,
		Resume:  d.ifaces,
		Alarms:  d.alarms,
		Logger:  d.log.With("part", "power"),
	}
	// The data store's writes at their class's IO priority (ioprio.go),
	// also when it opens only later (storeOpener).
	replayIO := sched.StartIOThread(sched.IOPriorityFor(sched.Control, sched.Checked), "data store replay", d.log)
	d.replayIO = replayIO
	logIO := sched.StartIOThread(sched.IOPriorityFor(sched.Collection, sched.Checked), "data store outage log", d.log)
	d.closers = append(d.closers, replayIO.Close, logIO.Close)
	deps.Recoverer = replayOn{recoverer{j: d.jrnl, ds: d.store, stored: d.kickForward}, replayIO}
	deps.OutageLog = outageLogOn{outageLog{ds: d.store, j: d.jrnl, observe: d.opts.ObserveOutage, lostLogged: &atomic.Bool{}, admit: d.ja.admit}, logIO}
	if d.ac != nil {
		deps.Voltmeter = d.ac
	}
	deps.BootID = d.hw.BootID
	if pc.Supercap != nil && d.hw.Supercap != nil {
		rd, err := d.hw.Supercap(pc)
		if err != nil {
			d.problem(power.AlarmSupercap, fmt.Errorf("daemon: power.supercap: %w; hold-up estimated from the configured time", err))
		} else {
			deps.Supercap, d.supercap = rd, rd
			cfg.SupercapMinV = pc.Supercap.EmptyV
			cfg.SupercapEvery = pc.Supercap.SampleEvery
			cfg.SupercapFullV, cfg.SupercapFarads, cfg.SupercapLoadW = pc.Supercap.FullV, pc.Supercap.Farads, pc.Supercap.LoadW
		}
	}
	act, err := newEndAct(d)
	if err != nil {
		return err
	}
	deps.Flusher, deps.Shutdown = act, act
	d.hookDeps(&deps)
	m, err := power.NewMonitor(cfg, deps)
	if err != nil {
		return fmt.Errorf("daemon: power monitor: %w", err)
	}
	d.mon = m
	return nil
}

func (d *Daemon) modules() modules {
	m := modules{log: d.log.With("part", "modules"), invalid: &d.invalid}
	if d.nb != nil {
		m.report, m.nb = d.nb.reportNow, d.nb
	}
	return m
}

// Run runs the daemon until ctx ends, then stops every goroutine, waits
// for them and closes what New opened.
func (d *Daemon) Run(ctx context.Context) error {
	defer d.close()
	notify, err := sdnotify.New(d.log.With("part", "sdnotify"))
	if err != nil {
		d.log.Warn("systemd notify unavailable", "err", err)
	}
	d.notify = notify
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 8)
	parts := &partGroup{ctx: ctx, errc: errc, log: d.log}
	// The HPLC module and the uplink serve the scheduler and the monitor:
	// they stop after them, so a shutdown does not read as a link failure.
	lateCtx, lateStop := context.WithCancel(context.WithoutCancel(ctx))
	defer lateStop()
	late := &partGroup{ctx: lateCtx, errc: errc, log: d.log}
	start, startLate := parts.start, late.start
	if d.mod != nil {
		startLate("hplc module", func(ctx context.Context) error {
			// A failed module port is an alarm, not a reason to stop
			// protecting: devices behind it fail link-down, the rest run.
			if err := d.mod.Run(ctx); err != nil && ctx.Err() == nil {
				d.problem(alarmHPLC, fmt.Errorf("daemon: HPLC module on %s stopped: %w; meters behind it are unreachable until restart", d.cfg.HPLC.Port, err))
			}
			return nil
		})
	}
	if d.up != nil {
		startLate("uplink", d.up.Run)
		start("data reports", func(ctx context.Context) error {
			return d.nb.reportLoop(ctx, d.cfg.Uplink.ReportPeriod, d.up.ReportAttributes)
		})
	}
	if d.fwd != nil {
		start("forwarder", d.fwd.run)
	}
	if d.store() == nil {
		start("data store opener", d.storeOpener)
	}
	start("alarm reports", d.runAlarmReport)
	d.startChargeWait(start)
	start("scheduler", d.sched.Run)
	start("reopener", d.reopener)
	start("power monitor", func(ctx context.Context) error { return d.mon.Run(ctx, d.line) })
	start("status socket", d.serveStatus)
	if d.hooks != nil {
		start("hooks", d.runHooks)
	}
	if err := d.startConsole(ctx, start); err != nil {
		d.problem(alarmConsole, err)
	}

	err = d.mainLoop(ctx, notify, errc)
	if notify != nil {
		_ = notify.Stopping()
	}
	d.log.Info("holdup stopping")
	cancel()
	parts.wg.Wait()
	lateStop()
	late.wg.Wait()
	return err
}

// partGroup runs long-lived parts of the daemon on one context and hands
// the error of a part that stops on its own (not by the context ending) to
// errc, which ends Run; errc is buffered, and an error that finds it full
// is only logged (the first one is already ending Run).
type partGroup struct {
	ctx  context.Context
	errc chan<- error
	log  *slog.Logger
	wg   sync.WaitGroup
}

// start runs fn(ctx) on a goroutine of the group.
func (g *partGroup) start(name string, fn func(context.Context) error) {
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		if err := fn(g.ctx); err != nil && g.ctx.Err() == nil {
			g.log.Error("part stopped", "part", name, "err", err)
			select {
			case g.errc <- fmt.Errorf("daemon: %s: %w", name, err):
			default: // Run is ending on an earlier error already
			}
		}
	}()
}

// mainLoop signals readiness once start-up (and any cold replay) is done,
// then pets the systemd watchdog each time the monitor goroutine proves it
// is alive, until ctx ends or a part fails for good.
func (d *Daemon) mainLoop(ctx context.Context, notify *sdnotify.Notifier, errc <-chan error) error {
	tl := d.mon.Timeline()
	ready := false
	var every time.Duration
	if notify != nil {
		every = notify.PetInterval()
	}
	var (
		pet   <-chan time.Time
		timer *time.Timer
	)
	if every > 0 {
		timer = time.NewTimer(every)
		defer timer.Stop()
		pet = timer.C
	}
	for {
		var changed <-chan struct{}
		if !ready {
			changed = tl.Changed()
			if startupDone(tl.Entries()) {
				ready, changed = true, nil
				if notify != nil {
					_ = notify.Ready()
					_ = notify.Status(d.statusLine())
				}
				d.log.Info("holdup ready")
				if d.opts.OnReady != nil {
					d.opts.OnReady()
				}
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case err := <-errc:
			return err
		case <-changed:
		case <-pet:
			sctx, cancel := context.WithTimeout(ctx, every)
			err := d.mon.Sync(sctx)
			cancel()
			if err == nil {
				_ = notify.Pet()
			} else if ctx.Err() == nil {
				d.log.Error("power monitor did not answer; watchdog not petted", "err", err)
			}
			timer.Reset(every)
		}
	}
}

// startupDone reports whether the monitor has handled the start-up
// situation: asleep (nothing to do, or a cold replay finished), or
// protecting an outage it booted into.
func startupDone(entries []power.Entry) bool {
	for _, e := range entries {
		switch e.Step {
		case power.StepIdle, power.StepSleeping, power.StepPriority:
			return true
		}
	}
	return false
}

// reopener lets devices gated by a blip run again after Ungate.
func (d *Daemon) reopener(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-d.reopen:
			if d.sched.InOutage() {
				continue
			}
			if err := d.ifaces.Resume(ctx); err != nil && ctx.Err() == nil {
				d.log.Debug("re-opening interfaces after the gate lifted", "err", err)
			}
		}
	}
}

func (d *Daemon) close() {
	for i := len(d.closers) - 1; i >= 0; i-- {
		if err := d.closers[i](); err != nil {
			d.log.Debug("close", "err", err)
		}
	}
	d.closers = nil
}
