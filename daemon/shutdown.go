package daemon

// The end of the hold-up window (issue 15 part 1) and the start-up wait
// for charge (part 2). The power monitor decides when (power.Flusher,
// power.Shutdowner); this file does the acts on the daemon's parts:
//
//   - FinalFlush: collection held back, and every critical record of an
//     exchange that ended is through the journal (sched.FlushJournal);
//   - Prepare: the data store closed cleanly, then the file systems
//     holding it and the logs synced (syncfs);
//   - Shutdown: "shutting down" reported to the master station (a data
//     report of power.shutdown_report_oad, when configured) and the hooks,
//     then power.shutdown_command run with its timeout, output logged;
//   - Undo (mains returned): the data store reopened, collection resumed.
//
// The start-up charge wait holds collection back until the supercap holds
// power.min_start_charge of its usable energy, or start_charge_timeout
// passes; the monitor's start (a cold start's replay included) does not
// wait for it.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"holdup/power"
	"holdup/proto698"
	"holdup/store"
)

// Why collection is held back: the start-up charge wait and the end of
// the hold-up window hold it independently.
const (
	holdCharge = 1 << iota
	holdFinal
)

// holdCollection sets or clears one reason to hold collection back; the
// scheduler holds it while any reason is set.
func (d *Daemon) holdCollection(reason int, on bool) {
	d.holdMu.Lock()
	defer d.holdMu.Unlock()
	if on {
		d.holds |= reason
	} else {
		d.holds &^= reason
	}
	d.sched.HoldCollection(d.holds != 0)
}

// logDirs are where the logs are kept (journald's persistent storage,
// else the classic log directory): the final flush syncs the file system
// of the first that exists, besides the data store's.
var logDirs = []string{"/var/log/journal", "/var/log"}

// endAct is the end of the hold-up window: power.Flusher and
// power.Shutdowner on the daemon's parts. Its steps and Undo are
// serialised: Undo waits for a step still returning.
type endAct struct {
	d        *Daemon
	log      *slog.Logger
	argv     []string      // power.shutdown_command (empty: none)
	wait     time.Duration // its timeout
	oad      *proto698.OAD // power.shutdown_report_oad (nil: none)
	syncDirs []string      // the directories whose file systems Prepare syncs
	// syncfs syncs the file system holding the open file (unix.Syncfs;
	// tests count the calls).
	syncfs func(fd int) error

	mu     sync.Mutex
	closed bool // Prepare closed the data store
}

func newEndAct(d *Daemon) (*endAct, error) {
	e := d.cfg.Power.End
	a := &endAct{d: d, log: d.log.With("part", "end-of-window"), argv: e.ShutdownCommand, wait: e.ShutdownTimeout, syncfs: unix.Syncfs,
		syncDirs: []string{filepath.Dir(d.cfg.Store.Path)}}
	for _, dir := range logDirs {
		if _, err := os.Stat(dir); err == nil {
			a.syncDirs = append(a.syncDirs, dir)
			break
		}
	}
	if s := e.ShutdownReportOAD; s != "" {
		var x uint32
		if _, err := fmt.Sscanf(s, "%08x", &x); err != nil {
			return nil, fmt.Errorf("daemon: power.shutdown_report_oad (%s:%d) %q: %w", d.cfg.File, d.cfg.Line("power.shutdown_report_oad"), s, err)
		}
		a.oad = &proto698.OAD{OI: uint16(x >> 16), Attr: uint8(x >> 8), Index: uint8(x)}
	}
	if a.wait <= 0 {
		a.wait = 20 * time.Second
	}
	return a, nil
}

// FinalFlush holds collection back and waits until the critical records
// taken are journaled, for at most half the time left (the rest of the
// window is for the sync and the shutdown).
func (a *endAct) FinalFlush(ctx context.Context, left time.Duration) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.d.holdCollection(holdFinal, true)
	fctx, cancel := context.WithTimeout(ctx, max(left/2, time.Second))
	defer cancel()
	if err := a.d.sched.FlushJournal(fctx); err != nil {
		return fmt.Errorf("daemon: final flush: %w", err)
	}
	a.log.Info("final flush: collection held back, every pending critical record journaled", "left", left)
	return nil
}

// Prepare closes the data store cleanly and syncs the file systems holding
// it and the logs.
func (a *endAct) Prepare(ctx context.Context) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return "", err
	}
	var parts []string
	var errs []error
	a.d.dsMu.Lock()
	ds := a.d.ds
	a.d.ds = nil
	a.d.dsMu.Unlock()
	if ds != nil {
		a.closed = true
		if err := ds.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close data store %s: %w", a.d.cfg.Store.Path, err))
		} else {
			parts = append(parts, "data store closed")
		}
	}
	synced, err := a.sync()
	if err != nil {
		errs = append(errs, err)
	}
	if len(synced) > 0 {
		parts = append(parts, "synced "+strings.Join(synced, ", "))
	}
	detail := strings.Join(parts, "; ")
	a.log.Info("before shutdown: "+detail, "err", errors.Join(errs...))
	return detail, errors.Join(errs...)
}

// sync syncs the file system of each directory once (syncfs, the whole
// file system: the data store's file, its directory entry, the logs).
func (a *endAct) sync() ([]string, error) {
	var done []string
	var errs []error
	seen := map[uint64]bool{}
	for _, dir := range a.syncDirs {
		f, err := os.Open(dir)
		if err != nil {
			errs = append(errs, fmt.Errorf("sync %s: %w", dir, err))
			continue
		}
		var st syscall.Stat_t
		if err := syscall.Fstat(int(f.Fd()), &st); err == nil && seen[uint64(st.Dev)] {
			f.Close()
			continue
		} else if err == nil {
			seen[uint64(st.Dev)] = true
		}
		if err := a.syncfs(int(f.Fd())); err != nil {
			errs = append(errs, fmt.Errorf("syncfs %s: %w", dir, err))
		} else {
			done = append(done, dir)
		}
		f.Close()
	}
	return done, errors.Join(errs...)
}

// Shutdown reports "shutting down" and runs the shutdown command, unless
// ctx ended first (mains returned: nothing is shut down).
func (a *endAct) Shutdown(ctx context.Context, left time.Duration) (bool, string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if ctx.Err() != nil {
		return false, "", nil
	}
	if len(a.argv) == 0 {
		a.log.Info("no power.shutdown_command configured: the capacitor runs out with the data store closed and synced", "left", left)
		return false, "", nil
	}
	a.reportShutdown(left)
	a.d.emitShutdown(a.argv, left) // the hooks (budget-low came from the timeline's 1-5 final flush)
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.wait)
	defer cancel()
	cmd := exec.CommandContext(cctx, a.argv[0], a.argv[1:]...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = time.Second
	// The last look: a return that came in by now keeps the system up.
	if ctx.Err() != nil {
		return false, "", nil
	}
	a.log.Warn("hold-up budget exhausted: running the shutdown command", "command", a.argv, "left", left)
	err := cmd.Run()
	text := strings.TrimSpace(out.String())
	a.log.Info("shutdown command done", "command", a.argv, "err", err, "output", text)
	detail := strings.Join(a.argv, " ")
	if err != nil {
		return true, detail, fmt.Errorf("daemon: power.shutdown_command %q: %w (output: %q)", a.argv, err, text)
	}
	if text != "" {
		detail += ": " + text
	}
	return true, detail, nil
}

// reportShutdown tells the master station, when an attribute is
// configured for it: a data report of power.shutdown_report_oad carrying
// the seconds of hold-up left (the outage itself went as event 3106).
func (a *endAct) reportShutdown(left time.Duration) {
	if a.d.up == nil || a.oad == nil {
		a.log.Info("shutting down not reported to the master station (no uplink or no power.shutdown_report_oad)")
		return
	}
	secs := proto698.LongUnsigned(min(left.Round(time.Second)/time.Second, 65535))
	if err := a.d.up.ReportAttributes([]proto698.ResultNormal{{OAD: *a.oad, Data: secs}}); err != nil {
		a.log.Warn("shutting down not reported to the master station", "err", err)
	}
}

// Undo reopens the data store Prepare closed and resumes collection: the
// mains returned (before the command ran, or after it without the system
// going down).
func (a *endAct) Undo(ctx context.Context) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var parts []string
	if a.closed {
		ds, damaged, err := store.OpenOrRecoverDataStore(a.d.cfg.Store.Path, time.Now())
		if damaged != nil {
			a.d.warn(alarmDataStoreDamaged, fmt.Errorf("daemon: data store %s was damaged: %s; moved aside to %s, a fresh one started",
				a.d.cfg.Store.Path, damaged.Reason, damaged.MovedTo))
		}
		if err != nil {
			a.d.holdCollection(holdFinal, false)
			return "", fmt.Errorf("daemon: reopen data store %s: %w", a.d.cfg.Store.Path, err)
		}
		a.d.dsMu.Lock()
		a.d.ds = ds
		a.d.dsMu.Unlock()
		a.d.closers = append(a.d.closers, ds.Close) // run after Run, as setStore's
		a.closed = false
		parts = append(parts, "data store reopened")
		a.d.kickForward()
	}
	a.d.holdCollection(holdFinal, false)
	parts = append(parts, "collection resumed")
	return strings.Join(parts, ", "), nil
}

// chargeWait holds collection back at start until the supercap holds
// power.min_start_charge of its usable energy, or start_charge_timeout
// passes; it says so on the timeline, in the log and in the status.
func (d *Daemon) chargeWait(ctx context.Context, w power.ChargeWait) error {
	tl := d.mon.Timeline()
	d.holdCollection(holdCharge, true)
	d.setChargeStatus(fmt.Sprintf("collection held until the supercap reaches %.0f %% charge (at most %v)", 100*w.Min, w.Timeout))
	st := w.Wait(ctx, func(s power.ChargeStatus) {
		d.setChargeStatus("collection held: " + s.String())
		d.log.Debug("start-up: waiting for the supercap to charge", "status", s.String())
	})
	if !st.Done {
		return nil // stopping
	}
	d.holdCollection(holdCharge, false)
	d.setChargeStatus("")
	tl.Add(time.Now(), power.StepChargeReady, st.String())
	if st.TimedOut {
		d.log.Warn("start-up: supercap not charged in time, collection released", "status", st.String())
	} else {
		d.log.Info("start-up: supercap charged, collection released", "status", st.String())
	}
	return nil
}

// startChargeWait starts the charge wait when power.min_start_charge and a
// supercap reading are configured; it puts the hold on the timeline at
// once, before the monitor's start-up steps.
func (d *Daemon) startChargeWait(start func(string, func(context.Context) error)) {
	e := d.cfg.Power.End
	if e.MinStartCharge <= 0 || d.supercap == nil || d.cfg.Power.Supercap == nil {
		return
	}
	sc := d.cfg.Power.Supercap
	w := power.ChargeWait{Read: d.supercap, Cap: power.Capacitor{EmptyV: sc.EmptyV, FullV: sc.FullV, Farads: sc.Farads, LoadW: sc.LoadW},
		Min: e.MinStartCharge, Timeout: e.StartChargeTimeout, Every: sc.SampleEvery}
	if err := w.Validate(); err != nil {
		d.warn(power.AlarmSupercap, fmt.Errorf("daemon: start-up charge wait: %w", err))
		return
	}
	d.holdCollection(holdCharge, true)
	d.mon.Timeline().Add(time.Now(), power.StepChargeWait, fmt.Sprintf("until %.0f %% charge, %v at most", 100*w.Min, w.Timeout))
	start("charge wait", func(ctx context.Context) error { return d.chargeWait(ctx, w) })
}

func (d *Daemon) setChargeStatus(s string) {
	d.holdMu.Lock()
	// systemd hears of the wait when it begins and ends, not of every
	// sample in between.
	edge := (d.chargeStatus == "") != (s == "")
	d.chargeStatus = s
	d.holdMu.Unlock()
	if edge && d.notify != nil {
		_ = d.notify.Status(d.statusLine())
	}
}

// startStatus is what start-up holds back, for the status ("" nothing).
func (d *Daemon) startStatus() string {
	d.holdMu.Lock()
	defer d.holdMu.Unlock()
	return d.chargeStatus
}
