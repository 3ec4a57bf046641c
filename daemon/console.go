package daemon

// The operator console wired to the live daemon: console.State answers
// from the parts that own each figure, console.Actions changes them.

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"holdup/console"
	"holdup/devices"
	"holdup/power"
	"holdup/store"
)

// startConsole serves the console on the configured port (or the -console
// override): stdio, a serial device, or none.
func (d *Daemon) startConsole(ctx context.Context, start func(string, func(context.Context) error)) error {
	c := d.cfg.Console
	port := d.opts.Console
	if port == "" && c != nil {
		port = c.Port
	}
	if port == "" || port == "none" {
		return nil
	}
	opts := console.Options{State: consoleState{d}, Actions: consoleActions{d}, Sim: d.hw.Mains != nil, Banner: d.statusLine,
		Logger: d.log.With("part", "console"), StatePath: filepath.Join(filepath.Dir(d.cfg.Store.Path), "console.state")}
	if c != nil {
		opts.PasswordHash, opts.LockoutFailures, opts.LockoutPeriod, opts.SessionTimeout =
			c.PasswordHash, c.LockoutFailures, c.LockoutPeriod, c.SessionTimeout
	}
	if port != "stdio" {
		opts.Echo, opts.CRLF = true, true
	}
	con, err := console.New(opts)
	if err != nil {
		return fmt.Errorf("daemon: console: %w", err)
	}
	if port == "stdio" {
		start("console", func(ctx context.Context) error { return con.Serve(ctx, console.Stdio()) })
		return nil
	}
	baud := 115200
	if c != nil && c.Baud > 0 {
		baud = c.Baud
	}
	start("console", func(ctx context.Context) error {
		// A port that goes away (USB unplugged) is reopened; lockout
		// state lives in con and survives.
		for {
			p, err := devices.OpenSerial(devices.SerialConfig{Path: port, Baud: baud})
			if err == nil {
				err = con.Serve(ctx, p)
			}
			if ctx.Err() != nil {
				return nil
			}
			d.log.Warn("console port failed; reopening in 5 s", "port", port, "err", err)
			t := time.NewTimer(5 * time.Second)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil
			case <-t.C:
			}
		}
	})
	return nil
}

type consoleState struct{ d *Daemon }

func (s consoleState) Status(ctx context.Context) (console.Status, error) {
	d := s.d
	st, err := d.mon.Stats(ctx)
	if err != nil {
		return console.Status{}, err
	}
	out := console.Status{Power: st.State.String(), Since: d.started, HoldupBudget: d.cfg.Power.HoldupBudget, Start: d.startStatus()}
	for _, e := range d.mon.Timeline().Entries() {
		switch e.Step {
		case power.StepIdle, power.StepSleeping, power.StepEdgeGated, power.StepPriority, power.StepRestoreConfirmed, power.StepRestoreGPIO, power.StepColdStart, power.StepBlip:
			out.Since = e.At
		}
	}
	out.HoldupLeft = out.HoldupBudget
	switch st.State {
	case power.StateOutage:
		// The monitor's budget: the supercap's discharge where it is
		// read, else the configured budget counting down.
		out.HoldupLeft = st.HoldupLeft
	case power.StateConfirming:
		out.HoldupLeft = max(0, out.HoldupBudget-time.Since(out.Since))
	}
	// The monitor owns the AC line while it confirms an edge: no extra
	// transaction in its way then.
	if d.ac != nil && st.State != power.StateConfirming {
		rctx, cancel := context.WithTimeout(ctx, time.Second)
		v, err := d.ac.ReadVoltages(rctx)
		cancel()
		if err == nil {
			out.MainsV = v[:]
		}
	}
	if js, err := d.jrnl.Stats(ctx); err == nil {
		out.JournalUsed, out.JournalSize, out.JournalRecords = js.UsedBytes, js.CapacityBytes, js.Records
	}
	// The capacity estimate for the configuration's outage workload: its
	// records an empty journal holds, and the seconds of the workload
	// still fitting beside the records held (holdup status -json tells
	// the same figures, from here).
	if c, err := EstimateJournalCapacity(d.cfg); err == nil {
		out.JournalCapacityRecords = c.Records
		if c.PerSecond > 0 {
			s := float64(max(0, c.Records-out.JournalRecords)) / c.PerSecond
			out.JournalEstimateS = &s
		}
	}
	if d.fwd != nil {
		if ds := d.store(); ds == nil {
			out.HistoryKnown = false
		} else if ob, err := ds.OutboxStats(); err == nil {
			out.HistoryKnown, out.HistoryPending, out.HistoryDelivered = true, ob.Pending, ob.Delivered
		}
	}
	out.AlarmReportsPending = -1
	if d.alarmRep != nil && d.cfg.Uplink != nil {
		out.AlarmReportsPending = int(d.alarmRep.pending.Load())
	}
	for _, a := range d.alarms.recent() {
		out.Alarms = append(out.Alarms, fmt.Sprintf("%s %s: %v", a.At.Format("15:04:05"), a.Code, a.Err))
	}
	return out, nil
}

func (s consoleState) Outages(_ context.Context, n int) ([]console.Outage, error) {
	ds := s.d.store()
	if ds == nil {
		return nil, errNoDataStore
	}
	os, err := ds.Outages(n)
	if err != nil {
		return nil, err
	}
	out := make([]console.Outage, 0, len(os))
	for i, o := range os {
		state := o.Kind
		if o.Interrupted {
			state += ", interrupted"
		}
		out = append(out, console.Outage{ID: uint64(len(os) - i), Begin: o.Begin, End: o.End,
			Records: o.Replayed + o.Rejected + o.Duplicate, State: state, Evidence: o.Evidence})
	}
	return out, nil
}

func (s consoleState) JournalStats(ctx context.Context) (console.JournalStats, error) {
	d := s.d
	js, err := d.jrnl.Stats(ctx)
	if err != nil {
		return console.JournalStats{}, err
	}
	out := console.JournalStats{Part: d.cfg.EEPROM.Part.Name, Size: js.CapacityBytes, PageSize: d.cfg.EEPROM.Part.PageSize,
		Used: js.UsedBytes, Records: js.Records, Consumed: js.Consumed, Corrupt: len(d.jrnl.MountReport().Skipped)}
	if js.NextSeq > 0 {
		out.LastSeq = js.NextSeq - 1
	}
	out.FirstSeq = js.Consumed + 1
	if begin, ok, err := d.jrnl.OpenOutage(ctx); err == nil && ok {
		out.OpenOutage, out.OpenSince = true, begin.Record.Time
	}
	return out, nil
}

func (s consoleState) JournalTail(ctx context.Context, n int) ([]console.JournalRecord, error) {
	var all []console.JournalRecord
	_, err := s.d.jrnl.Replay(ctx, func(e store.Entry) error {
		r := e.Record
		kind := r.Business.String()
		if ev, ok := store.IsOutageEvent(r); ok {
			kind = ev
		}
		p, _ := r.Attrs["point"].(string)
		sum := fmt.Sprintf("%s %s %v", r.Device, p, r.Value)
		if r.Invalid {
			sum += " (invalid)"
		}
		all = append(all, console.JournalRecord{Seq: e.Seq, Time: r.Time, Kind: kind, Summary: strings.TrimSpace(sum)})
		if len(all) > n {
			all = all[1:]
		}
		return nil
	})
	return all, err
}

// History reads the newest n records of the data store (of device, or
// all), newest first from its time index, and hands them out oldest first.
func (s consoleState) History(ctx context.Context, device string, n int) ([]console.HistoryRecord, error) {
	ds := s.d.store()
	if ds == nil {
		return nil, errNoDataStore
	}
	var out []console.HistoryRecord
	err := ds.History(store.HistoryQuery{Device: device, Limit: n, Newest: true}, func(sr store.StoredRecord) error {
		r := sr.Record
		p, _ := r.Attrs["point"].(string)
		if ev, ok := store.IsOutageEvent(r); ok && p == "" {
			p = ev
		}
		out = append(out, console.HistoryRecord{Time: r.Time, Business: r.Business.String(), Device: r.Device,
			Point: p, Value: r.Value, Invalid: r.Invalid})
		return ctx.Err()
	})
	if err == nil && device == "" {
		out, err = withAlarms(ds, out, n) // the alarm reports too
	}
	slices.Reverse(out)
	return out, err
}

func (s consoleState) Devices(ctx context.Context) ([]console.Device, error) {
	d := s.d
	out := make([]console.Device, 0, len(d.devs))
	outage := d.sched.InOutage()
	for _, dev := range d.devs {
		enabled, _ := d.sched.Enabled(dev.Name)
		cd := console.Device{Name: dev.Name, Driver: string(dev.Driver), Enabled: enabled, MainsOnly: dev.MainsOnly, DrawMW: dev.DrawMW, State: "ok"}
		cd.Gated = outage && (dev.MainsOnly || (d.cfg.Sched.DrawThresholdMW > 0 && dev.DrawMW > d.cfg.Sched.DrawThresholdMW))
		if st, err := d.sched.Stats(devices.InterfaceOf(dev)); err == nil {
			if st.Closed {
				cd.State = "closed"
			}
			if st.WindowFill > 0 {
				cd.ErrorRate = float64(st.WindowErrors) / float64(st.WindowFill)
			}
		}
		if silent, _ := d.sched.Silent(dev.Name); silent && cd.State == "ok" {
			cd.State = "silent"
		}
		if cd.Gated {
			cd.State = "gated"
		}
		for _, p := range dev.Points {
			if r, err := d.sched.Latest(ctx, dev.Name, p.Name); err == nil && !r.Invalid && r.Time.After(cd.LastOK) {
				cd.LastOK = r.Time
			}
		}
		out = append(out, cd)
	}
	return out, nil
}

// Points gives each point's live reading beside what the master station
// reads for it: NULL where there is no current value, and during an
// outage (from the confirmed loss to the confirmed return) for every
// point not configured to keep its live value — the rule the northbound
// server answers by.
func (s consoleState) Points(ctx context.Context, device string) ([]console.Point, error) {
	d := s.d
	invalid := d.invalid.Load()
	var out []console.Point
	found := device == ""
	for _, dev := range d.devs {
		if device != "" && dev.Name != device {
			continue
		}
		found = true
		for _, p := range dev.Points {
			cp := console.Point{Device: dev.Name, Name: p.Name, Class: string(p.Class)}
			if p.UplinkOAD != 0 {
				cp.UplinkOAD = fmt.Sprintf("%08X", p.UplinkOAD)
			}
			if p.Class == devices.ClassCollection {
				r, err := d.sched.Latest(ctx, dev.Name, p.Name)
				if err != nil {
					return nil, err
				}
				cp.Value, cp.Invalid, cp.Measured, cp.Time = r.Value, r.Invalid, !r.Invalid, r.Time
				cp.UplinkNull = p.UplinkOAD != 0 && (r.Invalid || outageInvalid(invalid, p))
			}
			out = append(out, cp)
		}
	}
	if !found {
		return nil, fmt.Errorf("no device %q is running (see devices)", device)
	}
	return out, nil
}

func (s consoleState) Sched(context.Context) (console.SchedStats, error) {
	d := s.d
	out := console.SchedStats{Mode: "normal"}
	if d.sched.InOutage() {
		out.Mode = "outage"
	}
	for _, iface := range d.ifaces.order {
		st, err := d.sched.Stats(iface)
		if err != nil {
			continue
		}
		out.Queues = append(out.Queues, console.Queue{Name: iface, Depth: st.Queued, Capacity: d.cfg.Sched.QueueLen,
			Done: st.Dispatched, Failed: st.Gated + st.Dropped})
		for _, dev := range d.devs {
			if devices.InterfaceOf(dev) == iface {
				out.Errors = append(out.Errors, console.ErrorRate{Device: dev.Name, Failed: st.WindowErrors,
					Total: st.WindowFill, Flagged: st.Closed})
			}
		}
	}
	devs, _ := s.Devices(context.Background())
	for _, dv := range devs {
		if dv.Gated {
			out.Gated = append(out.Gated, dv.Name)
		}
	}
	return out, nil
}

func (s consoleState) Log(_ context.Context, n int) ([]string, error) { return s.d.ring.Lines(n), nil }

func (s consoleState) Config(context.Context) ([]string, error) { return s.d.cfg.Summary(), nil }

type consoleActions struct{ d *Daemon }

// JournalConsume replays what the journal holds into the data store and
// consumes it: a record is never discarded before the data store has it.
func (a consoleActions) JournalConsume(ctx context.Context) (int, error) {
	ds := a.d.store()
	if ds == nil {
		return 0, errNoDataStore
	}
	// On the replay thread, at the IO priority of what it imports, as the
	// power monitor's replay runs.
	var (
		c   store.ReplayCounts
		err error
	)
	if derr := a.d.replayIO.Do(ctx, func() { c, err = store.NewRecovery(a.d.jrnl, ds).Replay(ctx) }); derr != nil {
		return 0, derr
	}
	if c.Replayed > 0 {
		a.d.kickForward()
	}
	return c.Replayed + c.Rejected + c.Duplicate, err
}

func (a consoleActions) SetDeviceEnabled(_ context.Context, name string, enabled bool) error {
	if a.d.sched == nil {
		return errors.New("no scheduler running")
	}
	return a.d.sched.SetEnabled(name, enabled)
}

func (a consoleActions) SimulateMains(_ context.Context, present bool) error {
	if a.d.hw.Mains == nil {
		return errors.New("not running on simulated hardware")
	}
	return a.d.hw.Mains.SetMains(present)
}
