package proto698

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

// The report built from a PowerEvent reproduces the public 3106 vector
// byte for byte, and parsing the vector yields that event.
func TestPowerEventMatchesVector(t *testing.T) {
	raw := loadVectors(t)[17-2].raw
	f, _, err := DecodeFrame(raw)
	if err != nil {
		t.Fatal(err)
	}
	loc := time.FixedZone("CST", 8*3600)
	ev := PowerEvent{Seq: 24, Kind: PowerOff, Start: time.Date(2025, 4, 10, 11, 29, 38, 0, loc)}
	apdu, err := EncodeAPDU(&ReportNotificationRecordList{PIID: 9, Records: []ResultRecord{PowerEventRecord(ev, OADChannelGPRS, loc)}})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(apdu, f.Data) {
		t.Errorf("built\n%X\nvector\n%X", apdu, f.Data)
	}
	a, _ := DecodeAPDU(f.Data)
	evs, err := ParsePowerEvents(a.(*ReportNotificationRecordList).Records[0], loc)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].Seq != 24 || evs[0].Kind != PowerOff || !evs[0].Start.Equal(ev.Start) || !evs[0].End.IsZero() {
		t.Errorf("parsed %+v", evs)
	}
	on := PowerEvent{Seq: 24, Kind: PowerOn, Start: ev.Start, End: ev.Start.Add(3 * time.Minute)}
	evs, err = ParsePowerEvents(PowerEventRecord(on, OADChannelGPRS, loc), loc)
	if err != nil || len(evs) != 1 || evs[0].Kind != PowerOn || !evs[0].End.Equal(on.End) {
		t.Errorf("power-on round trip: %+v %v", evs, err)
	}
}

// ParsePowerEvents refuses a repeated or missing column and a start that
// is no calendar date (30 February).
func TestParsePowerEventsRejects(t *testing.T) {
	loc := time.FixedZone("CST", 8*3600)
	ev := PowerEvent{Seq: 3, Kind: PowerOff, Start: time.Date(2025, 4, 10, 11, 29, 38, 0, loc)}
	dup := PowerEventRecord(ev, OADChannelGPRS, loc)
	dup.RCSD = append(RCSD{}, dup.RCSD...)
	dup.RCSD[5] = dup.RCSD[0]
	missing := PowerEventRecord(ev, OADChannelGPRS, loc)
	missing.RCSD = append(RCSD{}, missing.RCSD...)
	missing.RCSD[1] = CSD{OAD: OAD{OI: 0x4000, Attr: 2}}
	feb30 := PowerEventRecord(ev, OADChannelGPRS, loc)
	feb30.Rows = [][]Data{append([]Data{}, feb30.Rows[0]...)}
	feb30.Rows[0][1] = DateTimeS{2025, 2, 30, 1, 2, 3}
	for _, c := range []struct {
		name string
		rec  ResultRecord
		want string
	}{
		{"repeated", dup, "column " + OADEventSeq.String() + " repeated (RCSD 0 and 5)"},
		{"missing", missing, "no column " + OADEventStart.String()},
		{"30 Feb", feb30, "no calendar date"},
	} {
		_, err := ParsePowerEvents(c.rec, loc)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want ErrInvalid with %q", c.name, err, c.want)
		}
	}
}
