package proto698

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

var (
	histLoc = time.FixedZone("CST", 8*3600)
	oadPt1  = NewOAD(0x2F000200)
	oadPt2  = NewOAD(0x2F010200)
)

// sameHistory compares rows: No, the instant, and the value's encoding.
func sameHistory(t *testing.T, what string, got, want []HistoryRow) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d rows, want %d: %+v", what, len(got), len(want), got)
	}
	for i := range got {
		g, w := got[i], want[i]
		gv, err1 := AppendData(nil, g.Value)
		wv, err2 := AppendData(nil, w.Value)
		if g.No != w.No || !g.Time.Equal(w.Time) || err1 != nil || err2 != nil || !bytes.Equal(gv, wv) {
			t.Errorf("%s row %d: {%d %v %X}, want {%d %v %X} (%v, %v)", what, i, g.No, g.Time, gv, w.No, w.Time, wv, err1, err2)
		}
	}
}

func TestHistoryRecord(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 678_900_000, histLoc) // a Friday
	for _, c := range []struct {
		name string
		rows []HistoryRow
		want []Data // the cells of the single row
		hex  string // the whole A-ResultRecord, if pinned
	}{
		{
			name: "float value",
			rows: []HistoryRow{{No: 1, Time: at, Value: Float64(1.5)}},
			want: []Data{DoubleLongUnsigned(1), DateTime{2026, 1, 2, 5, 3, 4, 5, 678}, Float64(1.5)},
			// OAD, RCSD (3 × choice 0 OAD), choice 1, 1 row: 06 No, 19 date_time, 18 float64.
			hex: "2F000200" + "03" + "0020220200" + "0060410200" + "002F000200" + "01" + "01" +
				"0600000001" + "1907EA01020503040502A6" + "183FF8000000000000",
		},
		{
			name: "nil value is NULL",
			rows: []HistoryRow{{No: 0xFFFFFFFF, Time: at, Value: nil}},
			want: []Data{DoubleLongUnsigned(0xFFFFFFFF), DateTime{2026, 1, 2, 5, 3, 4, 5, 678}, Null{}},
		},
		{
			name: "time converted to loc",
			rows: []HistoryRow{{No: 7, Time: at.UTC(), Value: Bool(true)}},
			want: []Data{DoubleLongUnsigned(7), DateTime{2026, 1, 2, 5, 3, 4, 5, 678}, Bool(true)},
		},
		{
			name: "string value",
			rows: []HistoryRow{{No: 8, Time: time.Date(2025, 12, 31, 23, 59, 59, 0, histLoc), Value: VisibleString("ok")}},
			want: []Data{DoubleLongUnsigned(8), DateTime{2025, 12, 31, 3, 23, 59, 59, 0}, VisibleString("ok")},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec := HistoryRecord(oadPt1, c.rows, histLoc)
			wantEq(t, "OAD", rec.OAD, oadPt1)
			if cols, _ := AppendData(nil, rec.RCSD); !bytes.Equal(cols, mustHex("6003"+"0020220200"+"0060410200"+"002F000200")) {
				t.Errorf("RCSD %+v", rec.RCSD)
			}
			if len(rec.Rows) != 1 {
				t.Fatalf("%d rows", len(rec.Rows))
			}
			got, _ := AppendData(nil, Structure(rec.Rows[0]))
			want, _ := AppendData(nil, Structure(c.want))
			if !bytes.Equal(got, want) {
				t.Errorf("row %X, want %X", got, want)
			}
			if c.hex != "" {
				b, err := rec.append(nil)
				if err != nil || !bytes.Equal(b, mustHex(c.hex)) {
					t.Errorf("record %X, want %s (%v)", b, c.hex, err)
				}
			}
			rows, err := ParseHistory(rec, histLoc)
			if err != nil {
				t.Fatal(err)
			}
			exp := append([]HistoryRow(nil), c.rows...)
			for i := range exp {
				exp[i].Time = exp[i].Time.Truncate(time.Millisecond)
				if exp[i].Value == nil {
					exp[i].Value = Null{}
				}
			}
			sameHistory(t, "parsed", rows, exp)
			if rows[0].Time.Location() != histLoc {
				t.Errorf("parsed time in %v, want %v", rows[0].Time.Location(), histLoc)
			}
		})
	}
}

// ParseHistory finds the columns by OAD, whatever their order, and
// ignores other columns.
func TestParseHistoryAnyColumnOrder(t *testing.T) {
	at := time.Date(2026, 3, 1, 0, 0, 0, 5_000_000, histLoc)
	rec := ResultRecord{
		OAD:  oadPt1,
		RCSD: RCSD{{OAD: oadPt1}, {IsROAD: true, ROAD: ROAD{OAD: NewOAD(0x50040200), Assoc: []OAD{oadPt1}}}, {OAD: NewOAD(0x40010200)}, {OAD: OADHistoryTime}, {OAD: OADHistoryNo}},
		Rows: [][]Data{
			{Long64(-3), Null{}, Unsigned(1), NewDateTime(at), DoubleLongUnsigned(10)},
			{OctetString{1, 2}, Null{}, Unsigned(2), NewDateTime(at.Add(time.Hour)), DoubleLongUnsigned(11)},
		},
	}
	rows, err := ParseHistory(rec, histLoc)
	if err != nil {
		t.Fatal(err)
	}
	sameHistory(t, "rows", rows, []HistoryRow{{10, at, Long64(-3)}, {11, at.Add(time.Hour), OctetString{1, 2}}})
	if rows, err := ParseHistory(ResultRecord{OAD: oadPt1, RCSD: historyColumns(oadPt1)}, histLoc); err != nil || len(rows) != 0 {
		t.Errorf("no rows: %v %v", rows, err)
	}
}

func TestParseHistoryErrors(t *testing.T) {
	at := NewDateTime(time.Date(2026, 1, 2, 3, 4, 5, 0, histLoc))
	good := []Data{DoubleLongUnsigned(1), at, Float64(2)}
	rec := func(rows ...[]Data) ResultRecord {
		return ResultRecord{OAD: oadPt1, RCSD: historyColumns(oadPt1), Rows: append([][]Data{good}, rows...)}
	}
	for _, c := range []struct {
		name string
		rec  ResultRecord
		want []string // in the message
		dar  bool     // also wraps ErrDAR
	}{
		{"power event record", PowerEventRecord(PowerEvent{Seq: 1, Start: time.Date(2026, 1, 1, 0, 0, 0, 0, histLoc)}, OADChannelGPRS, histLoc), []string{"31060200", "power event"}, false},
		{"DAR record", ResultRecord{OAD: oadPt1, RCSD: historyColumns(oadPt1), IsDAR: true, DAR: DARNotExist}, []string{"2F000200", "no rows", "object does not exist"}, true},
		{"no No column", ResultRecord{OAD: oadPt1, RCSD: RCSD{{OAD: OADHistoryTime}, {OAD: oadPt1}}}, []string{"2F000200", "no column 20220200"}, false},
		{"no Time column", ResultRecord{OAD: oadPt1, RCSD: RCSD{{OAD: OADHistoryNo}, {OAD: oadPt1}}}, []string{"no column 60410200"}, false},
		{"no value column", ResultRecord{OAD: oadPt1, RCSD: RCSD{{OAD: OADHistoryNo}, {OAD: OADHistoryTime}, {OAD: oadPt2}}}, []string{"no column 2F000200"}, false},
		{"value column only as ROAD", ResultRecord{OAD: oadPt1, RCSD: RCSD{{OAD: OADHistoryNo}, {OAD: OADHistoryTime}, {IsROAD: true, ROAD: ROAD{OAD: oadPt1}}}}, []string{"no column 2F000200"}, false},
		{"repeated column", ResultRecord{OAD: oadPt1, RCSD: RCSD{{OAD: OADHistoryNo}, {OAD: OADHistoryTime}, {OAD: oadPt1}, {OAD: OADHistoryNo}}}, []string{"column 20220200 repeated", "0 and 3"}, false},
		{"point OAD is the No column", HistoryRecord(OADHistoryNo, nil, histLoc), []string{"column 20220200 repeated"}, false},
		{"short row", rec([]Data{DoubleLongUnsigned(2), at}), []string{"row 1", "2 cells", "3 columns"}, false},
		{"long row", rec([]Data{DoubleLongUnsigned(2), at, Null{}, Null{}}), []string{"row 1", "4 cells"}, false},
		{"No is double-long", rec([]Data{DoubleLong(2), at, Null{}}), []string{"row 1", "20220200 (No)", "double-long,"}, false},
		{"No is nil", rec([]Data{nil, at, Null{}}), []string{"row 1", "20220200 (No)", "no Data"}, false},
		{"Time is date_time_s", rec([]Data{DoubleLongUnsigned(2), NewDateTimeS(time.Date(2026, 1, 2, 3, 4, 5, 0, histLoc)), Null{}}), []string{"row 1", "60410200 (Time)", "date_time_s"}, false},
		{"Time unspecified hour", rec([]Data{DoubleLongUnsigned(2), DateTime{2026, 1, 2, 5, 0xFF, 0, 0, 0}, Null{}}), []string{"row 1", "60410200 (Time)"}, false},
		{"Time unspecified year", rec([]Data{DoubleLongUnsigned(2), DateTime{0xFFFF, 1, 2, 5, 1, 0, 0, 0}, Null{}}), []string{"row 1", "60410200 (Time)", "no calendar date"}, false},
		{"Time 30 February", rec([]Data{DoubleLongUnsigned(2), DateTime{2026, 2, 30, 0, 1, 0, 0, 0}, Null{}}), []string{"row 1", "60410200 (Time)", "no calendar date"}, false},
		{"Time millisecond 1000", rec([]Data{DoubleLongUnsigned(2), DateTime{2026, 2, 3, 0, 1, 0, 0, 1000}, Null{}}), []string{"row 1", "60410200 (Time)"}, false},
		{"value nil", rec([]Data{DoubleLongUnsigned(2), at, nil}), []string{"row 1", "2F000200 (value)", "no Data"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			rows, err := ParseHistory(c.rec, histLoc)
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("rows %+v, err %v: want ErrInvalid", rows, err)
			}
			if c.dar != errors.Is(err, ErrDAR) {
				t.Errorf("%v: wraps ErrDAR %v, want %v", err, !c.dar, c.dar)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%v: does not say %q", err, w)
				}
			}
		})
	}
}

// Two points' records in one REPORT-Notification-RecordList survive
// EncodeAPDU/DecodeAPDU.
func TestHistoryReportRoundTrip(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 1, 0, 0, 123_000_000, histLoc)
	rows1 := []HistoryRow{{1, t0, Float64(230.1)}, {2, t0.Add(time.Minute), Null{}}, {3, t0.Add(2 * time.Minute), Float64(math.Inf(-1))}}
	rows2 := []HistoryRow{{4, t0, Bool(false)}, {5, t0.Add(time.Second), VisibleString("closed")}, {6, t0, Long64(math.MinInt64)}}
	n := &ReportNotificationRecordList{PIID: PIIDACD(17), Records: []ResultRecord{HistoryRecord(oadPt1, rows1, histLoc), HistoryRecord(oadPt2, rows2, histLoc)}}
	b, err := EncodeAPDU(n)
	if err != nil {
		t.Fatal(err)
	}
	a, err := DecodeAPDU(b)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := a.(*ReportNotificationRecordList)
	if !ok || len(got.Records) != 2 {
		t.Fatalf("decoded %#v", a)
	}
	wantEq(t, "PIID", got.PIID, PIIDACD(17))
	for i, want := range []struct {
		oad  OAD
		rows []HistoryRow
	}{{oadPt1, rows1}, {oadPt2, rows2}} {
		wantEq(t, "OAD", got.Records[i].OAD, want.oad)
		rows, err := ParseHistory(got.Records[i], histLoc)
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		sameHistory(t, want.oad.String(), rows, want.rows)
	}
	// Elsewhere the same instants read in UTC.
	rows, err := ParseHistory(got.Records[0], time.UTC)
	if err != nil || !rows[0].Time.Equal(t0.Add(8*time.Hour)) {
		t.Errorf("in UTC: %v %v (a wall clock read in another zone is another instant)", rows, err)
	}
}

// recordsOf returns the A-ResultRecords an APDU carries.
func recordsOf(a APDU) []ResultRecord {
	var recs []ResultRecord
	var tr ServerTrailer
	switch a := a.(type) {
	case *ReportNotificationRecordList:
		recs, tr = append(recs, a.Records...), a.ServerTrailer
	case *ReportNotificationList:
		tr = a.ServerTrailer
	}
	if tr.FollowReport != nil {
		recs = append(recs, tr.FollowReport.Records...)
	}
	return recs
}

// FuzzParseHistory: decoding arbitrary APDU bytes and parsing any record
// never panics, and parsed rows re-encode (HistoryRecord) to the very
// cells they came from, which parse to the same rows.
func FuzzParseHistory(f *testing.F) {
	t0 := time.Date(2026, 11, 27, 1, 0, 0, 123_000_000, histLoc)
	for _, recs := range [][]ResultRecord{
		{HistoryRecord(oadPt1, []HistoryRow{{1, t0, Float64(1)}, {2, t0, Null{}}}, histLoc), HistoryRecord(oadPt2, []HistoryRow{{3, t0, OctetString{9}}}, histLoc)},
		{{OAD: oadPt1, RCSD: RCSD{{OAD: OADHistoryTime}, {OAD: oadPt1}, {OAD: OADHistoryNo}}, Rows: [][]Data{{DateTime{2024, 2, 29, 4, 23, 59, 59, 999}, Structure{Unsigned(1)}, DoubleLongUnsigned(5)}}}},
		{PowerEventRecord(PowerEvent{Seq: 3, Start: t0}, OADChannelGPRS, histLoc)},
	} {
		b, err := EncodeAPDU(&ReportNotificationRecordList{PIID: 5, Records: recs})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		a, err := DecodeAPDU(in)
		if err != nil {
			return
		}
		for _, rec := range recordsOf(a) {
			rows, err := ParseHistory(rec, histLoc)
			if err != nil {
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("error does not wrap ErrInvalid: %v", err)
				}
				continue
			}
			again := HistoryRecord(rec.OAD, rows, histLoc)
			col := map[OAD]int{}
			for i, c := range rec.RCSD {
				if !c.IsROAD {
					col[c.OAD] = i
				}
			}
			for i, row := range again.Rows {
				for j, o := range []OAD{OADHistoryNo, OADHistoryTime, rec.OAD} {
					want := rec.Rows[i][col[o]]
					if dt, ok := want.(DateTime); ok {
						dt.Weekday = row[j].(DateTime).Weekday // recomputed, not carried
						want = dt
					}
					g, _ := AppendData(nil, row[j])
					w, _ := AppendData(nil, want)
					if !bytes.Equal(g, w) {
						t.Fatalf("record %v row %d column %v: re-encoded %X, received %X", rec.OAD, i, o, g, w)
					}
				}
			}
			b, err := EncodeAPDU(&ReportNotificationRecordList{Records: []ResultRecord{again}})
			if err != nil {
				t.Fatalf("re-encode: %v", err)
			}
			a2, err := DecodeAPDU(b)
			if err != nil {
				t.Fatalf("decode re-encoded %X: %v", b, err)
			}
			rows2, err := ParseHistory(a2.(*ReportNotificationRecordList).Records[0], histLoc)
			if err != nil {
				t.Fatalf("parse re-encoded: %v", err)
			}
			sameHistory(t, "re-parsed", rows2, rows)
		}
	})
}

// TestDateTimeNoCalendarDate: both Time methods refuse a day the month
// does not have and an unspecified year, naming the value.
func TestDateTimeNoCalendarDate(t *testing.T) {
	for _, c := range []struct {
		name string
		f    func() (time.Time, error)
		want string
	}{
		{"date_time 30 Feb", func() (time.Time, error) { return DateTime{2026, 2, 30, 0, 1, 2, 3, 0}.Time(time.UTC) }, "2026-02-30"},
		{"date_time year 0xFFFF", func() (time.Time, error) { return DateTime{0xFFFF, 1, 2, 0, 1, 2, 3, 0}.Time(time.UTC) }, "65535-01-02"},
		{"date_time_s 31 Apr", func() (time.Time, error) { return DateTimeS{2026, 4, 31, 1, 2, 3}.Time(time.UTC) }, "2026-04-31"},
		{"date_time_s year 0xFFFF", func() (time.Time, error) { return DateTimeS{0xFFFF, 1, 2, 1, 2, 3}.Time(time.UTC) }, "65535-01-02"},
	} {
		_, err := c.f()
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "no calendar date") {
			t.Errorf("%s: err %v, want ErrInvalid naming %s as no calendar date", c.name, err, c.want)
		}
	}
	if got, err := (DateTimeS{2028, 2, 29, 1, 2, 3}).Time(time.UTC); err != nil || got.Day() != 29 {
		t.Errorf("29 Feb 2028: %v, %v", got, err)
	}
}
