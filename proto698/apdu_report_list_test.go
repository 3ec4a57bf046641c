package proto698

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// reportListVectors are REPORT-Notification-List / REPORT-Response-List
// APDUs written out by hand from the standard's layout (see
// apdu_report_list.go), not produced by the encoder under test.
var reportListVectors = []struct {
	name  string
	hex   string
	check func(t *testing.T, a APDU)
}{
	{
		// A value, an invalid value (Data NULL: 01 00) and a DAR (00 04).
		name: "notification value NULL DAR",
		hex:  "88010503" + "20000201" + "01" + "1208FD" + "20010200" + "01" + "00" + "200F0200" + "00" + "04" + "0000",
		check: func(t *testing.T, a APDU) {
			n := as[*ReportNotificationList](t, a)
			wantEq(t, "piid", n.PIID, PIIDACD(5))
			if len(n.Results) != 3 {
				t.Fatalf("%d results, want 3", len(n.Results))
			}
			wantEq(t, "oad 0", n.Results[0].OAD, NewOAD(0x20000201))
			wantEq(t, "data 0", n.Results[0].Data, Data(LongUnsigned(2301)))
			wantEq(t, "oad 1", n.Results[1].OAD, NewOAD(0x20010200))
			wantEq(t, "data 1 (invalid)", n.Results[1].Data, Data(Null{}))
			wantEq(t, "oad 2", n.Results[2].OAD, OADFrequency)
			if n.Results[2].Data != nil || n.Results[2].DAR != DARUndefined {
				t.Errorf("result 2 = %+v, want DAR object undefined", n.Results[2])
			}
			noTrailer(t, n.ServerTrailer)
		},
	},
	{
		name: "notification ACD priority time tag",
		hex:  "8801C101" + "40000200" + "01" + "1C07EA0B1B081E00" + "00" + "01" + "07EA0B1B010203" + "010005",
		check: func(t *testing.T, a APDU) {
			n := as[*ReportNotificationList](t, a)
			if !n.PIID.ACD() || !n.PIID.HighPriority() || n.PIID.Seq() != 1 {
				t.Errorf("piid-acd %02X: want ACD, high priority, seq 1", uint8(n.PIID))
			}
			wantEq(t, "data", n.Results[0].Data, Data(DateTimeS{2026, 11, 27, 8, 30, 0}))
			if n.FollowReport != nil || n.TimeTag == nil || *n.TimeTag != *tt {
				t.Errorf("trailer %+v, want no follow report and time tag %+v", n.ServerTrailer, *tt)
			}
		},
	},
	{
		name: "notification empty",
		hex:  "880100000000",
		check: func(t *testing.T, a APDU) {
			wantEq(t, "results", len(as[*ReportNotificationList](t, a).Results), 0)
		},
	},
	{
		name: "response three OADs",
		hex:  "08010503" + "20000201" + "20010200" + "200F0200" + "00",
		check: func(t *testing.T, a APDU) {
			r := as[*ReportResponseList](t, a)
			wantEq(t, "piid", r.PIID, PIID(5))
			if len(r.OADs) != 3 || r.OADs[0] != NewOAD(0x20000201) || r.OADs[2] != OADFrequency {
				t.Errorf("oads %v", r.OADs)
			}
			if r.TimeTag != nil {
				t.Error("time tag present")
			}
		},
	},
	{
		name: "response time tag",
		hex:  "08013F01" + "20000200" + "01" + "07EA0B1B010203" + "010005",
		check: func(t *testing.T, a APDU) {
			r := as[*ReportResponseList](t, a)
			wantEq(t, "piid seq", r.PIID.Seq(), 0x3F)
			if r.TimeTag == nil || *r.TimeTag != *tt {
				t.Errorf("time tag %+v", r.TimeTag)
			}
		},
	},
}

func TestReportListVectors(t *testing.T) {
	for _, v := range reportListVectors {
		t.Run(v.name, func(t *testing.T) {
			raw := mustHex(v.hex)
			a, err := DecodeAPDU(raw)
			if err != nil {
				t.Fatal(err)
			}
			v.check(t, a)
			b, err := EncodeAPDU(a)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b, raw) {
				t.Errorf("re-encoded\n got %X\nwant %X", b, raw)
			}
		})
	}
}

func TestReportListServiceNames(t *testing.T) {
	wantEq(t, "notification", (&ReportNotificationList{}).Service(), "REPORT-Notification-List")
	wantEq(t, "response", (&ReportResponseList{}).Service(), "REPORT-Response-List")
}

func TestReportListDecodeErrors(t *testing.T) {
	tests := []struct {
		hex    string
		field  string
		offset int
		err    error
	}{
		// Two results announced, bytes for one.
		{"88010502" + "20000201" + "011208FD", "REPORT-Notification-List.count", 3, ErrTruncated},
		{"88010501" + "20000200" + "02" + "000000", "REPORT-Notification-List.result choice", 8, ErrInvalid},
		{"88010501" + "20000200" + "01" + "FF" + "0000", "REPORT-Notification-List.Data.type", 9, ErrUnsupported},
		{"88010501" + "20000200" + "00" + "04" + "02" + "00", "REPORT-Notification-List.FollowReport", 10, ErrInvalid},
		{"08010501" + "200002", "REPORT-Response-List.count", 3, ErrTruncated},
		{"0801050002", "REPORT-Response-List.TimeTag", 4, ErrInvalid},
		{"0803050000", "APDU choice", 1, ErrUnsupported}, // ReportResponseTransData: not decoded
	}
	for _, tc := range tests {
		_, err := DecodeAPDU(mustHex(tc.hex))
		var fe *FrameError
		if !errors.As(err, &fe) {
			t.Errorf("%s: err = %v, want *FrameError", tc.hex, err)
			continue
		}
		if fe.Field != tc.field || fe.Offset != tc.offset || !errors.Is(err, tc.err) {
			t.Errorf("%s: got %q at %d (%v), want %q at %d (%v)", tc.hex, fe.Field, fe.Offset, fe.Err, tc.field, tc.offset, tc.err)
		}
	}
}

func TestDescribeReportList(t *testing.T) {
	a, err := DecodeAPDU(mustHex(reportListVectors[0].hex))
	if err != nil {
		t.Fatal(err)
	}
	js, err := json.Marshal(DescribeAPDU(a))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`"service":"REPORT-Notification-List"`,
		`"data":{"type":"long-unsigned","value":2301},"oad":"20000201","object":"voltage"`,
		`"data":{"type":"NULL","value":null},"oad":"20010200"`,
		`"dar":{"code":4,"text":"object undefined"},"oad":"200F0200"`,
	} {
		if !strings.Contains(string(js), want) {
			t.Errorf("describe %s\nlacks %s", js, want)
		}
	}
	r, err := DecodeAPDU(mustHex(reportListVectors[3].hex))
	if err != nil {
		t.Fatal(err)
	}
	js, _ = json.Marshal(DescribeAPDU(r))
	if want := `"oads":["20000201","20010200","200F0200"]`; !strings.Contains(string(js), want) {
		t.Errorf("describe %s\nlacks %s", js, want)
	}
}
