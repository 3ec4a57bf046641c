package daemon

// The hooks for the terminal's other apps (issue 15 part 3): the power
// events the daemon learns of go to the hooks package, which runs the
// configured program and publishes to the MQTT broker.
//
// Where each event comes from, emitted once when it happens:
//
//   - power-fail, blip, budget-low, power-restored, recovery-complete, and
//     outage-confirmed: the monitor's timeline (1-0 power-fail edge, 1-0
//     blip, 1-5 final flush, 2-0 return confirmed / decided from GPIO /
//     start-up with an open outage (cold), 2-8 sleeping after a recovery,
//     and 1-3 priority IO, the last step of entering an outage), followed
//     by one goroutine (follow), so the lifecycle never waits for a hook;
//   - the facts those steps do not carry come from the monitor's own
//     dependencies, wrapped on the way (hookDeps): the outage-begin record
//     (time, confirmed, voltages) from Journal.AppendOutageBegin, an open
//     outage from Journal.OpenOutage, the latest phase voltages from the
//     Voltmeter, the completion record from the OutageLog;
//   - alarm: every alarm raised (alarmList.Raise: the monitor's, the
//     scheduler's, the daemon's warn and problem);
//   - shutdown: emitShutdown, for the act that runs
//     power.shutdown_command (issue 15 part 1).

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"holdup/hooks"
	"holdup/power"
)

// alarmHooks: the hooks could not be set up as configured (a password or
// CA file unreadable); protection runs without them.
const alarmHooks power.AlarmCode = "hooks"

// journalFillWait bounds the wait for the journal's fill figures per
// event (its writer answers between page writes).
const journalFillWait = 500 * time.Millisecond

// hookFeed turns what the daemon learns into hook events.
type hookFeed struct {
	d *Daemon
	h *hooks.Hooks

	mu      sync.Mutex
	volts   [3]float64 // latest good reading
	voltsAt time.Time
	begun   *power.OutageBegin  // the outage being protected (or last protected)
	open    *power.OutageBegin  // an open outage found at start-up
	record  *power.OutageRecord // the latest completion record
	used    int                 // journal fill, as last read
	size    int
	cont    bool // begun is an outage continued after a restart
	// restored: power-restored was told and recovery-complete not yet.
	// A replay of records a blip left in the journal also ends on 2-8
	// sleeping, but no outage was recovered: no recovery-complete then.
	restored bool
}

// buildHooks sets up [hooks]; without the section there are none (every
// emit is a no-op). A file it cannot read is a problem, not a failed start.
func (d *Daemon) buildHooks() {
	c := d.cfg.Hooks
	if c == nil {
		return
	}
	hc := hooks.Config{Exec: c.Exec, Timeout: c.Timeout, QueueLen: c.Queue, Logger: d.log.With("part", "hooks")}
	if m := c.MQTT; m != nil {
		mc := &hooks.MQTTConfig{Broker: m.Broker, ClientID: m.ClientID, TopicPrefix: m.TopicPrefix, StateTopic: m.StateTopic,
			QoS: byte(m.QoS), Username: m.Username}
		if len(m.Topics) > 0 {
			mc.Topics = map[hooks.Kind]string{}
			for ev, topic := range m.Topics {
				mc.Topics[hooks.Kind(ev)] = topic
			}
		}
		err := d.mqttSecrets(m.PasswordFile, m.CAFile, m.Broker, mc)
		if err != nil {
			d.problem(alarmHooks, fmt.Errorf("daemon: hooks.mqtt: %w; events are not published", err))
		} else {
			hc.MQTT = mc
		}
	}
	h, err := hooks.New(hc)
	if err != nil {
		d.problem(alarmHooks, fmt.Errorf("daemon: hooks (%s:%d): %w", d.cfg.File, d.cfg.Line("hooks"), err))
		return
	}
	d.hooks = &hookFeed{d: d, h: h}
	d.alarms.observe = d.hooks.alarm
}

// mqttSecrets reads the password file and the CA file into mc.
func (d *Daemon) mqttSecrets(passwordFile, caFile, broker string, mc *hooks.MQTTConfig) error {
	if passwordFile != "" {
		b, err := os.ReadFile(passwordFile)
		if err != nil {
			return fmt.Errorf("password_file (%s:%d): %w", d.cfg.File, d.cfg.Line("hooks.mqtt.password_file"), err)
		}
		mc.Password = strings.TrimRight(string(b), "\r\n")
	}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return fmt.Errorf("ca_file (%s:%d): %w", d.cfg.File, d.cfg.Line("hooks.mqtt.ca_file"), err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("ca_file %s (%s:%d): no PEM certificate in it", caFile, d.cfg.File, d.cfg.Line("hooks.mqtt.ca_file"))
		}
		mc.TLS = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return nil
}

// hookDeps wraps the monitor's dependencies that know the facts of the
// events (before power.NewMonitor).
func (d *Daemon) hookDeps(deps *power.Deps) {
	f := d.hooks
	if f == nil {
		return
	}
	deps.Journal = hookJournal{deps.Journal, f}
	if deps.Voltmeter != nil {
		deps.Voltmeter = hookVoltmeter{deps.Voltmeter, f}
	}
	deps.OutageLog = hookOutageLog{deps.OutageLog, f}
}

// runHooks delivers the events and follows the timeline until ctx ends.
func (d *Daemon) runHooks(ctx context.Context) error {
	f := d.hooks
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.follow(ctx)
	}()
	err := f.h.Run(ctx)
	<-done
	return err
}

// hookStats are the hooks' counters for the status report (nil without
// hooks).
func (d *Daemon) hookStats() *hooks.Stats {
	if d.hooks == nil {
		return nil
	}
	st := d.hooks.h.Stats()
	return &st
}

// emitShutdown tells the hooks that the operating system is about to be
// shut down (command: power.shutdown_command; left: the hold-up time
// left). The act that runs the command calls it just before.
func (d *Daemon) emitShutdown(command []string, left time.Duration) {
	if d.hooks == nil {
		return
	}
	e := d.hooks.event(hooks.Shutdown, time.Now())
	e.BudgetLeftS, e.Detail = left.Seconds(), strings.Join(command, " ")
	d.hooks.h.Emit(e)
}

// follow turns the timeline's steps into events, in their order.
func (f *hookFeed) follow(ctx context.Context) {
	tl := f.d.mon.Timeline()
	var last uint64
	for {
		changed := tl.Changed()
		for _, e := range tl.Since(last) {
			if e.Seq > last+1 {
				f.d.log.Warn("hooks: timeline entries overwritten before the hooks saw them", "missed", e.Seq-last-1)
			}
			last = e.Seq
			f.step(ctx, e)
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
		}
	}
}

// step emits the event a timeline entry is, if any.
func (f *hookFeed) step(ctx context.Context, te power.Entry) {
	var e hooks.Event
	switch te.Step {
	case power.StepEdgeGated:
		e = f.event(hooks.PowerFail, te.At)
	case power.StepBlip:
		e = f.event(hooks.Blip, te.At)
	case power.StepOutageContinued:
		f.mu.Lock()
		f.begun, f.cont = f.open, true
		f.mu.Unlock()
		return
	case power.StepPriority:
		e = f.event(hooks.OutageConfirmed, te.At)
		te.Detail = ""
		f.mu.Lock()
		if b := f.begun; b != nil {
			e.Confirmed = hooks.Bool(b.Confirmed)
			te.Detail = "decided from the GPIO line alone (unconfirmed)"
			if b.Confirmed {
				te.Detail = "confirmed by the phase voltages"
			}
			if f.cont {
				te.Detail += "; continued after a restart of holdup (same boot)"
			}
		}
		f.mu.Unlock()
	case power.StepFinalFlush:
		e = f.event(hooks.BudgetLow, te.At)
	case power.StepRestoreConfirmed, power.StepRestoreGPIO:
		e = f.event(hooks.PowerRestored, te.At)
		e.Confirmed = hooks.Bool(te.Step == power.StepRestoreConfirmed)
		f.mu.Lock()
		f.restored = true
		f.mu.Unlock()
	case power.StepColdStart:
		f.mu.Lock()
		f.begun, f.cont, f.restored = f.open, false, true
		f.mu.Unlock()
		e = f.event(hooks.PowerRestored, te.At)
		e.Cold = hooks.Bool(true)
	case power.StepSleeping:
		f.mu.Lock()
		restored := f.restored
		f.restored = false
		f.mu.Unlock()
		if !restored {
			return
		}
		e = f.event(hooks.RecoveryComplete, te.At)
		f.mu.Lock()
		if r := f.record; r != nil && !e.OutageBegin.IsZero() && r.Begin.Equal(e.OutageBegin) {
			e.Cold = hooks.Bool(r.Kind == power.KindCold)
			te.Detail = fmt.Sprintf("%s outage of %v (%s); replayed %d, rejected %d, duplicate %d",
				r.Kind, r.Duration.Round(time.Millisecond), r.Evidence, r.Replay.Replayed, r.Replay.Rejected, r.Replay.Duplicate)
		}
		f.begun, f.cont = nil, false
		f.mu.Unlock()
	default:
		return
	}
	if e.Detail == "" {
		e.Detail = te.Detail
	}
	f.journalFill(ctx, &e)
	f.h.Emit(e)
}

// event is an event of kind at time at with the facts every event has:
// the outage, the latest voltages, the budget left, the journal's fill as
// last read. It never blocks.
func (f *hookFeed) event(kind hooks.Kind, at time.Time) hooks.Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	budget := f.d.cfg.Power.HoldupBudget
	e := hooks.Event{Kind: kind, Time: at, BudgetLeftS: budget.Seconds(), JournalUsed: f.used, JournalSize: f.size}
	if !f.voltsAt.IsZero() {
		e.MainsV, e.MainsVAt = append([]float64(nil), f.volts[:]...), f.voltsAt
	}
	if b := f.begun; b != nil && kind != hooks.PowerFail && kind != hooks.Blip {
		e.OutageBegin = b.At
		if f.d.jrnl != nil {
			e.OutageID = f.d.jrnl.OutageEventNumber(b.At)
		}
		if kind != hooks.PowerRestored && kind != hooks.RecoveryComplete {
			e.BudgetLeftS = max(0, budget-at.Sub(b.At)).Seconds()
		}
	}
	if f.size > 0 {
		e.JournalFillPct = 100 * float64(f.used) / float64(f.size)
	}
	return e
}

// journalFill reads the journal's fill into e (and keeps it for the
// events that cannot wait for it, the alarms).
func (f *hookFeed) journalFill(ctx context.Context, e *hooks.Event) {
	if f.d.jrnl == nil {
		return
	}
	jctx, cancel := context.WithTimeout(ctx, journalFillWait)
	st, err := f.d.jrnl.Stats(jctx)
	cancel()
	if err != nil {
		return // the figures as last read stay in e
	}
	f.mu.Lock()
	f.used, f.size = st.UsedBytes, st.CapacityBytes
	f.mu.Unlock()
	e.JournalUsed, e.JournalSize = st.UsedBytes, st.CapacityBytes
	if st.CapacityBytes > 0 {
		e.JournalFillPct = 100 * float64(st.UsedBytes) / float64(st.CapacityBytes)
	}
}

// alarm emits an alarm event; it runs in Raise's caller and never blocks
// (the journal's fill is the last one read).
func (f *hookFeed) alarm(a power.Alarm) {
	e := f.event(hooks.Alarm, a.At)
	e.Alarm = string(a.Code)
	if a.Err != nil {
		e.Detail = a.Err.Error()
	}
	f.h.Emit(e)
}

// hookJournal records the outage-begin facts on their way to the journal
// (before the append: an outage whose record failed is still one).
type hookJournal struct {
	power.Journal
	f *hookFeed
}

func (j hookJournal) AppendOutageBegin(ctx context.Context, b power.OutageBegin) error {
	j.f.mu.Lock()
	j.f.begun, j.f.cont = &b, false
	j.f.mu.Unlock()
	return j.Journal.AppendOutageBegin(ctx, b)
}

func (j hookJournal) OpenOutage(ctx context.Context) (power.OutageBegin, bool, error) {
	b, ok, err := j.Journal.OpenOutage(ctx)
	if err == nil && ok {
		j.f.mu.Lock()
		j.f.open = &b
		j.f.mu.Unlock()
	}
	return b, ok, err
}

// hookVoltmeter keeps the latest good reading.
type hookVoltmeter struct {
	power.Voltmeter
	f *hookFeed
}

func (v hookVoltmeter) ReadVoltages(ctx context.Context) ([3]float64, error) {
	r, err := v.Voltmeter.ReadVoltages(ctx)
	if err == nil {
		v.f.mu.Lock()
		v.f.volts, v.f.voltsAt = r, time.Now()
		v.f.mu.Unlock()
	}
	return r, err
}

// hookOutageLog keeps the latest completion record.
type hookOutageLog struct {
	power.OutageLog
	f *hookFeed
}

func (o hookOutageLog) Record(ctx context.Context, r power.OutageRecord) error {
	o.f.mu.Lock()
	o.f.record = &r
	o.f.mu.Unlock()
	return o.OutageLog.Record(ctx, r)
}
