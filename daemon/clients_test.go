package daemon

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"holdup/devices"
	"holdup/hplc"
	"holdup/hplc/dlt645"
	"holdup/proto698"
	"holdup/sched"
)

// acUnit starts a simulated AC-sampling unit on a pty and returns a
// dlt698 client on it, as the daemon builds one for a dlt698 device.
func acUnit(t *testing.T) (*dlt698Client, *proto698.ACSim) {
	t.Helper()
	addr, err := proto698.ParseAddress(proto698.AddrSingle, "000000000001")
	if err != nil {
		t.Fatal(err)
	}
	sim, err := proto698.NewACSim(proto698.ACSimConfig{Addr: addr, Baud: 115200, Turnaround: time.Millisecond, Voltages: [3]float64{220, 221, 222}}, nil)
	if err != nil {
		t.Skipf("no pty: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = sim.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	p, err := proto698.OpenSerial(proto698.SerialConfig{Path: sim.Path(), Baud: 115200})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return newDLT698Client(proto698.NewACClient(p, proto698.ACClientConfig{Addr: addr, Timeout: time.Second}, nil)), sim
}

// TestDLT698ClientSet: a control point's SET reaches the unit in the
// attribute's own data type (learnt by one read first), reads back, and
// every refusal is a clear error with the right outcome for the scheduler.
func TestDLT698ClientSet(t *testing.T) {
	c, sim := acUnit(t)
	ctx := context.Background()
	const mfPort uint32 = 0xF2070201 // multi-function terminal, first port: enum
	if err := c.Set(ctx, nil, mfPort, 2); err != nil {
		t.Fatalf("set %08X: %v", mfPort, err)
	}
	v, err := c.Get(ctx, nil, mfPort)
	if err != nil || v.Null || v.Value != 2 {
		t.Fatalf("read back %08X: %+v %v, want 2", mfPort, v, err)
	}
	served := sim.Served()
	if err := c.Set(ctx, nil, mfPort, 1); err != nil {
		t.Fatal(err)
	}
	if n := sim.Served() - served; n != 1 {
		t.Errorf("a second SET took %d exchanges, want 1 (the type is known)", n)
	}

	cases := []struct {
		name    string
		oad     uint32
		v       float64
		outcome error
		msg     string
	}{
		{"out of the unit's range", mfPort, 5, devices.ErrNoData, "F2070201"},
		{"out of the type's range", mfPort, 300, devices.ErrBadValue, "outside enum's range 0..255"},
		{"measured value", 0x20000201, 230, devices.ErrNoData, "20000201"},
		{"whole array", 0xF2070200, 1, devices.ErrBadValue, "array of"},
		{"unknown object", 0x7FFF0200, 1, devices.ErrNoData, "7FFF0200"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := c.Set(ctx, nil, tc.oad, tc.v)
			if !errors.Is(err, tc.outcome) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("set %08X = %v: %v, want %v naming %q", tc.oad, tc.v, err, tc.outcome, tc.msg)
			}
		})
	}
	// The refusals changed nothing.
	if v, err := c.Get(ctx, nil, mfPort); err != nil || v.Value != 1 {
		t.Fatalf("after refusals: %+v %v, want 1", v, err)
	}
}

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
		{proto698.Integer(0), 128, nil, "outside integer's range"},
		{proto698.Bool(false), 1, proto698.Bool(true), ""},
		{proto698.Float32(0), 1e39, nil, "float32"},
		{proto698.Float64(0), 0.1, proto698.Float64(0.1), ""},
		{proto698.VisibleString("x"), 1, nil, "cannot be written"},
		{proto698.Structure{proto698.Long(0)}, 1, nil, "structure of 1"},
	}
	for _, tc := range cases {
		got, err := data698Like(tc.like, tc.v)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%T(%v): %v, want error %q", tc.like, tc.v, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%T(%v) = %#v, %v; want %#v", tc.like, tc.v, got, err, tc.want)
		}
	}
}

// TestOutcomeHPLC: module and meter errors reach the scheduler with the
// outcome its error-rate watch needs, and the master with the right DAR.
func TestOutcomeHPLC(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want error
		dar  proto698.DAR
	}{
		{"meter refuses the password", &dlt645.ExceptionError{Code: dlt645.ErrCodeAuth, Func: 0x14}, devices.ErrNoData, proto698.DARReadDenied},
		{"module denies", hplc.ErrDenied, devices.ErrNoData, proto698.DARReadDenied},
		{"no answer", hplc.ErrTimeout, devices.ErrTimeout, proto698.DARHardware},
		{"garbled answer", &dlt645.FrameError{Offset: 9, Field: "checksum", Err: dlt645.ErrChecksum}, devices.ErrChecksumMismatch, proto698.DARHardware},
		{"port gone", errors.New("read /dev/ttyS4: input/output error"), devices.ErrLinkDown, proto698.DARHardware},
		{"called off", context.Canceled, devices.ErrNotSent, proto698.DARTemporary},
	}
	for _, tc := range cases {
		got := outcomeHPLC(fmt.Errorf("hplc: write 04000103 to meter 000000000007: %w", tc.err))
		if !errors.Is(got, tc.want) || !errors.Is(got, tc.err) {
			t.Errorf("%s: %v, want %v wrapping the cause", tc.name, got, tc.want)
		}
		if dar := darOf(got); dar != tc.dar {
			t.Errorf("%s: DAR %v, want %v", tc.name, dar, tc.dar)
		}
	}
}

// TestDarOf: what the master reads when the scheduler refuses.
func TestDarOf(t *testing.T) {
	cases := []struct {
		err  error
		want proto698.DAR
	}{
		{fmt.Errorf("x: %w", sched.ErrGated), proto698.DARTemporary},
		{fmt.Errorf("x: %w", sched.ErrPathClosed), proto698.DARTemporary},
		{fmt.Errorf("x: %w", sched.ErrAwaitingReinit), proto698.DARTemporary},
		{fmt.Errorf("x: %w", sched.ErrDisabled), proto698.DARTemporary},
		{fmt.Errorf("x: %w", sched.ErrSilent), proto698.DARHardware},
		{fmt.Errorf("x: %w", devices.ErrBadValue), proto698.DAROutOfRange},
		{fmt.Errorf("x: %w", context.DeadlineExceeded), proto698.DARRequestTimeout},
		{fmt.Errorf("x: %w", &proto698.DARError{DAR: proto698.DARUnauthorized}), proto698.DARUnauthorized},
		{&devices.ExceptionError{Device: "d", Function: 0x86, Code: 2}, proto698.DARReadDenied},
		{errors.New("something else"), proto698.DAROther},
	}
	for _, tc := range cases {
		if got := darOf(tc.err); got != tc.want {
			t.Errorf("darOf(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
