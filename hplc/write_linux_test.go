package hplc

import (
	"context"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"holdup/hplc/dlt645"
)

// readItem reads item di of the meter at a through the module and returns
// its first value ("15") or, for an item outside the table, its raw bytes.
func readItem(t *testing.T, ctx context.Context, m *Module, a Addr, di dlt645.DI) string {
	t.Helper()
	req := dlt645.NewRead(dlt645.Address(a), di)
	b, _ := req.Encode()
	resp, err := m.MonitorNode(ctx, a, b)
	if err != nil {
		t.Fatalf("read %s: %v", di, err)
	}
	f, _, err := dlt645.Decode(resp)
	if err != nil {
		t.Fatal(err)
	}
	got, val, err := f.ReadResponse()
	if err != nil || got != di {
		t.Fatalf("read %s: answer DI %s, %v", di, got, err)
	}
	vals, known, err := dlt645.DecodeValues(di, val)
	if err != nil {
		t.Fatalf("read %s: %v", di, err)
	}
	if !known {
		return hex.EncodeToString(val)
	}
	return vals[0].String()
}

func writeValue(ctx context.Context, m *Module, a Addr, di dlt645.DI, pw dlt645.Password, v float64) error {
	data, err := dlt645.EncodeValue(di, v)
	if err != nil {
		return err
	}
	return m.WriteMeter(ctx, a, dlt645.WriteRequest{DI: di, Password: pw, Operator: 0x20240520, Data: data})
}

func TestWriteMeterEndToEnd(t *testing.T) {
	r := newRig(t, fastSim(SimConfig{Master: testMaster, Nodes: []Node{{Addr: meter1, Protocol: 2}}}),
		fastModule(Config{Master: testMaster}), nil)
	ctx := ctxT(t, 20*time.Second)
	pw := DefaultSimPassword

	// A parameter write is applied and reads back.
	if v := readItem(t, ctx, r.mod, meter1, dlt645.DIDemandPeriod); v != "15" {
		t.Fatalf("factory demand period %s, want 15", v)
	}
	if err := writeValue(ctx, r.mod, meter1, dlt645.DIDemandPeriod, pw, 30); err != nil {
		t.Fatalf("write demand period: %v", err)
	}
	if v := readItem(t, ctx, r.mod, meter1, dlt645.DIDemandPeriod); v != "30" {
		t.Errorf("demand period after write %s, want 30", v)
	}
	// The meter logged the programming event with the operator code.
	if v := readItem(t, ctx, r.mod, meter1, dlt645.DIProgramCount); v != "1" {
		t.Errorf("programming count %s, want 1", v)
	}
	rec := readItem(t, ctx, r.mod, meter1, dlt645.DILastProgramRecord)
	// 6 time bytes, operator 20240520 low byte first, DI 04000103 low byte first, FF padding.
	if len(rec) != 100 || rec[12:28] != "2005242003010004" || rec[28:36] != "ffffffff" {
		t.Errorf("last programming record %s", rec)
	}

	refused := []struct {
		name string
		di   dlt645.DI
		pw   dlt645.Password
		data []byte
		flag dlt645.ErrorCode
	}{
		{"wrong password", dlt645.DIDemandPeriod, dlt645.Password{Level: 2, Code: 0x654321}, []byte{0x60}, dlt645.ErrCodeAuth},
		{"level the meter does not hold", dlt645.DIDemandPeriod, dlt645.Password{Level: 4, Code: 0x123456}, []byte{0x60}, dlt645.ErrCodeAuth},
		{"read-only item", dlt645.DIActiveConstant, pw, []byte{0x00, 0x16, 0x00}, dlt645.ErrCodeAuth},
		{"measurement", dlt645.DIVoltageA, pw, []byte{0x00, 0x22}, dlt645.ErrCodeAuth},
		{"unknown item", 0x04009999, pw, []byte{0x01}, dlt645.ErrCodeNoData},
		{"year zones above 14", dlt645.DIYearZones, pw, []byte{0x15}, dlt645.ErrCodeYearZones},
		{"day periods above 14", dlt645.DIDayPeriods, pw, []byte{0x15}, dlt645.ErrCodeDaySegments},
		{"tariffs above 63", dlt645.DITariffs, pw, []byte{0x64}, dlt645.ErrCodeTariffs},
		{"day tables above 8", dlt645.DIDayTables, pw, []byte{0x09}, dlt645.ErrCodeOther},
		{"value too long", dlt645.DIDemandPeriod, pw, []byte{0x60, 0x00}, dlt645.ErrCodeOther},
		{"not BCD", dlt645.DIDemandPeriod, pw, []byte{0x6A}, dlt645.ErrCodeOther},
		{"no such time", dlt645.DITime, pw, []byte{0x00, 0x00, 0x25}, dlt645.ErrCodeOther},
	}
	for _, tc := range refused {
		err := r.mod.WriteMeter(ctx, meter1, dlt645.WriteRequest{DI: tc.di, Password: tc.pw, Operator: 1, Data: tc.data})
		var ee *dlt645.ExceptionError
		if !errors.As(err, &ee) || ee.Code != tc.flag || !errors.Is(err, dlt645.ErrException) || !errors.Is(err, tc.flag) {
			t.Errorf("%s: %v, want exception %s", tc.name, err, tc.flag)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, tc.di.String()) || !strings.Contains(msg, meter1.String()) {
			t.Errorf("%s: message %q does not name the item and the meter", tc.name, msg)
		}
	}
	// Nothing refused was applied or logged.
	if v := readItem(t, ctx, r.mod, meter1, dlt645.DIDemandPeriod); v != "30" {
		t.Errorf("demand period after refused writes %s, want 30", v)
	}
	if v := readItem(t, ctx, r.mod, meter1, dlt645.DIActiveConstant); v != "1200" {
		t.Errorf("meter constant %s, want 1200", v)
	}
	if v := readItem(t, ctx, r.mod, meter1, dlt645.DIProgramCount); v != "1" {
		t.Errorf("programming count %s after refused writes, want 1", v)
	}

	// The clock: time of day, then the date; both read back.
	if err := writeValue(ctx, r.mod, meter1, dlt645.DITime, pw, 120000); err != nil {
		t.Fatalf("write time: %v", err)
	}
	if err := writeValue(ctx, r.mod, meter1, dlt645.DIDateWeek, pw, 24052001); err != nil {
		t.Fatalf("write date: %v", err)
	}
	if v := readItem(t, ctx, r.mod, meter1, dlt645.DIDateWeek); v != "24052001" {
		t.Errorf("date %s, want 24052001 (Monday 20 May 2024)", v)
	}
	// The meter's clock runs on: the time reads back at or after 12:00:00
	// and well before the test's deadline has passed.
	if v, _ := strconv.Atoi(readItem(t, ctx, r.mod, meter1, dlt645.DITime)); v < 120000 || v > 120100 {
		t.Errorf("time %06d, want 120000 plus the seconds the test took", v)
	}

	// A write is point to point: a broadcast write gets no answer and the
	// module reports that the node did not answer.
	bc, _ := dlt645.NewWrite(dlt645.BroadcastAddress, dlt645.DIDemandPeriod, pw, 1, []byte{0x05})
	b, _ := bc.Encode()
	_, err := r.mod.MonitorNode(ctx, meter1, b)
	var de *DenyError
	if !errors.As(err, &de) || de.Reason != DenyNodeNoAnswer {
		t.Errorf("broadcast write: %v, want deny node-did-not-answer", err)
	}
	if v := readItem(t, ctx, r.mod, meter1, dlt645.DIDemandPeriod); v != "30" {
		t.Errorf("demand period after broadcast write %s, want 30", v)
	}
}

func TestWriteMeterPasswordsAndLockout(t *testing.T) {
	level4 := dlt645.Password{Level: 4, Code: 0x000000}
	scfg := fastSim(SimConfig{Master: testMaster, Nodes: []Node{{Addr: meter1, Protocol: 2}}})
	scfg.Meters = map[Addr]SimMeter{meter1: {Passwords: []dlt645.Password{level4}, LockAfter: 2,
		Params: map[dlt645.DI]int64{dlt645.DITariffs: 2}}}
	r := newRig(t, scfg, fastModule(Config{Master: testMaster}), nil)
	ctx := ctxT(t, 20*time.Second)

	if v := readItem(t, ctx, r.mod, meter1, dlt645.DITariffs); v != "2" {
		t.Fatalf("configured tariff count %s, want 2", v)
	}
	// The default password is not this meter's.
	if err := writeValue(ctx, r.mod, meter1, dlt645.DITariffs, DefaultSimPassword, 4); !errors.Is(err, dlt645.ErrCodeAuth) {
		t.Fatalf("default password on a meter without it: %v", err)
	}
	if err := writeValue(ctx, r.mod, meter1, dlt645.DITariffs, level4, 4); err != nil {
		t.Fatalf("write with the meter's level-04 password: %v", err)
	}
	if v := readItem(t, ctx, r.mod, meter1, dlt645.DITariffs); v != "4" {
		t.Errorf("tariff count %s, want 4", v)
	}
	// Two wrong level-04 passwords in a row lock level 04.
	for range 2 {
		if err := writeValue(ctx, r.mod, meter1, dlt645.DITariffs, dlt645.Password{Level: 4, Code: 0x111111}, 6); !errors.Is(err, dlt645.ErrCodeAuth) {
			t.Fatalf("wrong password: %v", err)
		}
	}
	if err := writeValue(ctx, r.mod, meter1, dlt645.DITariffs, level4, 6); !errors.Is(err, dlt645.ErrCodeAuth) {
		t.Errorf("right password on a locked level: %v, want password error", err)
	}
	if v := readItem(t, ctx, r.mod, meter1, dlt645.DITariffs); v != "4" {
		t.Errorf("tariff count %s after the locked write, want 4", v)
	}
	// Replacing the meter (a new day, in effect) unlocks it.
	if err := r.sim.SetMeter(ctx, meter1, scfg.Meters[meter1]); err != nil {
		t.Fatal(err)
	}
	if err := writeValue(ctx, r.mod, meter1, dlt645.DITariffs, level4, 6); err != nil {
		t.Errorf("write after SetMeter: %v", err)
	}
	// The configuration map was copied, never written through.
	if scfg.Meters[meter1].Params[dlt645.DITariffs] != 2 {
		t.Errorf("simulator wrote into the caller's Params map: %v", scfg.Meters[meter1].Params)
	}
}

func TestWriteMeterLocalErrors(t *testing.T) {
	r := newRig(t, fastSim(SimConfig{Master: testMaster, Nodes: []Node{{Addr: meter1, Protocol: 2}}}),
		fastModule(Config{Master: testMaster}), nil)
	ctx := ctxT(t, 10*time.Second)

	// A node the module does not have: the deny travels back, naming the item.
	err := writeValue(ctx, r.mod, meter2, dlt645.DIDemandPeriod, DefaultSimPassword, 30)
	var de *DenyError
	if !errors.As(err, &de) || de.Reason != DenyNodeNotInNet || !strings.Contains(err.Error(), "04000103") {
		t.Errorf("unknown node: %v", err)
	}
	// An offline meter does not answer.
	if err := r.sim.SetMeter(ctx, meter1, SimMeter{Offline: true}); err != nil {
		t.Fatal(err)
	}
	err = writeValue(ctx, r.mod, meter1, dlt645.DIDemandPeriod, DefaultSimPassword, 30)
	if !errors.As(err, &de) || de.Reason != DenyNodeNoAnswer {
		t.Errorf("offline meter: %v", err)
	}
	// A password that does not fit is refused before anything is sent.
	st, _ := r.sim.State(ctx)
	err = r.mod.WriteMeter(ctx, meter1, dlt645.WriteRequest{DI: dlt645.DIDemandPeriod, Password: dlt645.Password{Code: 0x1234567}})
	if !errors.Is(err, dlt645.ErrRange) {
		t.Errorf("7-digit password: %v", err)
	}
	if st2, _ := r.sim.State(ctx); len(st2.Commands) != len(st.Commands) {
		t.Errorf("a refused write reached the module: %v", st2.Commands[len(st.Commands):])
	}
}
