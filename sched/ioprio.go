package sched

import (
	"errors"
	"fmt"
	"log/slog"
	"runtime"
)

// IOClass is a Linux IO scheduling class (ioprio_set(2)).
type IOClass uint8

// IO classes.
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

// value encodes the priority as ioprio_set takes it.
func (p IOPriority) value() int { return int(p.Class)<<13 | int(p.Level&7) }

// String renders e.g. "best-effort/0".
func (p IOPriority) String() string {
	name := [...]string{"none", "realtime", "best-effort", "idle"}[p.Class&3]
	return fmt.Sprintf("%s/%d", name, p.Level)
}

// The priority table mapped onto kernel IO priorities. Realtime needs
// CAP_SYS_ADMIN; applyIOPriority falls back to best-effort/0.
var (
	// JournalIOPriority is the journal writer's: nothing outranks it.
	JournalIOPriority = IOPriority{IOClassRealtime, 0}
	// LowIOPriority is for low-priority file writers (logs, exports).
	LowIOPriority = IOPriority{IOClassIdle, 0}
)

// PriorityFor maps an op's class and integrity onto a kernel IO priority,
// for goroutines that persist data of that kind.
func PriorityFor(c Class, i Integrity) IOPriority {
	switch {
	case c == Control:
		return IOPriority{IOClassBestEffort, 0}
	case i == Checked:
		return IOPriority{IOClassBestEffort, 2}
	}
	return IOPriority{IOClassBestEffort, 6}
}

// ErrIOPriorityUnsupported: the platform has no ioprio_set.
var ErrIOPriorityUnsupported = errors.New("sched: IO priority not supported on this platform")

// SetThreadIOPriority sets the IO priority of the calling OS thread. The
// caller must have called runtime.LockOSThread, or the priority lands on
// whatever thread the goroutine happens to run on.
func SetThreadIOPriority(p IOPriority) error {
	if err := setThreadIOPriority(p); err != nil {
		return fmt.Errorf("sched: ioprio_set %v: %w", p, err)
	}
	return nil
}

// RunWithIOPriority runs fn on the calling goroutine locked to a thread
// with priority p (best effort: failure is logged and fn still runs). The
// thread is retired when the goroutine exits rather than returned to the
// pool, so call it from a goroutine that ends after fn, e.g.
// `go sched.RunWithIOPriority(sched.LowIOPriority, "export", log, w.run)`.
func RunWithIOPriority(p IOPriority, what string, log *slog.Logger, fn func()) {
	runtime.LockOSThread()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ApplyThreadIOPriority(p, what, log)
	fn()
}

// ApplyThreadIOPriority sets p on the calling goroutine's thread, which the
// caller has locked (runtime.LockOSThread), falling back from realtime to
// best-effort/0 when not permitted and logging what it could not do: best
// effort, never an error. what names the thread in the log.
func ApplyThreadIOPriority(p IOPriority, what string, log *slog.Logger) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	err := SetThreadIOPriority(p)
	if err != nil && p.Class == IOClassRealtime {
		fallback := IOPriority{IOClassBestEffort, 0}
		if err2 := SetThreadIOPriority(fallback); err2 == nil {
			log.Info("IO priority fallback", "for", what, "want", p.String(), "got", fallback.String(), "err", err)
			return
		}
	}
	if err != nil {
		log.Warn("IO priority not applied", "for", what, "priority", p.String(), "err", err)
	}
}
