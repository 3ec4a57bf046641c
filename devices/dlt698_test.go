package devices

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"holdup/proto698"
)

func TestData698Like(t *testing.T) {
	cases := []struct {
		like proto698.Data
		v    float64
		want proto698.Data
		err  string
	}{
		{proto698.LongUnsigned(0), 2300.4, proto698.LongUnsigned(2300), ""},
		{proto698.LongUnsigned(0), -1, nil, "outside long-unsigned's range"},
		{proto698.DoubleLong(0), -2.5, proto698.DoubleLong(-3), ""},
		{proto698.DoubleLongUnsigned(0), math.MaxUint32, proto698.DoubleLongUnsigned(math.MaxUint32), ""},
		{proto698.DoubleLongUnsigned(0), math.MaxUint32 + 1, nil, "outside double-long-unsigned's range"},
		{proto698.Integer(0), 128, nil, "outside integer's range"},
		{proto698.Integer(0), -128, proto698.Integer(-128), ""},
		{proto698.Unsigned(0), 255.4, proto698.Unsigned(255), ""},
		{proto698.Enum(0), 300, nil, "outside enum's range 0..255"},
		{proto698.Long(0), -32768.4, proto698.Long(-32768), ""},
		{proto698.Long64(0), 1 << 54, nil, "outside long64's range"},
		{proto698.Long64Unsigned(0), 1 << 40, proto698.Long64Unsigned(1 << 40), ""},
		{proto698.Bool(false), 1, proto698.Bool(true), ""},
		{proto698.Bool(true), 0, proto698.Bool(false), ""},
		{proto698.Float32(0), 1e39, nil, "float32"},
		{proto698.Float32(0), 0.5, proto698.Float32(0.5), ""},
		{proto698.Float64(0), 0.1, proto698.Float64(0.1), ""},
		{proto698.Float64(0), math.NaN(), nil, "not a number"},
		{proto698.LongUnsigned(0), math.Inf(1), nil, "not a number"},
		{proto698.VisibleString("x"), 1, nil, "cannot be written"},
		{proto698.Null{}, 1, nil, "cannot be written"},
		{proto698.Structure{proto698.Long(0)}, 1, nil, "structure of 1"},
		{proto698.Array{proto698.Enum(0), proto698.Enum(0)}, 1, nil, "array of 2"},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%s=%v", tc.like.Type(), tc.v), func(t *testing.T) {
			got, err := data698Like(tc.like, tc.v)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || got != nil {
					t.Fatalf("%#v, %v; want error %q", got, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("%#v, %v; want %#v", got, err, tc.want)
			}
		})
	}
}

// FuzzData698Like: whatever is written goes through the wire encoding and
// reads back as the written value rounded as the type rounds it, in the
// type it was read in; a refusal is an error, never a datum.
func FuzzData698Like(f *testing.F) {
	for _, s := range []struct {
		kind uint8
		v    float64
	}{{0, 1}, {1, -129}, {2, 255.5}, {5, 2300.4}, {6, -2.5}, {8, 1 << 53}, {10, 1e39}, {11, math.NaN()}} {
		f.Add(s.kind, s.v)
	}
	likes := []proto698.Data{
		proto698.Bool(false), proto698.Integer(0), proto698.Unsigned(0), proto698.Enum(0), proto698.Long(0),
		proto698.LongUnsigned(0), proto698.DoubleLong(0), proto698.DoubleLongUnsigned(0), proto698.Long64(0),
		proto698.Long64Unsigned(0), proto698.Float32(0), proto698.Float64(0),
	}
	f.Fuzz(func(t *testing.T, kind uint8, v float64) {
		like := likes[int(kind)%len(likes)]
		got, err := data698Like(like, v)
		if err != nil {
			if got != nil {
				t.Fatalf("%s %v: %#v with error %v", like.Type(), v, got, err)
			}
			return
		}
		if got.Type() != like.Type() {
			t.Fatalf("%s %v: encoded as %s", like.Type(), v, got.Type())
		}
		// What goes on the wire decodes to the same datum.
		wire, err := proto698.AppendData(nil, got)
		if err != nil {
			t.Fatalf("%s %v: %#v does not encode: %v", like.Type(), v, got, err)
		}
		dec, err := proto698.DecodeData(wire)
		if err != nil || dec != got {
			t.Fatalf("%s %v: % X decodes to %#v, %v; want %#v", like.Type(), v, wire, dec, err, got)
		}
		back, null, err := DLT698Float(dec)
		if err != nil || null {
			t.Fatalf("%s %v: %#v reads back %v null=%v", like.Type(), v, got, err, null)
		}
		var want float64
		switch like.(type) {
		case proto698.Bool:
			want = 0
			if v != 0 {
				want = 1
			}
		case proto698.Float32:
			want = float64(float32(v))
		case proto698.Float64:
			want = v
		default:
			want = math.Round(v)
		}
		if back != want {
			t.Fatalf("%s %v: %#v reads back %v, want %v", like.Type(), v, got, back, want)
		}
	})
}

func TestDLT698Float(t *testing.T) {
	cases := []struct {
		in   proto698.Data
		want float64
		null bool
		err  bool
	}{
		{proto698.Null{}, 0, true, false},
		{proto698.LongUnsigned(2201), 2201, false, false},
		{proto698.DoubleLong(-5), -5, false, false},
		{proto698.DoubleLongUnsigned(math.MaxUint32), math.MaxUint32, false, false},
		{proto698.Long(-1), -1, false, false},
		{proto698.Integer(-8), -8, false, false},
		{proto698.Unsigned(7), 7, false, false},
		{proto698.Long64(-1 << 40), -1 << 40, false, false},
		{proto698.Long64Unsigned(1 << 40), 1 << 40, false, false},
		{proto698.Float32(0.5), 0.5, false, false},
		{proto698.Float64(0.1), 0.1, false, false},
		{proto698.Enum(2), 2, false, false},
		{proto698.Bool(true), 1, false, false},
		{proto698.Bool(false), 0, false, false},
		{proto698.Array{proto698.LongUnsigned(2301), proto698.LongUnsigned(2299)}, 2301, false, false},
		{proto698.Structure{proto698.Unsigned(60), proto698.Long(1)}, 60, false, false},
		{proto698.Array{}, 0, true, false},
		{proto698.Structure{proto698.Array{proto698.Null{}}}, 0, true, false},
		{proto698.VisibleString("x"), 0, false, true},
		{proto698.OctetString{1, 2}, 0, false, true},
	}
	for _, tc := range cases {
		v, null, err := DLT698Float(tc.in)
		if (err != nil) != tc.err || v != tc.want || null != tc.null {
			t.Errorf("DLT698Float(%#v) = %v, %v, %v; want %v, %v, error %v", tc.in, v, null, err, tc.want, tc.null, tc.err)
		}
	}
}

// TestOutcome698: every proto698 failure reaches the scheduler with the
// outcome its error-rate watch needs, and the cause stays reachable.
func TestOutcome698(t *testing.T) {
	// A real frame error: a GET-Response whose check sequence is damaged.
	addr, _ := proto698.ParseAddress(proto698.AddrSingle, "000000000001")
	apdu, _ := proto698.EncodeAPDU(&proto698.GetResponseNormal{PIID: 1, Result: proto698.ResultNormal{OAD: proto698.NewOAD(0x20000201), Data: proto698.LongUnsigned(2201)}})
	raw, _ := proto698.AppendFrame(nil, &proto698.Frame{Control: proto698.NewControl(true, true, false, false, proto698.FuncUserData), Addr: addr, Data: apdu})
	raw[len(raw)-2] ^= 0xFF
	_, _, frameErr := proto698.DecodeFrame(raw)
	var fe *proto698.FrameError
	if !errors.As(frameErr, &fe) {
		t.Fatalf("damaged frame decodes with %v, want a *proto698.FrameError", frameErr)
	}
	cases := []struct {
		name string
		err  error
		want error
		kind Outcome
	}{
		{"no answer", proto698.ErrNoAnswer, ErrTimeout, OutcomeTimeout},
		{"deadline", context.DeadlineExceeded, ErrTimeout, OutcomeTimeout},
		{"DAR", proto698.DARUndefined.Err(), ErrNoData, OutcomeException},
		{"ERROR-Response", proto698.DAROther.Err(), ErrNoData, OutcomeException},
		{"frame error", frameErr, ErrChecksumMismatch, OutcomeChecksumMismatch},
		{"called off", context.Canceled, ErrNotSent, OutcomeCancelled},
		{"port gone", errors.New("read /dev/ttyS2: input/output error"), ErrLinkDown, OutcomeLinkDown},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := outcome698(fmt.Errorf("proto698: AC sampling: GET 20000201: %w", tc.err))
			if !errors.Is(got, tc.want) || !errors.Is(got, tc.err) || Classify(got) != tc.kind {
				t.Fatalf("%v (%v), want %v wrapping the cause", got, Classify(got), tc.want)
			}
		})
	}
}

// nullUnit is a DLT698Port on which a DL/T 698.45 unit answers every
// GET-Request-Normal from a table, NULL for an attribute it does not
// have. ACSim has no attribute that reads NULL; real meters answer NULL
// for, e.g., an event's end time before the event has ended.
type nullUnit struct {
	addr   proto698.ServerAddress
	values map[uint32]proto698.Data

	mu      sync.Mutex
	out     []byte
	timeout time.Duration
	gets    int
}

func (u *nullUnit) Write(p []byte) (int, error) {
	f, _, err := proto698.DecodeFrame(p)
	if err != nil {
		return len(p), nil
	}
	a, err := proto698.DecodeAPDU(f.Data)
	r, ok := a.(*proto698.GetRequestNormal)
	if err != nil || !ok {
		return len(p), nil
	}
	d, ok := u.values[r.OAD.Uint32()]
	if !ok {
		d = proto698.Null{}
	}
	apdu, err := proto698.EncodeAPDU(&proto698.GetResponseNormal{PIID: proto698.PIIDACD(r.PIID), Result: proto698.ResultNormal{OAD: r.OAD, Data: d}})
	if err != nil {
		return 0, err
	}
	ans, err := proto698.AppendFrame(nil, &proto698.Frame{Control: proto698.NewControl(true, true, false, false, proto698.FuncUserData), Addr: u.addr, Client: f.Client, Data: apdu})
	if err != nil {
		return 0, err
	}
	u.mu.Lock()
	u.out = append(u.out, ans...)
	u.gets++
	u.mu.Unlock()
	return len(p), nil
}

// Read returns the queued answer, or (0, nil) after the read timeout when
// there is none, as a serial port does.
func (u *nullUnit) Read(p []byte) (int, error) {
	u.mu.Lock()
	n := copy(p, u.out)
	u.out = u.out[n:]
	wait := u.timeout
	u.mu.Unlock()
	if n == 0 {
		time.Sleep(wait)
	}
	return n, nil
}

func (u *nullUnit) SetReadTimeout(t time.Duration) error {
	u.mu.Lock()
	u.timeout = t
	u.mu.Unlock()
	return nil
}

func (u *nullUnit) Close() error { return nil }

// TestDLT698ClientNull: an attribute that reads NULL is Value.Null (the
// driver's "no data"), a SET of it is refused without a write, since its
// data type is unknown, and an attribute read once keeps its type.
func TestDLT698ClientNull(t *testing.T) {
	addr, _ := proto698.ParseAddress(proto698.AddrSingle, "000000000007")
	unit := &nullUnit{addr: addr, values: map[uint32]proto698.Data{0x30000504: proto698.Unsigned(60)}}
	bus, err := NewDLT698Bus("scripted", func() (DLT698Port, error) { return unit, nil })
	if err != nil {
		t.Fatal(err)
	}
	c := NewDLT698Client(proto698.NewACClient(bus, proto698.ACClientConfig{Addr: addr, Timeout: time.Second}, nil), bus)
	ctx := context.Background()

	const endTime uint32 = 0x30000202
	v, err := c.Get(ctx, nil, endTime)
	if err != nil || !v.Null {
		t.Fatalf("GET %08X = %+v, %v; want NULL", endTime, v, err)
	}
	err = c.Set(ctx, nil, endTime, 1)
	if !errors.Is(err, ErrNoData) || !strings.Contains(err.Error(), "reads NULL") {
		t.Fatalf("SET of a NULL attribute: %v, want ErrNoData naming NULL", err)
	}
	if v, err := c.Get(ctx, nil, 0x30000504); err != nil || v.Null || v.Value != 60 {
		t.Fatalf("GET 30000504 = %+v, %v; want 60", v, err)
	}
	// Through the driver, NULL is no data, never a value.
	drv, err := NewDLT698(Device{Name: "meter7", Driver: DriverDLT698, Address: "000000000007"}, c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := drv.Read(ctx, Point{Name: "end", Item: "30000202", Scale: 1}); !errors.Is(err, ErrNoData) || Classify(err) != OutcomeException {
		t.Fatalf("driver read of NULL: %v (%v), want ErrNoData", err, Classify(err))
	}
	if unit.gets != 4 {
		t.Errorf("%d GETs reached the unit, want 4 (no SET was sent)", unit.gets)
	}
}

// TestDLT698BusOpenFails: a bus whose port does not open is not made.
func TestDLT698BusOpenFails(t *testing.T) {
	cause := errors.New("no such file or directory")
	_, err := NewDLT698Bus("/dev/ttyS9", func() (DLT698Port, error) { return nil, cause })
	if !errors.Is(err, cause) || !strings.Contains(err.Error(), "devices: DL/T 698.45 bus /dev/ttyS9") {
		t.Fatalf("%v, want the cause naming the bus", err)
	}
}
