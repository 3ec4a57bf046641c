package proto698

import (
	"fmt"
	"time"
)

// Terminal power-off/power-on event object and the columns its reports carry.
var (
	OADPowerEvent    = NewOAD(0x31060200) // event 3106 attribute 2: event records
	OADEventSeq      = NewOAD(0x20220200) // event record sequence number
	OADEventStart    = NewOAD(0x201E0200) // event start time
	OADEventEnd      = NewOAD(0x20200200) // event end time
	OADEventSource   = NewOAD(0x20240200) // event source
	OADReportStatus  = NewOAD(0x33000200) // channel report status
	OADPowerAttrFlag = NewOAD(0x33090206) // power event attribute flag
	// OADChannelGPRS is the default reporting channel named in the report
	// status column (0x4500 public wireless network).
	OADChannelGPRS = NewOAD(0x45000200)
)

// PowerEventKind says whether a 3106 report announces the power going off
// (the event starts, no end time yet) or coming back (the event ends).
type PowerEventKind uint8

// Power event kinds; the values are the event source enum of 0x20240200.
const (
	PowerOff PowerEventKind = 0
	PowerOn  PowerEventKind = 1
)

// String implements fmt.Stringer.
func (k PowerEventKind) String() string {
	if k == PowerOff {
		return "power-off"
	}
	return "power-on"
}

// PowerEvent is one terminal power-off/power-on event report. Seq is the
// event record sequence number: the master identifies a report by (Seq,
// Kind) and drops duplicates, so a resent report is delivered exactly once.
type PowerEvent struct {
	Seq   uint32
	Kind  PowerEventKind
	Start time.Time // power went off
	End   time.Time // power came back (PowerOn only; zero for PowerOff)
}

// Key is the identity the master deduplicates on.
func (e PowerEvent) Key() string { return fmt.Sprintf("%d/%s", e.Seq, e.Kind) }

// EventRecord implements Event: PowerEventRecord.
func (e PowerEvent) EventRecord(channel OAD, loc *time.Location) ResultRecord {
	return PowerEventRecord(e, channel, loc)
}

// Event is one event report the uplink delivers exactly once, as the
// single record of a REPORT-Notification-RecordList: a PowerEvent (3106)
// or an AlarmEvent (3109, 310A). Key identifies the report among all the
// uplink's events (the uplink and the master match a resend by it);
// EventRecord builds the record, naming channel in the report status
// column and writing times in loc.
type Event interface {
	Key() string
	EventRecord(channel OAD, loc *time.Location) ResultRecord
}

// isEventObject reports whether o is the record attribute of an event
// object the uplink reports (a confirmation listing it is an event's).
func isEventObject(o OAD) bool { return o == OADPowerEvent || IsAlarmEventObject(o) }

// powerEventColumns is the column selection of a 3106 report.
func powerEventColumns() RCSD {
	return RCSD{{OAD: OADEventSeq}, {OAD: OADEventStart}, {OAD: OADEventEnd}, {OAD: OADEventSource}, {OAD: OADReportStatus}, {OAD: OADPowerAttrFlag}}
}

// PowerEventRecord returns the A-ResultRecord of a 3106 report for ev.
// Times are written as date_time_s in loc; the report status names channel
// with status 1 (sent); the attribute flag has bit 0 (event valid) set.
func PowerEventRecord(ev PowerEvent, channel OAD, loc *time.Location) ResultRecord {
	var end Data = Null{}
	if ev.Kind == PowerOn && !ev.End.IsZero() {
		end = NewDateTimeS(ev.End.In(loc))
	}
	row := []Data{
		DoubleLongUnsigned(ev.Seq),
		NewDateTimeS(ev.Start.In(loc)),
		end,
		Enum(ev.Kind),
		Array{Structure{channel, Unsigned(1)}},
		BitString{Len: 8, Bits: []byte{0x80}},
	}
	return ResultRecord{OAD: OADPowerEvent, RCSD: powerEventColumns(), Rows: [][]Data{row}}
}

// ParsePowerEvents extracts the power events of a 3106 record, locating
// columns by their OADs (so a master-side parser accepts any column order).
func ParsePowerEvents(rec ResultRecord, loc *time.Location) ([]PowerEvent, error) {
	if rec.OAD != OADPowerEvent {
		return nil, fmt.Errorf("proto698: record %v is not 31060200: %w", rec.OAD, ErrInvalid)
	}
	if rec.IsDAR {
		return nil, fmt.Errorf("proto698: record 31060200: %w", rec.DAR.Err())
	}
	col, err := recordColumns(rec, OADEventSeq, OADEventStart, OADEventEnd, OADEventSource)
	if err != nil {
		return nil, fmt.Errorf("proto698: 3106 record: %w", err)
	}
	out := make([]PowerEvent, 0, len(rec.Rows))
	for i, row := range rec.Rows {
		var ev PowerEvent
		seq, ok := row[col[OADEventSeq]].(DoubleLongUnsigned)
		if !ok {
			return nil, fmt.Errorf("proto698: 3106 row %d: sequence is %s: %w", i, row[col[OADEventSeq]].Type(), ErrInvalid)
		}
		ev.Seq = uint32(seq)
		st, ok := row[col[OADEventStart]].(DateTimeS)
		if !ok {
			return nil, fmt.Errorf("proto698: 3106 row %d: start is %s: %w", i, row[col[OADEventStart]].Type(), ErrInvalid)
		}
		var err error
		if ev.Start, err = st.Time(loc); err != nil {
			return nil, fmt.Errorf("proto698: 3106 row %d start: %w", i, err)
		}
		switch end := row[col[OADEventEnd]].(type) {
		case Null:
		case DateTimeS:
			if ev.End, err = end.Time(loc); err != nil {
				return nil, fmt.Errorf("proto698: 3106 row %d end: %w", i, err)
			}
		default:
			return nil, fmt.Errorf("proto698: 3106 row %d: end is %s: %w", i, end.Type(), ErrInvalid)
		}
		src, ok := row[col[OADEventSource]].(Enum)
		if !ok || src > 1 {
			return nil, fmt.Errorf("proto698: 3106 row %d: source %v: %w", i, row[col[OADEventSource]], ErrInvalid)
		}
		ev.Kind = PowerEventKind(src)
		out = append(out, ev)
	}
	return out, nil
}
