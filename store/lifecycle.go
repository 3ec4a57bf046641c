package store

import (
	"bytes"
	"context"
	"maps"
	"time"
)

// Lifecycle events journaled by the power monitor (business type event,
// interface "power", device "mains"; attribute "event" names which).
const (
	EventOutageBegin = "outage-begin"
	EventOutageEnd   = "outage-end"
)

// Attributes of lifecycle records added after the first journals were
// written; a record without them (an older journal) replays all the same.
const (
	// AttrBootID is the outage-begin attribute holding the kernel's boot
	// id (/proc/sys/kernel/random/boot_id) when the outage began: at
	// start-up the same boot means the terminal never lost power.
	AttrBootID = "boot_id"
	// AttrEvidence is the outage-end attribute saying what decided
	// whether the capacitor ran out (cold) or not (warm).
	AttrEvidence = "evidence"
)

// OutageBegin is what an outage-begin record says. Its fields are those of
// power.OutageBegin, in the same order, so that one converts to the other.
type OutageBegin struct {
	// At is when the power-fail line reported the loss (the record's time).
	At time.Time
	// Confirmed says whether the phase voltages confirmed the loss.
	Confirmed bool
	// Volts holds the phase voltages A, B, C (volts).
	Volts [3]float64
	// BootID is the kernel's boot id when the outage began (AttrBootID);
	// empty when unknown, which leaves the attribute out.
	BootID string
}

// OutageEnd is what an outage-end record says. Its fields are those of
// power.OutageEnd, in the same order, so that one converts to the other.
type OutageEnd struct {
	// Begin is the At of the outage that ends; End is when it ended (the
	// record's time).
	Begin, End time.Time
	// Cold means holdup did not live through the outage; Confirmed that
	// the phase voltages confirmed the return.
	Cold, Confirmed bool
	// Evidence is what decided warm or cold (AttrEvidence); empty when
	// unknown, which leaves the attribute out.
	Evidence string
}

// OutageBeginRecord is the record journaled when an outage starts. The
// boot id is clipped to MaxStringLen.
func OutageBeginRecord(b OutageBegin) Record {
	return lifecycleRecord(b.At, map[string]any{"event": EventOutageBegin, "confirmed": b.Confirmed,
		"ua": b.Volts[0], "ub": b.Volts[1], "uc": b.Volts[2]}, AttrBootID, b.BootID)
}

// lifecycleRecord is an outage lifecycle record at t: a power event of
// the mains, without integrity protection, with attrs and, when value is
// not empty, the attribute key set to value (clipped by AddAttr).
func lifecycleRecord(t time.Time, attrs map[string]any, key, value string) Record {
	if value != "" {
		AddAttr(attrs, key, value)
	}
	return Record{
		Time: t, Business: BusinessEvent, Interface: "power", Device: "mains",
		Attrs: attrs, Integrity: Integrity{Kind: IntegrityNone},
	}
}

// OutageBeginOf reads an outage-begin record back: the inverse of
// OutageBeginRecord. ok is false when r is not an outage-begin record. An
// attribute the record does not carry reads as its zero value: a voltage
// 0, the boot id "" (an older record: unknown boot).
func OutageBeginOf(r Record) (b OutageBegin, ok bool) {
	if ev, _ := IsOutageEvent(r); ev != EventOutageBegin {
		return OutageBegin{}, false
	}
	b.At = r.Time
	b.Confirmed, _ = r.Attrs["confirmed"].(bool)
	for i, k := range []string{"ua", "ub", "uc"} {
		b.Volts[i], _ = r.Attrs[k].(float64)
	}
	b.BootID, _ = r.Attrs[AttrBootID].(string)
	return b, true
}

// OutageEndRecord is the record journaled when the outage begun at e.Begin
// ends at e.End. The evidence is clipped to MaxStringLen.
func OutageEndRecord(e OutageEnd) Record {
	return lifecycleRecord(e.End, map[string]any{"event": EventOutageEnd, "confirmed": e.Confirmed, "cold": e.Cold,
		"begin": e.Begin.UnixMilli()}, AttrEvidence, e.Evidence)
}

// OutageEndOf reads an outage-end record back: the inverse of
// OutageEndRecord, at the journal's millisecond resolution for Begin (in
// UTC). ok is false when r is not an outage-end record. An attribute the
// record does not carry reads as its zero value: the evidence "" (an older
// record), Begin the zero time.
func OutageEndOf(r Record) (e OutageEnd, ok bool) {
	if ev, _ := IsOutageEvent(r); ev != EventOutageEnd {
		return OutageEnd{}, false
	}
	if ms, named := outageEndBegin(r); named {
		e.Begin = time.UnixMilli(ms).UTC()
	}
	e.End = r.Time
	e.Cold, _ = r.Attrs["cold"].(bool)
	e.Confirmed, _ = r.Attrs["confirmed"].(bool)
	e.Evidence, _ = r.Attrs[AttrEvidence].(string)
	return e, true
}

// IsOutageEvent reports whether r is a lifecycle record, and which.
func IsOutageEvent(r Record) (event string, ok bool) {
	if r.Business != BusinessEvent || r.Interface != "power" {
		return "", false
	}
	e, ok := r.Attrs["event"].(string)
	return e, ok && (e == EventOutageBegin || e == EventOutageEnd)
}

// outageEndBegin returns the begin time (Unix milliseconds) an outage-end
// record names: the attribute is an int64 as built by OutageEndRecord and
// a uint64 once decoded from CBOR.
func outageEndBegin(r Record) (ms int64, ok bool) {
	switch v := r.Attrs["begin"].(type) {
	case int64:
		return v, true
	case uint64:
		return int64(v), v <= 1<<63-1
	case int:
		return int64(v), true
	}
	return 0, false
}

// OpenOutage returns the newest unconsumed outage-begin record that no
// later outage-end record closes (its entry carries the journal sequence
// and the record: time, confirmed flag, phase voltages, boot id). At
// start-up, one means the process did not live through that outage; the
// power monitor decides from the evidence whether the terminal lost power
// (a cold start) or not (the outage continues).
//
// It is a lookup that must not hold up a start on the capacitor, so it
// reads no EEPROM: it decodes the writer's copy of the unconsumed records
// (as read at mount or as committed since), skipping any that fail. The
// records themselves reach the data store only through Replay, which reads
// them back from the chip.
func (j *Journal) OpenOutage(ctx context.Context) (begin Entry, ok bool, err error) {
	res := j.call(ctx, &request{kind: reqSnapshot})
	if res.err != nil {
		return Entry{}, false, res.err
	}
	for _, e := range res.entries {
		if frameCRC(e.tag, e.seq, e.payload) != e.crc || !bytes.Contains(e.payload, outageTag) {
			continue
		}
		rec, err := j.c.decodeFrame(e.tag, e.seq, e.payload, res.view)
		if err != nil {
			continue
		}
		switch ev, _ := IsOutageEvent(rec); ev {
		case EventOutageBegin:
			begin, ok = Entry{Seq: e.seq, Record: rec, Raw: j.c.rawOf(e.tag, e.payload, &rec)}, true
		case EventOutageEnd:
			ok = false
		}
	}
	if !ok {
		return Entry{}, false, nil
	}
	return begin, true, nil
}

// OutageEventNumber is the DL/T 698.45 event 3106 number of the outage
// begun at begin: the journal sequence of its outage-begin record (only
// the low 32 bits), so that a restore reported after a restart carries the
// number the loss was reported under and the master deduplicates resends.
// When the journal holds no begin record for that time (its append
// failed), the number is uint32(begin.Unix()), which is as stable across
// restarts. Times match at the journal's millisecond resolution.
//
// The journal learns the sequences when an append of an OutageBeginRecord
// or OutageEndRecord commits, and at mount from every record frame still
// on the chip (consumed or not), so the numbers survive a restart for as
// long as the chip holds the records. It never blocks: it reads what the
// writer last published.
func (j *Journal) OutageEventNumber(begin time.Time) uint32 {
	if s, ok := j.outageIndex()[begin.UnixMilli()]; ok {
		return uint32(s.begin)
	}
	return uint32(begin.Unix())
}

// OutageSpan returns the journal sequences of the outage-begin and
// outage-end records of the outage begun at begin; ok is false unless the
// journal knows both (see OutageEventNumber for how it learns them). The
// records journaled during the outage are those with a sequence strictly
// between from and to (DataStore.OutageJournaled counts the stored ones).
func (j *Journal) OutageSpan(begin time.Time) (from, to uint64, ok bool) {
	s, ok := j.outageIndex()[begin.UnixMilli()]
	return s.begin, s.end, ok && s.end > s.begin
}

// maxIndexedOutages bounds the outage index: beyond it the oldest outage
// (by begin sequence) is forgotten. Only the latest outages are ever
// looked up.
const maxIndexedOutages = 64

// outageSeqs are the journal sequences of an outage's records; end is 0
// until its outage-end record is journaled.
type outageSeqs struct{ begin, end uint64 }

// outageIndex maps outage-begin times (Unix milliseconds) to the sequences
// of their records. The writer goroutine owns it: it publishes a new map
// for every change (outages are rare) and never modifies a published one,
// so OutageEventNumber and OutageSpan read it without a lock.
type outageIndex map[int64]outageSeqs

// outageIndex returns the index last published.
func (j *Journal) outageIndex() outageIndex {
	if p := j.outages.Load(); p != nil {
		return *p
	}
	return nil
}

// lifecycle says which lifecycle record a frame holds.
type lifecycle uint8

const (
	notLifecycle lifecycle = iota
	lifecycleBegin
	lifecycleEnd
)

// outageRef identifies a lifecycle record by kind and by the begin time
// (Unix milliseconds) of its outage, so that its commit updates the index.
type outageRef struct {
	kind lifecycle
	ms   int64
}

func outageRefOf(r *Record) outageRef {
	switch ev, _ := IsOutageEvent(*r); ev {
	case EventOutageBegin:
		return outageRef{kind: lifecycleBegin, ms: r.Time.UnixMilli()}
	case EventOutageEnd:
		if ms, ok := outageEndBegin(*r); ok {
			return outageRef{kind: lifecycleEnd, ms: ms}
		}
	}
	return outageRef{}
}

// with returns the index after the record ref committed at seq, and
// whether that changed anything. A begin (re)starts its outage's entry; an
// end completes the entry of its begin, and is left out when the begin is
// unknown (the span is unknown then).
func (idx outageIndex) with(ref outageRef, seq uint64) (outageIndex, bool) {
	switch ref.kind {
	case lifecycleBegin:
	case lifecycleEnd:
		if _, ok := idx[ref.ms]; !ok {
			return idx, false
		}
	default:
		return idx, false
	}
	next := make(outageIndex, len(idx)+1)
	maps.Copy(next, idx)
	if ref.kind == lifecycleBegin {
		next[ref.ms] = outageSeqs{begin: seq}
	} else {
		s := next[ref.ms]
		s.end = seq
		next[ref.ms] = s
	}
	for len(next) > maxIndexedOutages {
		var oldest int64
		first := true
		for ms, s := range next {
			if first || s.begin < next[oldest].begin {
				oldest, first = ms, false
			}
		}
		delete(next, oldest)
	}
	return next, true
}

// noteOutage records a committed lifecycle record: the writer goroutine
// calls it, or Open before the writer starts.
func (j *Journal) noteOutage(ref outageRef, seq uint64) {
	if next, changed := j.outageIndex().with(ref, seq); changed {
		j.outages.Store(&next)
	}
}

// outageTag is a byte string the CBOR of every lifecycle record holds (in
// the "event" attribute's text): mount decodes only the frames holding it.
var outageTag = []byte("outage-")

// indexOutages learns the lifecycle records among the record frames found
// at mount, in sequence order; Open only.
func (j *Journal) indexOutages(records []frameInfo) {
	for _, f := range records {
		if !bytes.Contains(f.payload, outageTag) {
			continue
		}
		rec, err := j.c.decodeFrame(f.tag, f.seq, f.payload, j.d.view)
		if err != nil {
			continue // never data: Replay reports it
		}
		j.noteOutage(outageRefOf(&rec), f.seq)
	}
}
