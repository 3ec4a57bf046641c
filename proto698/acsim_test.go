package proto698

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

var simClock = time.Date(2026, 11, 27, 8, 30, 0, 0, time.UTC)

func fixedClock() time.Time { return simClock }

// loadedSim is a unit measuring a small three-phase load.
func loadedSim(t *testing.T, cfg ACSimConfig) (*ACSim, *ACClient) {
	t.Helper()
	cfg.Addr = mustAddr("012503200001")
	cfg.Baud = 115200
	cfg.Voltages = [3]float64{230.1, 229.9, 231}
	cfg.Now = fixedClock
	sim, port := startACSim(t, cfg)
	sim.SetCurrents([3]float64{1.234, 0.5, 0})
	sim.SetActivePower([4]float64{396.2, 280.1, 116.1, 0})
	sim.SetPowerFactor([4]float64{0.987, 0.99, -0.5, 1})
	sim.SetFrequency(49.98)
	sim.SetActiveEnergy([5]float64{1234.56, 100, 200.01, 300, 634.55})
	return sim, NewACClient(port, ACClientConfig{Addr: cfg.Addr, Timeout: time.Second}, nil)
}

func TestACSimGet(t *testing.T) {
	_, c := loadedSim(t, ACSimConfig{})
	for _, tc := range []struct {
		name string
		oad  uint32
		want Data
		dar  DAR
	}{
		{"voltage all", 0x20000200, Array{LongUnsigned(2301), LongUnsigned(2299), LongUnsigned(2310)}, 0},
		{"voltage scaler", 0x20000300, ScalerUnit{-1, 35}, 0},
		{"current all", 0x20010200, Array{DoubleLong(1234), DoubleLong(500), DoubleLong(0)}, 0},
		{"current phase A", 0x20010201, DoubleLong(1234), 0},
		{"current phase C", 0x20010203, DoubleLong(0), 0},
		{"current phase 4", 0x20010204, nil, DAROutOfRange},
		{"active power all", 0x20040200, Array{DoubleLong(3962), DoubleLong(2801), DoubleLong(1161), DoubleLong(0)}, 0},
		{"active power total", 0x20040201, DoubleLong(3962), 0},
		{"active power phase B", 0x20040203, DoubleLong(1161), 0},
		{"power factor all", 0x200A0200, Array{Long(987), Long(990), Long(-500), Long(1000)}, 0},
		{"power factor phase B", 0x200A0203, Long(-500), 0},
		{"frequency", 0x200F0200, LongUnsigned(4998), 0},
		{"frequency has no elements", 0x200F0201, nil, DAROutOfRange},
		{"forward active energy", 0x00100200, Array{DoubleLongUnsigned(123456), DoubleLongUnsigned(10000), DoubleLongUnsigned(20001), DoubleLongUnsigned(30000), DoubleLongUnsigned(63455)}, 0},
		{"forward active energy total", 0x00100201, DoubleLongUnsigned(123456), 0},
		{"combined active energy", 0x00000200, Array{DoubleLong(123456), DoubleLong(10000), DoubleLong(20001), DoubleLong(30000), DoubleLong(63455)}, 0},
		{"date-time", 0x40000200, DateTimeS{2026, 11, 27, 8, 30, 0}, 0},
		{"address", 0x40010200, OctetString{0x01, 0x25, 0x03, 0x20, 0x00, 0x01}, 0},
		{"loss-of-voltage parameters", 0x30000500, Structure{LongUnsigned(1716), LongUnsigned(1870), DoubleLong(250), Unsigned(60)}, 0},
		{"loss-of-voltage delay", 0x30000504, Unsigned(60), 0},
		{"multi-function terminal", 0xF2070200, Array{Enum(0)}, 0},
		{"unknown object", 0x20020200, nil, DARUndefined},
		{"unknown attribute", 0x20010700, nil, DARUndefined},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := c.Get(context.Background(), NewOAD(tc.oad))
			if tc.dar != DARSuccess {
				var de *DARError
				if !errors.As(err, &de) || de.DAR != tc.dar {
					t.Fatalf("GET %08X = %v, %v; want DAR %v", tc.oad, got, err, tc.dar)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("GET %08X = %#v, %v; want %#v", tc.oad, got, err, tc.want)
			}
		})
	}
}

func TestACSimGetList(t *testing.T) {
	addr := mustAddr("012503200001")
	sim, port := startACSim(t, ACSimConfig{Addr: addr, Baud: 115200, Voltages: [3]float64{230, 231, 232}})
	sim.SetFrequency(50.02)
	c := NewACClient(port, ACClientConfig{Addr: addr, Timeout: time.Second}, nil)
	apdu, _ := EncodeAPDU(&GetRequestNormalList{PIID: 9, OADs: []OAD{OADFrequency, NewOAD(0x20000202), NewOAD(0x99990200)}})
	req, _ := AppendFrame(nil, &Frame{Control: NewControl(false, true, false, false, FuncUserData), Addr: addr, Data: apdu})
	if _, err := port.Write(req); err != nil {
		t.Fatal(err)
	}
	var got *GetResponseNormalList
	err := readFrames(context.Background(), port, &c.d, c.buf, time.Now().Add(time.Second), func(raw []byte, _ int) bool {
		f, _, err := DecodeFrame(raw)
		if err != nil {
			return false
		}
		a, err := DecodeAPDU(f.Data)
		got, _ = a.(*GetResponseNormalList)
		return err == nil && got != nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []ResultNormal{{OAD: OADFrequency, Data: LongUnsigned(5002)}, {OAD: NewOAD(0x20000202), Data: LongUnsigned(2310)}, {OAD: NewOAD(0x99990200), DAR: DARUndefined}}
	wantEq(t, "PIID", got.PIID, 9)
	if !reflect.DeepEqual(got.Results, want) {
		t.Errorf("results %+v, want %+v", got.Results, want)
	}
}

// With mains lost (LostZero) the unit still answers: residual voltage and
// nothing else measured; energy registers and parameters keep their values.
func TestACSimMainsLostZeroReadings(t *testing.T) {
	sim, c := loadedSim(t, ACSimConfig{LostMode: LostZero, ResidualVolts: 1.5})
	sim.SetMainsLost(true)
	ctx := context.Background()
	for _, tc := range []struct {
		oad  OAD
		want Data
	}{
		{OADVoltageAll, Array{LongUnsigned(15), LongUnsigned(15), LongUnsigned(15)}},
		{OADCurrentAll, Array{DoubleLong(0), DoubleLong(0), DoubleLong(0)}},
		{OADActivePowerAll, Array{DoubleLong(0), DoubleLong(0), DoubleLong(0), DoubleLong(0)}},
		{OADPowerFactorAll, Array{Long(0), Long(0), Long(0), Long(0)}},
		{OADFrequency, LongUnsigned(0)},
		{NewOAD(0x00100201), DoubleLongUnsigned(123456)},
	} {
		if got, err := c.Get(ctx, tc.oad); err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("mains lost: GET %v = %#v, %v; want %#v", tc.oad, got, err, tc.want)
		}
	}
	// Parameters can still be written on the unit's own supply.
	if err := c.Set(ctx, OADMultiFunctionPort, Array{Enum(1)}); err != nil {
		t.Errorf("SET while mains lost: %v", err)
	}
	sim.SetMainsLost(false)
	if got, err := c.Get(ctx, OADFrequency); err != nil || got != LongUnsigned(4998) {
		t.Errorf("mains back: frequency = %v, %v", got, err)
	}
}

func TestACClientSet(t *testing.T) {
	_, c := loadedSim(t, ACSimConfig{})
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		oad      uint32
		value    Data
		dar      DAR
		readback uint32 // 0: the same OAD
		want     Data   // readback value; nil: the value written
	}{
		{"date-time", 0x40000200, DateTimeS{2027, 1, 2, 3, 4, 5}, 0, 0, nil},
		{"date-time 31 February", 0x40000200, DateTimeS{2027, 2, 31, 3, 4, 5}, DAROutOfRange, 0, DateTimeS{2027, 1, 2, 3, 4, 5}},
		{"date-time wrong type", 0x40000200, DateTime{Year: 2027, Month: 1, Day: 2}, DARTypeMismatch, 0, DateTimeS{2027, 1, 2, 3, 4, 5}},
		{"loss-of-voltage parameters", 0x30000500, Structure{LongUnsigned(1760), LongUnsigned(1980), DoubleLong(500), Unsigned(30)}, 0, 0, nil},
		{"loss-of-voltage delay element", 0x30000504, Unsigned(90), 0, 0x30000500, Structure{LongUnsigned(1760), LongUnsigned(1980), DoubleLong(500), Unsigned(90)}},
		{"loss-of-voltage trigger above recovery", 0x30000501, LongUnsigned(2000), DAROutOfRange, 0x30000500, Structure{LongUnsigned(1760), LongUnsigned(1980), DoubleLong(500), Unsigned(90)}},
		{"loss-of-voltage short structure", 0x30000500, Structure{LongUnsigned(1760), LongUnsigned(1980)}, DARTypeMismatch, 0, Structure{LongUnsigned(1760), LongUnsigned(1980), DoubleLong(500), Unsigned(90)}},
		{"loss-of-voltage element wrong type", 0x30000503, LongUnsigned(5), DARTypeMismatch, 0x30000503, DoubleLong(500)},
		{"loss-of-voltage element 5", 0x30000505, Unsigned(1), DAROutOfRange, 0, nil},
		{"multi-function terminal", 0xF2070200, Array{Enum(2)}, 0, 0, nil},
		{"multi-function terminal element", 0xF2070201, Enum(1), 0, 0xF2070200, Array{Enum(1)}},
		{"multi-function terminal bad mode", 0xF2070201, Enum(3), DAROutOfRange, 0xF2070200, Array{Enum(1)}},
		{"voltage is measured", 0x20000201, LongUnsigned(2200), DARReadDenied, 0, LongUnsigned(2301)},
		{"energy is measured", 0x00100200, Array{DoubleLongUnsigned(0)}, DARReadDenied, 0x00100201, DoubleLongUnsigned(123456)},
		{"address is read-only", 0x40010200, OctetString{1, 2, 3, 4, 5, 6}, DARReadDenied, 0, OctetString{0x01, 0x25, 0x03, 0x20, 0x00, 0x01}},
		{"unknown object", 0x99990200, Unsigned(1), DARUndefined, 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			oad := NewOAD(tc.oad)
			err := c.Set(ctx, oad, tc.value)
			if tc.dar == DARSuccess {
				if err != nil {
					t.Fatalf("SET %v: %v", oad, err)
				}
			} else {
				var de *DARError
				if !errors.As(err, &de) || de.DAR != tc.dar || !errors.Is(err, ErrDAR) {
					t.Fatalf("SET %v = %v, want DAR %v", oad, err, tc.dar)
				}
				// The error names what was refused and why, in the standard's words.
				if msg := err.Error(); !strings.Contains(msg, oad.String()) || !strings.Contains(msg, tc.dar.String()) {
					t.Errorf("error %q does not name %v and %q", msg, oad, tc.dar)
				}
			}
			want, rb := tc.want, oad
			if tc.readback != 0 {
				rb = NewOAD(tc.readback)
			}
			if want == nil {
				if tc.dar != DARSuccess {
					return
				}
				want = tc.value
			}
			if got, err := c.Get(ctx, rb); err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("read back %v = %#v, %v; want %#v", rb, got, err, want)
			}
		})
	}
	if err := c.Set(ctx, OADDateTime, nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("SET nil: %v, want ErrInvalid", err)
	}
}

// The unit's clock runs on from the time set.
func TestACSimClockAdvancesFromSetTime(t *testing.T) {
	now := simClock
	clock := make(chan time.Time, 1)
	clock <- now
	tick := func() time.Time { c := <-clock; clock <- c; return c }
	addr := mustAddr("012503200001")
	_, port := startACSim(t, ACSimConfig{Addr: addr, Baud: 115200, Now: tick})
	c := NewACClient(port, ACClientConfig{Addr: addr, Timeout: time.Second}, nil)
	ctx := context.Background()
	if err := c.Set(ctx, OADDateTime, DateTimeS{2030, 12, 31, 23, 59, 50}); err != nil {
		t.Fatal(err)
	}
	<-clock
	clock <- now.Add(15 * time.Second)
	if got, err := c.Get(ctx, OADDateTime); err != nil || got != (DateTimeS{2031, 1, 1, 0, 0, 5}) {
		t.Errorf("clock 15 s later = %v, %v; want 2031-01-01 00:00:05", got, err)
	}
}

// A silent unit (LostSilent) does not answer SET either: the client
// retries and reports no answer.
func TestACClientSetNoAnswer(t *testing.T) {
	addr := mustAddr("012503200001")
	sim, port := startACSim(t, ACSimConfig{Addr: addr, Baud: 115200, LostMode: LostSilent})
	sim.SetMainsLost(true)
	c := NewACClient(port, ACClientConfig{Addr: addr, Timeout: 50 * time.Millisecond, Retries: 1}, nil)
	err := c.Set(context.Background(), OADDateTime, DateTimeS{2030, 1, 1, 0, 0, 0})
	if !errors.Is(err, ErrNoAnswer) || !strings.Contains(err.Error(), "SET 40000200") || !strings.Contains(err.Error(), "2 attempts") {
		t.Errorf("silent unit: %v, want ErrNoAnswer after 2 attempts naming SET 40000200", err)
	}
	wantEq(t, "served", sim.Served(), 0)
}
