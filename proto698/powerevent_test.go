package proto698

import (
	"bytes"
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
