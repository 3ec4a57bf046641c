package sched

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Device is a device as the scheduler sees it: which interface it is on
// and its power attributes.
type Device struct {
	Name string
	// Interface names the physical interface (serial port, TCP endpoint,
	// GPIO chip); devices naming the same one share an owner goroutine.
	Interface string
	// MainsOnly devices stop IO the moment an outage begins.
	MainsOnly bool
	// DrawMW above Config.DrawThresholdMW also stops IO in an outage.
	DrawMW int
	// Control: the device has control points. The owner of an interface
	// with one carries control exchanges and runs locked to its thread at
	// ControlNice (best effort).
	Control bool
}

// Config configures a Scheduler.
type Config struct {
	Devices []Device
	// DrawThresholdMW: devices drawing more are gated in an outage; 0
	// gates on MainsOnly alone.
	DrawThresholdMW int
	// OutageCollectInterval is the minimum spacing of collection
	// exchanges on one interface during an outage (the outage rate); 0
	// means no limit. Control is never rate-limited.
	OutageCollectInterval time.Duration
	// ErrorWindow is the number of recent exchanges the error-rate watch
	// looks at (default 20); ErrorThreshold how many of them may fail
	// (timeout, length or checksum mismatch) before the interface is
	// closed (default 5). A link-down outcome closes it at once. When
	// every error in the window came from one device while another device
	// on the interface answered, that device alone is silenced instead.
	ErrorWindow    int
	ErrorThreshold int
	// SilentBackoff is how long a silenced device's ops fail at once
	// before one probe exchange is let through (default 30 s); each failed
	// probe doubles it, up to SilentBackoffMax (default 10 min).
	SilentBackoff, SilentBackoffMax time.Duration
	// QueueLen is each owner's input channel capacity (default 64).
	QueueLen int
	// Journal receives critical records taken during an outage; nil: none.
	Journal Journal
	// JournalQueue is the journal channel capacity (default 64). Owners
	// block when it is full: a critical record is never dropped, and the
	// writer drains the queue before Run returns.
	JournalQueue int
	// OnAlarm is called, from the interface's owner goroutine, when an
	// interface is closed. It must not block. Nil: alarms are only logged.
	OnAlarm func(Alarm)
	// OnReading is called, from the owner goroutine, with every new
	// collection reading and with the invalid markers an outage sets. It
	// must not block. Nil: readings are only kept for Latest.
	OnReading func(Reading)
	Logger    *slog.Logger
}

// Scheduler runs IO ops by priority with one owner goroutine per physical
// interface, and gates IO on power state.
type Scheduler struct {
	cfg     Config
	log     *slog.Logger
	owners  []*owner
	byIface map[string]*owner
	devices map[string]*devInfo
	journal chan journalItem
	nGated  int // devices an outage gates

	// power holds epoch<<1 | outage: the outage bit every dispatch checks,
	// and a count of outages so an owner notices one it slept through.
	power   atomic.Uint64
	seq     atomic.Uint64
	running atomic.Bool
	done    chan struct{}
	pool    sync.Pool
	// niceLogged: the control owners' CPU priority is logged once.
	niceLogged sync.Once
	fl         flushState // HoldCollection, FlushJournal (flush.go)
}

// devInfo is a device's fixed scheduling facts.
type devInfo struct {
	Device
	gated    bool        // stops in an outage
	disabled atomic.Bool // the operator disabled it
	owner    *owner

	// Silenced by the error-rate watch (see owner.silence); silent is
	// read anywhere, the rest only by the owner goroutine.
	silent      atomic.Bool
	silentUntil time.Time     // no exchange before, except the probe after
	silentFor   time.Duration // the current back-off
	probing     bool          // the probe exchange is running
}

// New validates cfg and builds the owners; Run starts them.
func New(cfg Config) (*Scheduler, error) {
	if cfg.ErrorWindow <= 0 {
		cfg.ErrorWindow = 20
	}
	if cfg.ErrorThreshold <= 0 {
		cfg.ErrorThreshold = 5
	}
	if cfg.SilentBackoff <= 0 {
		cfg.SilentBackoff = 30 * time.Second
	}
	if cfg.SilentBackoffMax < cfg.SilentBackoff {
		cfg.SilentBackoffMax = max(10*time.Minute, cfg.SilentBackoff)
	}
	if cfg.ErrorThreshold > cfg.ErrorWindow {
		return nil, fmt.Errorf("sched: config: error_threshold %d exceeds error_window %d", cfg.ErrorThreshold, cfg.ErrorWindow)
	}
	if cfg.QueueLen <= 0 {
		cfg.QueueLen = 64
	}
	if cfg.JournalQueue <= 0 {
		cfg.JournalQueue = 64
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Scheduler{
		cfg:     cfg,
		log:     log,
		byIface: make(map[string]*owner),
		devices: make(map[string]*devInfo, len(cfg.Devices)),
		journal: make(chan journalItem, cfg.JournalQueue),
		done:    make(chan struct{}),
	}
	s.pool.New = func() any { return &job{reply: make(chan reply, 1)} }
	for i, d := range cfg.Devices {
		if d.Name == "" || d.Interface == "" {
			return nil, fmt.Errorf("sched: config: devices[%d]: name and interface are required", i)
		}
		if _, dup := s.devices[d.Name]; dup {
			return nil, fmt.Errorf("sched: config: devices[%d]: duplicate device %q", i, d.Name)
		}
		o := s.byIface[d.Interface]
		if o == nil {
			o = newOwner(s, d.Interface)
			s.byIface[d.Interface] = o
			s.owners = append(s.owners, o)
		}
		gated := d.MainsOnly || (cfg.DrawThresholdMW > 0 && d.DrawMW > cfg.DrawThresholdMW)
		info := &devInfo{Device: d, gated: gated, owner: o}
		if gated {
			s.nGated++
		}
		s.devices[d.Name] = info
		o.devices = append(o.devices, info)
		o.carriesControl = o.carriesControl || d.Control
	}
	return s, nil
}

// Run runs the owners (and the journal writer) until ctx ends, then fails
// whatever is still queued with ErrStopped and returns once all stopped.
// A Scheduler runs once.
func (s *Scheduler) Run(ctx context.Context) error {
	if !s.running.CompareAndSwap(false, true) {
		return errors.New("sched: Run called twice")
	}
	var owners, writer sync.WaitGroup
	if s.cfg.Journal != nil {
		writer.Go(func() { runJournal(ctx, countingJournal{s.cfg.Journal, &s.fl}, s.journal, s.log) })
	}
	for _, o := range s.owners {
		owners.Go(func() { o.run(ctx) })
	}
	<-ctx.Done()
	close(s.done)
	owners.Wait()
	close(s.journal) // the writer drains what the owners handed over
	writer.Wait()
	return nil
}

// Do queues op on its device's interface and waits for the result. It
// fails fast, without queueing, with ErrGated for a gated device during an
// outage and ErrDropped for unchecked collection during an outage. For a
// Durable op journaled during an outage it also waits for the Journal's
// Append and fails with ErrNotJournaled (and the Result) if that failed; if
// ctx ends first it returns ctx's error (the record may still be stored).
func (s *Scheduler) Do(ctx context.Context, op Op) (Result, error) {
	d := s.devices[op.Device]
	if d == nil {
		return Result{}, fmt.Errorf("%w %q", ErrUnknownDevice, op.Device)
	}
	o := d.owner
	if d.disabled.Load() {
		return Result{}, fmt.Errorf("sched: device %q: %w", op.Device, ErrDisabled)
	}
	if s.power.Load()&1 != 0 {
		if d.gated {
			o.gatedOps.Add(1)
			return Result{}, fmt.Errorf("sched: device %q: %w", op.Device, ErrGated)
		}
		if op.Class == Collection && op.Integrity == Unchecked {
			o.dropped.Add(1)
			return Result{}, fmt.Errorf("sched: device %q point %q: %w", op.Device, op.Point, ErrDropped)
		}
	}
	j := s.pool.Get().(*job)
	j.op, j.ctx, j.seq = op, ctx, s.seq.Add(1)
	select {
	case o.in <- j:
	case <-ctx.Done():
		s.release(j)
		return Result{}, ctx.Err()
	case <-s.done:
		s.release(j)
		return Result{}, ErrStopped
	}
	select {
	case r := <-j.reply:
		s.release(j)
		if r.ack == nil {
			return r.res, r.err
		}
		select {
		case aerr := <-r.ack:
			if aerr != nil {
				return r.res, fmt.Errorf("sched: device %q point %q: %w: %w", op.Device, op.Point, ErrNotJournaled, aerr)
			}
			return r.res, nil
		case <-ctx.Done():
			return r.res, ctx.Err()
		}
	case <-ctx.Done():
		// The owner still holds j and will reply into its buffer; j is
		// left to the garbage collector rather than reused.
		return Result{}, ctx.Err()
	}
}

// SetEnabled enables or disables IO to a device at run time (the console's
// `device enable|disable`). A disabled device's queued and periodic ops
// fail with ErrDisabled when their turn comes; an exchange already on the
// wire completes.
func (s *Scheduler) SetEnabled(device string, enabled bool) error {
	d := s.devices[device]
	if d == nil {
		return fmt.Errorf("%w %q", ErrUnknownDevice, device)
	}
	if d.disabled.Swap(!enabled) == !enabled {
		return nil
	}
	s.log.Info("device IO "+map[bool]string{true: "enabled", false: "disabled"}[enabled]+" by the operator", "device", device)
	return nil
}

// Enabled reports whether IO to a device is enabled.
func (s *Scheduler) Enabled(device string) (bool, error) {
	d := s.devices[device]
	if d == nil {
		return false, fmt.Errorf("%w %q", ErrUnknownDevice, device)
	}
	return !d.disabled.Load(), nil
}

func (s *Scheduler) release(j *job) {
	j.op, j.ctx, j.ack = Op{}, nil, nil
	s.pool.Put(j)
}

// GateMainsOnly starts an outage: from its return no new exchange is
// dispatched to a mains-only or high-draw device, and an exchange to one
// that is in progress but has not yet sent its request is called off (its
// Run context is cancelled; the caller gets ErrGated). Only a request
// already being written completes. It is cheap, synchronous and
// allocation-free, for the power-fail edge: one atomic update, the
// cancellation, and a non-blocking wake-up of each owner, which then
// drains and fails the gated devices' queues, marks their readings
// invalid, and switches the other devices to the outage rate. Calling it
// during an outage does nothing. It returns how many devices an outage
// gates (mains-only or over the draw threshold), whether or not this call
// started the outage: 0 means nothing is shed.
func (s *Scheduler) GateMainsOnly() int {
	for {
		v := s.power.Load()
		if v&1 != 0 {
			return s.nGated
		}
		if s.power.CompareAndSwap(v, (v>>1+1)<<1|1) {
			break
		}
	}
	for _, o := range s.owners {
		o.callOff()
		o.poke()
	}
	return s.nGated
}

// Restore ends the outage. Devices gated by it stay closed (ErrAwaitingReinit)
// until Reinit is called for their interface; the others return to their
// normal rate at once.
func (s *Scheduler) Restore() {
	for {
		v := s.power.Load()
		if v&1 == 0 || s.power.CompareAndSwap(v, v&^1) {
			break
		}
	}
	for _, o := range s.owners {
		o.poke()
	}
}

// InOutage reports whether an outage is in force.
func (s *Scheduler) InOutage() bool { return s.power.Load()&1 != 0 }

// Reinit runs reinit (nil: the interface was re-initialised elsewhere) on
// the interface's owner goroutine, between exchanges, and on success
// re-opens the IO path: it clears a close by the error-rate watch and lets
// devices gated by a past outage run again (during an outage gated devices
// stay gated). On failure the path stays closed and the error is returned.
func (s *Scheduler) Reinit(ctx context.Context, iface string, reinit func(context.Context) error) error {
	o := s.byIface[iface]
	if o == nil {
		return fmt.Errorf("%w %q", ErrUnknownInterface, iface)
	}
	res := make(chan error, 1)
	if err := o.control(ctx, s.done, func(ctx context.Context) { res <- o.reinit(ctx, reinit) }); err != nil {
		return err
	}
	select {
	case err := <-res:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Latest returns the latest reading of a point: Invalid when none was
// taken yet, or when there is no current one (see Reading). It never waits
// for the interface: while its owner is in the middle of an exchange and
// has not yet acted on an outage, a closure or a silenced or disabled
// device, the same rules are applied here, so a reading is never reported
// current after the moment it stopped being so.
func (s *Scheduler) Latest(ctx context.Context, device, point string) (Reading, error) {
	d := s.devices[device]
	if d == nil {
		return Reading{}, fmt.Errorf("%w %q", ErrUnknownDevice, device)
	}
	if err := ctx.Err(); err != nil {
		return Reading{}, err
	}
	o := d.owner
	o.rmu.Lock()
	r, integ := o.latest(device, point)
	o.rmu.Unlock()
	outage := s.power.Load()&1 != 0
	if !r.Invalid && ((outage && (d.gated || integ == Unchecked)) || o.closedFlag.Load() || d.silent.Load() || d.disabled.Load()) {
		r = Reading{Device: device, Point: point, Invalid: true, Time: time.Now()}
	}
	return r, nil
}

// Stats are an interface's counters.
type Stats struct {
	// Dispatched counts exchanges run.
	Dispatched uint64
	// Dropped counts unchecked collection dropped during outages.
	Dropped uint64
	// Gated counts ops refused or drained because their device was gated.
	Gated uint64
	// Overruns counts periodic collections skipped because the previous
	// run was still queued.
	Overruns uint64
	// Closed says the IO path is closed (error-rate watch or link down).
	Closed bool
	// Queued counts ops waiting for the interface (input channel and
	// priority queue).
	Queued int
	// WindowErrors of WindowFill recent exchanges counted as errors for the
	// error-rate watch (which closes the path at ErrorThreshold).
	WindowErrors, WindowFill int
	// Silenced counts ops refused because their device was silenced;
	// Silent names the devices silenced now.
	Silenced uint64
	Silent   []string
}

// Stats returns the counters of an interface.
func (s *Scheduler) Stats(iface string) (Stats, error) {
	o := s.byIface[iface]
	if o == nil {
		return Stats{}, fmt.Errorf("%w %q", ErrUnknownInterface, iface)
	}
	return Stats{
		Dispatched: o.dispatched.Load(),
		Dropped:    o.dropped.Load(),
		Gated:      o.gatedOps.Load(),
		Overruns:   o.overruns.Load(),
		Closed:     o.closedFlag.Load(),
		Queued:     len(o.in) + int(o.depth.Load()),

		WindowErrors: int(o.winErrs.Load()),
		WindowFill:   int(o.winFill.Load()),
		Silenced:     o.silencedOps.Load(),
		Silent:       o.silentNames(),
	}, nil
}

// Silent reports whether the error-rate watch has silenced a device (it
// failed while others on its interface answered).
func (s *Scheduler) Silent(device string) (bool, error) {
	d := s.devices[device]
	if d == nil {
		return false, fmt.Errorf("%w %q", ErrUnknownDevice, device)
	}
	return d.silent.Load(), nil
}
