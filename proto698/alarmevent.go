package proto698

import (
	"fmt"
	"time"
	"unicode/utf8"
)

// Alarm event reports: the terminal's alarms go to the master station as
// records of the standard's class-7 terminal event objects, in a
// REPORT-Notification-RecordList like the 3106 power events, and exactly
// once in the same way (the master drops a record whose object and event
// record sequence number it already holds).
//
// The objects used (DL/T 698.45 terminal event objects, attribute 2 the
// event record table):
//
//	0x3109 terminal message authentication error record  event source NULL
//	0x310A device fault record                            event source enum FaultSource
//
// A record's columns, located by their OADs (any order):
//
//	0x20220200 event record sequence number  double-long-unsigned  numbered per event object
//	0x201E0200 event start time              date_time_s
//	0x20200200 event end time                NULL (an alarm is an instant; no restore is reported)
//	0x20240200 event source                  enum (310A) or NULL (3109)
//	0x33000200 channel report status         array of {channel OAD, status unsigned}
//	0xFF100200 holdup: alarms this record stands for  double-long-unsigned (≥ 1; more when rate limiting folded repeats)
//	0xFF110200 holdup: alarm code            visible-string (e.g. "hplc", "data-store-damaged")
//
// The last two are holdup's own associated-object columns: the standard has
// no object for them, and a master that locates columns by OAD (as
// ParseAlarmEvents and ParsePowerEvents do) ignores columns it does not
// know. They carry what the standard's fault-source enum cannot: which of
// holdup's alarms it was, and how often it was raised.

// Terminal event objects that carry alarms, and holdup's own columns.
var (
	OADAuthErrorEvent = NewOAD(0x31090200) // 3109 terminal message authentication error record: event records
	OADFaultEvent     = NewOAD(0x310A0200) // 310A device fault record: event records
	OADAlarmCount     = NewOAD(0xFF100200) // holdup: the number of alarms a record stands for
	OADAlarmCode      = NewOAD(0xFF110200) // holdup: the alarm code
)

// FaultSource is the event source of a 310A device fault record.
type FaultSource uint8

// Fault sources: 0…5 are the standard's enum; FaultOther is holdup's, for
// an alarm the standard names no source for.
const (
	FaultMemory    FaultSource = 0   // terminal main-board memory fault
	FaultClock     FaultSource = 1   // clock fault
	FaultBoardComm FaultSource = 2   // main-board communication fault
	FaultRS485     FaultSource = 3   // RS-485 meter-reading fault
	FaultDisplay   FaultSource = 4   // display board fault
	FaultCarrier   FaultSource = 5   // carrier channel abnormal
	FaultOther     FaultSource = 255 // holdup: no standard source fits; the code column names the alarm
)

// String names the source.
func (s FaultSource) String() string {
	switch s {
	case FaultMemory:
		return "memory fault"
	case FaultClock:
		return "clock fault"
	case FaultBoardComm:
		return "main-board communication fault"
	case FaultRS485:
		return "RS-485 reading fault"
	case FaultDisplay:
		return "display board fault"
	case FaultCarrier:
		return "carrier channel abnormal"
	case FaultOther:
		return "other fault"
	}
	return fmt.Sprintf("fault source %d", uint8(s))
}

// IsAlarmEventObject reports whether o is the event record attribute of
// an event object alarms are reported as.
func IsAlarmEventObject(o OAD) bool { return o == OADAuthErrorEvent || o == OADFaultEvent }

// AlarmEvent is one alarm event report. The master identifies it by
// (Object, Seq, Start) and drops a resend: the start time keeps a
// terminal whose numbering began again (a fresh data store after a damaged
// one) from having its new alarms dropped as old ones.
type AlarmEvent struct {
	// Object is the event object's event record attribute:
	// OADAuthErrorEvent or OADFaultEvent.
	Object OAD
	// Seq is the event record sequence number, counted per event object.
	Seq uint32
	// Source is the 310A fault source (ignored for 3109, whose source is
	// NULL).
	Source FaultSource
	// Start is when the alarm was raised (the first one it stands for).
	Start time.Time
	// Count is how many alarms of its kind the record stands for; 0 is
	// written as 1.
	Count uint32
	// Code is holdup's alarm code (at most 255 bytes of ASCII are sent).
	Code string
}

// Key is the identity the master deduplicates on: object, sequence
// number and start time (whole seconds, as date_time_s carries it).
func (e AlarmEvent) Key() string {
	return fmt.Sprintf("%04X/%d@%d", e.Object.OI, e.Seq, e.Start.Unix())
}

// EventRecord implements Event.
func (e AlarmEvent) EventRecord(channel OAD, loc *time.Location) ResultRecord {
	return AlarmEventRecord(e, channel, loc)
}

// alarmEventColumns is the column selection of an alarm event record.
func alarmEventColumns() RCSD {
	return RCSD{{OAD: OADEventSeq}, {OAD: OADEventStart}, {OAD: OADEventEnd}, {OAD: OADEventSource}, {OAD: OADReportStatus}, {OAD: OADAlarmCount}, {OAD: OADAlarmCode}}
}

// maxAlarmCode bounds the code column (a one-byte length keeps it short).
const maxAlarmCode = 127

// AlarmEventRecord returns the A-ResultRecord of ev's event object. The
// start is written as date_time_s in loc; the report status names channel
// with status 1 (sent); a code that is not printable ASCII has its other
// bytes replaced by '?'.
func AlarmEventRecord(ev AlarmEvent, channel OAD, loc *time.Location) ResultRecord {
	var src Data = Null{}
	if ev.Object != OADAuthErrorEvent {
		src = Enum(ev.Source)
	}
	row := []Data{
		DoubleLongUnsigned(ev.Seq),
		NewDateTimeS(ev.Start.In(loc)),
		Null{},
		src,
		Array{Structure{channel, Unsigned(1)}},
		DoubleLongUnsigned(max(ev.Count, 1)),
		VisibleString(asciiCode(ev.Code)),
	}
	return ResultRecord{OAD: ev.Object, RCSD: alarmEventColumns(), Rows: [][]Data{row}}
}

func asciiCode(s string) string {
	b := make([]byte, 0, min(len(s), maxAlarmCode))
	for _, r := range s {
		if len(b) == maxAlarmCode {
			break
		}
		if r < 0x20 || r > 0x7E || r == utf8.RuneError {
			r = '?'
		}
		b = append(b, byte(r))
	}
	return string(b)
}

// ParseAlarmEvents extracts the alarm events of a 3109 or 310A event
// record, locating columns by their OADs (any order; other columns are
// ignored). The count and code columns are optional (a record of another
// terminal has neither: count 1, code ""). It fails, wrapping ErrInvalid
// and naming the object, row and column, for another object, a DAR record,
// a missing or repeated column, a row whose cell count differs from the
// RCSD's, and a cell of the wrong type or a start that is no calendar time.
func ParseAlarmEvents(rec ResultRecord, loc *time.Location) ([]AlarmEvent, error) {
	if !IsAlarmEventObject(rec.OAD) {
		return nil, fmt.Errorf("proto698: alarm event record %v: not 31090200 or 310A0200: %w", rec.OAD, ErrInvalid)
	}
	if rec.IsDAR {
		return nil, fmt.Errorf("proto698: alarm event record %v: no rows, %w: %w", rec.OAD, ErrInvalid, rec.DAR.Err())
	}
	col, err := recordColumns(rec, OADEventSeq, OADEventStart, OADEventSource)
	if err != nil {
		return nil, fmt.Errorf("proto698: alarm event record %v: %w", rec.OAD, err)
	}
	cCount, hasCount := col[OADAlarmCount]
	cCode, hasCode := col[OADAlarmCode]
	out := make([]AlarmEvent, 0, len(rec.Rows))
	for i, row := range rec.Rows {
		bad := func(c OAD, what string, d Data) error {
			return fmt.Errorf("proto698: alarm event record %v row %d column %v (%s): %s: %w", rec.OAD, i, c, what, typeName(d), ErrInvalid)
		}
		if len(row) != len(rec.RCSD) {
			return nil, fmt.Errorf("proto698: alarm event record %v row %d: %d cells, RCSD names %d columns: %w", rec.OAD, i, len(row), len(rec.RCSD), ErrInvalid)
		}
		ev := AlarmEvent{Object: rec.OAD, Count: 1}
		seq, ok := row[col[OADEventSeq]].(DoubleLongUnsigned)
		if !ok {
			return nil, bad(OADEventSeq, "sequence", row[col[OADEventSeq]])
		}
		ev.Seq = uint32(seq)
		st, ok := row[col[OADEventStart]].(DateTimeS)
		if !ok {
			return nil, bad(OADEventStart, "start", row[col[OADEventStart]])
		}
		if ev.Start, err = st.Time(loc); err != nil {
			return nil, fmt.Errorf("proto698: alarm event record %v row %d column %v (start): %w", rec.OAD, i, OADEventStart, err)
		}
		switch src := row[col[OADEventSource]].(type) {
		case Enum:
			if rec.OAD == OADAuthErrorEvent {
				return nil, bad(OADEventSource, "source, NULL for 3109", src)
			}
			ev.Source = FaultSource(src)
		case Null:
			if rec.OAD == OADFaultEvent {
				return nil, bad(OADEventSource, "source, enum for 310A", src)
			}
		default:
			return nil, bad(OADEventSource, "source", row[col[OADEventSource]])
		}
		if hasCount {
			n, ok := row[cCount].(DoubleLongUnsigned)
			if !ok || n == 0 {
				return nil, bad(OADAlarmCount, "count, at least 1", row[cCount])
			}
			ev.Count = uint32(n)
		}
		if hasCode {
			s, ok := row[cCode].(VisibleString)
			if !ok {
				return nil, bad(OADAlarmCode, "code", row[cCode])
			}
			ev.Code = string(s)
		}
		out = append(out, ev)
	}
	return out, nil
}
