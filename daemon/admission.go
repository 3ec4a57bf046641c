package daemon

// Journal admission near full, for the operator: the journal refuses the
// less important records first when its free space runs short (store,
// "Admission near full"); the daemon raises one alarm per admission class
// until the next outage completion log, and that log lists the refusals
// the outage saw.

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"holdup/power"
	"holdup/store"
)

// alarmJournalAdmission: the journal refused records for lack of space.
const alarmJournalAdmission power.AlarmCode = "journal-admission"

// admissionWatch turns the journal's refusals into alarms (once per class
// per outage) and the completion log's note. Safe for concurrent use: the
// scheduler's journal writer and the power monitor append.
type admissionWatch struct {
	raise func(power.Alarm)
	log   *slog.Logger

	mu      sync.Mutex
	alarmed [4]bool        // per store.Admission, since the last completion log
	base    store.Refusals // the journal's counters at the last completion log
}

// refused is told of an append the journal refused for lack of space
// (err wraps store.ErrFull) and raises the class's alarm unless it is
// raised already in this outage.
func (w *admissionWatch) refused(rec *store.Record, err error) {
	if w == nil || !errors.Is(err, store.ErrFull) {
		return
	}
	class := store.AdmissionOf(rec)
	w.mu.Lock()
	first := int(class) < len(w.alarmed) && !w.alarmed[class]
	if first {
		w.alarmed[class] = true
	}
	w.mu.Unlock()
	if !first {
		return
	}
	why := "its space is kept for more important records (control, then the outage records)"
	if !errors.Is(err, store.ErrReserved) {
		why = "the journal is full"
	}
	aerr := fmt.Errorf("daemon: journal refused a %s record of %s: %s; further %s refusals are counted for the outage's completion log: %w",
		class, rec.Device, why, class, err)
	w.log.Error("journal refusing records near full", "class", class.String(), "device", rec.Device, "err", err)
	if w.raise != nil {
		w.raise(power.Alarm{Code: alarmJournalAdmission, Err: aerr, At: time.Now()})
	}
}

// since returns the completion log's note for the refusals counted since
// the previous call (now is the journal's Stats.Refused), "" when none, and
// re-arms the alarms for the next outage.
func (w *admissionWatch) since(now store.Refusals) string {
	if w == nil {
		return ""
	}
	w.mu.Lock()
	d := now.Sub(w.base)
	w.base = now
	w.alarmed = [4]bool{}
	w.mu.Unlock()
	if d.Total() == 0 {
		return ""
	}
	return "journal: refused near full (records not stored): " + d.String()
}
