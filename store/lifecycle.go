package store

import (
	"context"
	"time"
)

// Lifecycle events journaled by the power monitor (business type event,
// interface "power", device "mains"; attribute "event" names which).
const (
	EventOutageBegin = "outage-begin"
	EventOutageEnd   = "outage-end"
)

// OutageBeginRecord is the record journaled when an outage starts: at is
// when the power-fail line reported the loss; confirmed says whether the
// phase voltages (in volts) confirmed it.
func OutageBeginRecord(at time.Time, confirmed bool, volts [3]float64) Record {
	return Record{
		Time: at, Business: BusinessEvent, Interface: "power", Device: "mains",
		Attrs: map[string]any{"event": EventOutageBegin, "confirmed": confirmed,
			"ua": volts[0], "ub": volts[1], "uc": volts[2]},
		Integrity: Integrity{Kind: IntegrityNone},
	}
}

// OutageEndRecord is the record journaled when the outage begun at begin
// ends at end; cold means holdup did not live through it.
func OutageEndRecord(begin, end time.Time, cold, confirmed bool) Record {
	return Record{
		Time: end, Business: BusinessEvent, Interface: "power", Device: "mains",
		Attrs: map[string]any{"event": EventOutageEnd, "confirmed": confirmed, "cold": cold,
			"begin": begin.UnixMilli()},
		Integrity: Integrity{Kind: IntegrityNone},
	}
}

// IsOutageEvent reports whether r is a lifecycle record, and which.
func IsOutageEvent(r Record) (event string, ok bool) {
	if r.Business != BusinessEvent || r.Interface != "power" {
		return "", false
	}
	e, ok := r.Attrs["event"].(string)
	return e, ok && (e == EventOutageBegin || e == EventOutageEnd)
}

// OpenOutage returns the newest unconsumed outage-begin record that no
// later outage-end record closes (its entry carries the journal sequence
// and the record: time, confirmed flag, phase voltages). At start-up, one
// means the capacitor ran out during that outage (a cold start).
func (j *Journal) OpenOutage(ctx context.Context) (begin Entry, ok bool, err error) {
	_, err = j.Replay(ctx, func(e Entry) error {
		switch ev, _ := IsOutageEvent(e.Record); ev {
		case EventOutageBegin:
			begin, ok = e, true
		case EventOutageEnd:
			ok = false
		}
		return nil
	})
	if err != nil || !ok {
		return Entry{}, false, err
	}
	return begin, true, nil
}
