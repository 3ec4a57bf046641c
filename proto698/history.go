package proto698

import (
	"fmt"
	"time"
)

// Stored (store-and-forward) records forwarded to the master station.
//
// A record the terminal stored while the master was unreachable — a value
// of one point with the time it was taken — is forwarded later as one row
// of an A-ResultRecord in a REPORT-Notification-RecordList, carrying its
// original time so the master files it where it belongs, not at the time
// it arrives. One ResultRecord holds the rows of one point, named by the
// point's uplink OAD (e.g. 0x2F000200); its RCSD has three plain OAD
// columns, written in this order:
//
//	0x20220200 record sequence number  double-long-unsigned  the terminal's forwarding number
//	0x60410200 collection success time date_time             the record's original time (ms)
//	the point OAD                      any Data              the value; NULL when it was invalid
//
// The master identifies a row by (terminal, point OAD, No, Time) and
// stores it once, so a resent batch is delivered exactly once.

// Columns of a forwarded record (see HistoryRecord).
var (
	OADHistoryNo   = NewOAD(0x20220200) // record sequence number: the terminal's forwarding number
	OADHistoryTime = NewOAD(0x60410200) // collection success time: the record's original time
)

// HistoryRow is one forwarded record of a point: the terminal's forwarding
// number, the record's original time (millisecond resolution on the wire)
// and the value (Null{} for an invalid or absent value).
type HistoryRow struct {
	No    uint32
	Time  time.Time
	Value Data
}

// historyColumns is the column selection of a forwarded record of oad.
func historyColumns(oad OAD) RCSD {
	return RCSD{{OAD: OADHistoryNo}, {OAD: OADHistoryTime}, {OAD: oad}}
}

// HistoryRecord returns the A-ResultRecord forwarding rows of the point
// whose uplink OAD is oad: columns No (double-long-unsigned), Time
// (date_time in loc, truncated to the millisecond) and the value. A nil
// Value is written as Null{}. HistoryRecord does not validate: oad must
// not be 0x31060200 (the power event object) nor one of the two other
// columns' OADs, or ParseHistory (and the master) refuse the record.
func HistoryRecord(oad OAD, rows []HistoryRow, loc *time.Location) ResultRecord {
	out := make([][]Data, len(rows))
	for i, r := range rows {
		v := r.Value
		if v == nil {
			v = Null{}
		}
		out[i] = []Data{DoubleLongUnsigned(r.No), NewDateTime(r.Time.In(loc)), v}
	}
	return ResultRecord{OAD: oad, RCSD: historyColumns(oad), Rows: out}
}

// ParseHistory extracts the rows of a forwarded record, locating the
// columns by their OADs (any order; other columns are ignored). Times are
// returned in loc. It fails, wrapping ErrInvalid and naming the record,
// row and column, for the power event record 0x31060200, a DAR record
// (also wrapping the DAR's error), a missing or repeated column, a row
// whose cell count differs from the RCSD's, a No that is not
// double-long-unsigned, a Time that is not date_time or names no real
// calendar time (e.g. 30 February, unspecified fields), and a nil value.
func ParseHistory(rec ResultRecord, loc *time.Location) ([]HistoryRow, error) {
	if rec.OAD == OADPowerEvent {
		return nil, fmt.Errorf("proto698: history record %v: the power event object is not a history record: %w", rec.OAD, ErrInvalid)
	}
	if rec.IsDAR {
		return nil, fmt.Errorf("proto698: history record %v: no rows, %w: %w", rec.OAD, ErrInvalid, rec.DAR.Err())
	}
	col, err := recordColumns(rec, OADHistoryNo, OADHistoryTime, rec.OAD)
	if err != nil {
		return nil, fmt.Errorf("proto698: history record %v: %w", rec.OAD, err)
	}
	cNo, cTime, cValue := col[OADHistoryNo], col[OADHistoryTime], col[rec.OAD]
	out := make([]HistoryRow, 0, len(rec.Rows))
	for i, row := range rec.Rows {
		if len(row) != len(rec.RCSD) {
			return nil, fmt.Errorf("proto698: history record %v row %d: %d cells, RCSD names %d columns: %w", rec.OAD, i, len(row), len(rec.RCSD), ErrInvalid)
		}
		no, ok := row[cNo].(DoubleLongUnsigned)
		if !ok {
			return nil, fmt.Errorf("proto698: history record %v row %d column %v (No): %s, want double-long-unsigned: %w", rec.OAD, i, OADHistoryNo, typeName(row[cNo]), ErrInvalid)
		}
		dt, ok := row[cTime].(DateTime)
		if !ok {
			return nil, fmt.Errorf("proto698: history record %v row %d column %v (Time): %s, want date_time: %w", rec.OAD, i, OADHistoryTime, typeName(row[cTime]), ErrInvalid)
		}
		t, err := dt.Time(loc)
		if err != nil {
			return nil, fmt.Errorf("proto698: history record %v row %d column %v (Time): %w", rec.OAD, i, OADHistoryTime, err)
		}
		if row[cValue] == nil {
			return nil, fmt.Errorf("proto698: history record %v row %d column %v (value): no Data (an invalid value is NULL): %w", rec.OAD, i, rec.OAD, ErrInvalid)
		}
		out = append(out, HistoryRow{No: uint32(no), Time: t, Value: row[cValue]})
	}
	return out, nil
}

// recordColumns locates rec's plain-OAD columns (ROAD columns are
// skipped) by their OADs, so a parser accepts any column order. It fails
// when a plain-OAD column is repeated or one of need is missing.
func recordColumns(rec ResultRecord, need ...OAD) (map[OAD]int, error) {
	col := make(map[OAD]int, len(rec.RCSD))
	for i, c := range rec.RCSD {
		if c.IsROAD {
			continue
		}
		if j, dup := col[c.OAD]; dup {
			return nil, fmt.Errorf("column %v repeated (RCSD %d and %d): %w", c.OAD, j, i, ErrInvalid)
		}
		col[c.OAD] = i
	}
	for _, n := range need {
		if _, ok := col[n]; !ok {
			return nil, fmt.Errorf("no column %v: %w", n, ErrInvalid)
		}
	}
	return col, nil
}

// typeName names a cell's type, also for a nil cell.
func typeName(d Data) string {
	if d == nil {
		return "no Data"
	}
	return d.Type().String()
}
