package sched

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
)

// IOClass is a Linux IO scheduling class (ioprio_set(2)).
type IOClass uint8

// The kernel's IO classes. The priority table uses best-effort only:
// realtime needs CAP_SYS_ADMIN or CAP_SYS_NICE, which the shipped unit does
// not grant (CapabilityBoundingSet= is empty), and idle IO can starve for
// as long as anything else writes.
const (
	IOClassNone       IOClass = 0
	IOClassRealtime   IOClass = 1
	IOClassBestEffort IOClass = 2
	IOClassIdle       IOClass = 3
)

// IOPriority is a kernel IO priority: class and level 0 (highest) to 7.
type IOPriority struct {
	Class IOClass
	Level uint8
}

// String renders e.g. "best-effort/0".
func (p IOPriority) String() string {
	name := [...]string{"none", "realtime", "best-effort", "idle"}[p.Class&3]
	return fmt.Sprintf("%s/%d", name, p.Level)
}

// IOPriorityFor is the priority table mapped onto the kernel's IO classes,
// for a thread that writes data of class c and integrity i to block storage
// (the data store): control best-effort/0, checked collection
// best-effort/2, unchecked collection best-effort/6 (a process's default is
// best-effort/4, from nice 0). It only acts on block IO: the EEPROM journal
// (i2c-dev) and the serial buses are not scheduled by it.
func IOPriorityFor(c Class, i Integrity) IOPriority {
	switch {
	case c == Control:
		return IOPriority{IOClassBestEffort, 0}
	case i == Checked:
		return IOPriority{IOClassBestEffort, 2}
	}
	return IOPriority{IOClassBestEffort, 6}
}

// ControlNice is the nice value of the threads that carry control
// exchanges (the owners of interfaces with control points) and of the
// EEPROM journal writer: above every other thread of the terminal at the
// default 0, within the unit's LimitNICE=-5 (an unprivileged process may
// lower its nice value down to the limit, not further). SCHED_FIFO is not
// used: the unit keeps RestrictRealtime=yes, and a realtime thread in the Go
// runtime could starve the watchdog's loop.
const ControlNice = -5

// setThreadIOPriority sets the IO priority of the calling OS thread, which
// the caller has locked (runtime.LockOSThread).
func setThreadIOPriority(p IOPriority) error {
	if err := ioprioSet(p); err != nil {
		return fmt.Errorf("sched: ioprio_set %v: %w", p, err)
	}
	return nil
}

// setThreadNice sets the nice value of the calling OS thread, which the
// caller has locked (runtime.LockOSThread).
func setThreadNice(n int) error {
	if err := niceSet(n); err != nil {
		return fmt.Errorf("sched: setpriority nice %d: %w", n, err)
	}
	return nil
}

// ApplyThreadIOPriority sets p on the calling goroutine's thread, which the
// caller has locked (runtime.LockOSThread) and never unlocks (the thread
// then exits with the goroutine, so the priority never reaches another
// goroutine). Best effort: what it could not do is logged, never an error.
// what names the thread in the log; a nil log discards.
func ApplyThreadIOPriority(p IOPriority, what string, log *slog.Logger) {
	if err := setThreadIOPriority(p); err != nil {
		logOr(log).Warn("IO priority not applied", "for", what, "priority", p.String(), "err", err)
		return
	}
	logOr(log).Info("IO priority applied", "for", what, "priority", p.String())
}

// ApplyThreadNice sets nice value n on the calling goroutine's thread,
// which the caller has locked (runtime.LockOSThread) and never unlocks.
// Best effort, like ApplyThreadIOPriority.
func ApplyThreadNice(n int, what string, log *slog.Logger) {
	if err := setThreadNice(n); err != nil {
		logOr(log).Warn("CPU priority not applied", "for", what, "nice", n, "err", err)
		return
	}
	logOr(log).Info("CPU priority applied", "for", what, "nice", n)
}

func logOr(log *slog.Logger) *slog.Logger {
	if log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return log
}

// IOThread is a goroutine locked to its own OS thread with one kernel IO
// priority: the writes of one business class to block storage run on it
// (Do), so the kernel's IO scheduler sees that class's priority. The thread
// is never returned to the runtime's pool: it exits with the goroutine
// (Close).
type IOThread struct {
	fns       chan func()
	quit      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

// StartIOThread starts the thread and applies p to it (best effort: logged
// when not permitted, and the thread still runs). what names it in the log;
// a nil log discards.
func StartIOThread(p IOPriority, what string, log *slog.Logger) *IOThread {
	t := &IOThread{fns: make(chan func()), quit: make(chan struct{}), done: make(chan struct{})}
	ready := make(chan struct{})
	go func() {
		defer close(t.done)
		runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
		ApplyThreadIOPriority(p, what, log)
		close(ready)
		for {
			select {
			case fn := <-t.fns:
				fn()
			case <-t.quit:
				return
			}
		}
	}()
	<-ready
	return t
}

// Do runs fn on the thread and returns when it has returned. It returns
// ctx's error, without running fn, when ctx ends before the thread takes
// it, and ErrStopped after Close. fn sees ctx through its closure.
func (t *IOThread) Do(ctx context.Context, fn func()) error {
	ran := make(chan struct{})
	select {
	case t.fns <- func() { defer close(ran); fn() }:
	case <-ctx.Done():
		return ctx.Err()
	case <-t.quit:
		return ErrStopped
	}
	<-ran
	return nil
}

// Close stops the thread after the function it is running, if any; later
// Do calls return ErrStopped. It always returns nil (a closer's signature).
func (t *IOThread) Close() error {
	t.closeOnce.Do(func() { close(t.quit) })
	<-t.done
	return nil
}
