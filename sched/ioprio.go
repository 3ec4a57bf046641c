package sched

import (
	"fmt"
	"log/slog"
)

// IOClass is a Linux IO scheduling class (ioprio_set(2)).
type IOClass uint8

// The kernel's IO classes. holdup sets realtime (JournalIOPriority) and
// falls back to best-effort.
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

// JournalIOPriority is the EEPROM journal writer's: nothing outranks it.
// Realtime needs CAP_SYS_ADMIN; ApplyThreadIOPriority falls back to
// best-effort/0 without it.
var JournalIOPriority = IOPriority{IOClassRealtime, 0}

// setThreadIOPriority sets the IO priority of the calling OS thread, which
// the caller has locked (runtime.LockOSThread).
func setThreadIOPriority(p IOPriority) error {
	if err := ioprioSet(p); err != nil {
		return fmt.Errorf("sched: ioprio_set %v: %w", p, err)
	}
	return nil
}

// ApplyThreadIOPriority sets p on the calling goroutine's thread, which the
// caller has locked (runtime.LockOSThread), falling back from realtime to
// best-effort/0 when not permitted and logging what it could not do: best
// effort, never an error. what names the thread in the log; a nil log
// discards.
func ApplyThreadIOPriority(p IOPriority, what string, log *slog.Logger) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	err := setThreadIOPriority(p)
	if err != nil && p.Class == IOClassRealtime {
		fallback := IOPriority{IOClassBestEffort, 0}
		if err2 := setThreadIOPriority(fallback); err2 == nil {
			log.Info("IO priority fallback", "for", what, "want", p.String(), "got", fallback.String(), "err", err)
			return
		}
	}
	if err != nil {
		log.Warn("IO priority not applied", "for", what, "priority", p.String(), "err", err)
	}
}
