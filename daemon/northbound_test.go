package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"holdup/devices"
	"holdup/hplc"
	"holdup/hplc/dlt645"
	"holdup/proto698"
	"holdup/sched"
)

type fakeDriver struct {
	dev devices.Device
	val chan float64 // next read's value; closed: reads fail
}

func (f *fakeDriver) Device() devices.Device { return f.dev }
func (f *fakeDriver) Read(context.Context, devices.Point) (devices.Sample, error) {
	v, ok := <-f.val
	if !ok {
		return devices.Sample{}, devices.ErrTimeout
	}
	return devices.Sample{Value: v}, nil
}
func (f *fakeDriver) Write(context.Context, devices.Point, float64) (devices.Sample, error) {
	return devices.Sample{}, nil
}
func (f *fakeDriver) Reinit(context.Context) error { return nil }
func (f *fakeDriver) Close() error                 { return nil }

// TestReportLoop: periodic snapshots of the exposed collection points,
// NULL as soon as a point's collection fails; a refused send is skipped
// and the loop goes on.
func TestReportLoop(t *testing.T) {
	s, err := sched.New(sched.Config{Devices: []sched.Device{{Name: "m", Interface: "x"}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = s.Run(ctx) }()
	drv := &fakeDriver{dev: devices.Device{Name: "m"}, val: make(chan float64, 1)}
	p := devices.Point{Name: "p", Class: devices.ClassCollection}
	c := devices.Point{Name: "c", Class: devices.ClassControl}
	nb := &northbound{sched: s, log: slog.New(slog.DiscardHandler), now: make(chan struct{}, 1),
		points: map[uint32]nbPoint{0x2F000200: {drv, p}, 0x2F010200: {drv, c}}}

	drv.val <- 5
	if _, err := s.Do(ctx, pointOp(drv, p, 0)); err != nil {
		t.Fatal(err)
	}
	sent := make(chan []proto698.ResultNormal, 64)
	refuse := true
	go func() {
		_ = nb.reportLoop(ctx, 20*time.Millisecond, func(r []proto698.ResultNormal) error {
			if refuse {
				refuse = false
				return proto698.ErrQueueFull
			}
			sent <- r
			return nil
		})
	}()
	for range 2 {
		r := <-sent
		if oadsOf(r) != "2F000200" || r[0].Data != proto698.Float64(5) {
			t.Fatalf("report %#v, want 2F000200 = 5", r)
		}
	}
	close(drv.val) // the next collection fails
	if _, err := s.Do(ctx, pointOp(drv, p, 0)); err == nil {
		t.Fatal("failed read succeeded")
	}
	for end := time.Now().Add(5 * time.Second); ; {
		r := <-sent
		if r[0].Data == (proto698.Null{}) {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("still reporting %#v after the collection failed", r[0].Data)
		}
	}
}

func oadsOf(rs []proto698.ResultNormal) string {
	var b strings.Builder
	for i, r := range rs {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(r.OAD.String())
	}
	return b.String()
}

// readThrough reads item from a device through its driver, on the
// scheduler like any exchange, and returns the value.

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
		// What the device clients classify reaches the master as the DAR
		// that names it (the clients' own tests are in devices).
		{fmt.Errorf("%w: %w", devices.ErrNoData, &dlt645.ExceptionError{Code: dlt645.ErrCodeAuth, Func: 0x14}), proto698.DARReadDenied},
		{fmt.Errorf("%w: %w", devices.ErrNoData, hplc.ErrDenied), proto698.DARReadDenied},
		{fmt.Errorf("%w: %w", devices.ErrTimeout, hplc.ErrTimeout), proto698.DARHardware},
		{fmt.Errorf("%w: %w", devices.ErrChecksumMismatch, errors.New("checksum")), proto698.DARHardware},
		{fmt.Errorf("%w: %w", devices.ErrLinkDown, errors.New("read /dev/ttyS4: input/output error")), proto698.DARHardware},
		{fmt.Errorf("%w: %w", devices.ErrNotSent, context.Canceled), proto698.DARTemporary},
	}
	for _, tc := range cases {
		if got := darOf(tc.err); got != tc.want {
			t.Errorf("darOf(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
