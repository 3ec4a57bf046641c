package devices

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"holdup/hplc"
	"holdup/hplc/dlt645"
)

func TestMeterAddr(t *testing.T) {
	cases := []struct {
		name       string
		node, item []byte
		addr       string // as written on the meter
		di         dlt645.DI
	}{
		{"voltage A", []byte{0x00, 0x00, 0x00, 0x00, 0x33, 0x04}, []byte{0x02, 0x01, 0x01, 0x00}, "000000003304", 0x02010100},
		{"demand period", []byte{0x10, 0x00, 0x23, 0x66, 0x92, 0x45}, []byte{0x04, 0x00, 0x01, 0x03}, "100023669245", dlt645.DIDemandPeriod},
		{"short node", []byte{0x33, 0x04}, []byte{0x02, 0x01, 0x01, 0x00}, "", 0},
		{"long node", make([]byte, 7), []byte{0x02, 0x01, 0x01, 0x00}, "", 0},
		{"short item", make([]byte, 6), []byte{0x02, 0x01}, "", 0},
		{"no item", make([]byte, 6), nil, "", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			addr, di, err := meterAddr("read", tc.node, tc.item)
			if tc.addr == "" {
				if !errors.Is(err, ErrBadValue) || !strings.Contains(err.Error(), "want 6 and 4 bytes") {
					t.Fatalf("%v, want ErrBadValue", err)
				}
				return
			}
			want, _ := dlt645.ParseAddress(tc.addr)
			if err != nil || addr != want || di != tc.di || addr.String() != tc.addr {
				t.Fatalf("%s %s, %v; want %s %s", addr, di, err, tc.addr, tc.di)
			}
		})
	}
}

// TestOutcomeHPLC: module and meter errors reach the scheduler with the
// outcome its error-rate watch needs, the cause still reachable.
func TestOutcomeHPLC(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want error
		kind Outcome
	}{
		{"meter refuses the password", &dlt645.ExceptionError{Code: dlt645.ErrCodeAuth, Func: 0x14}, ErrNoData, OutcomeException},
		{"module denies", &hplc.DenyError{Reason: hplc.DenyNodeNoAnswer}, ErrNoData, OutcomeException},
		{"no answer", hplc.ErrTimeout, ErrTimeout, OutcomeTimeout},
		{"deadline", context.DeadlineExceeded, ErrTimeout, OutcomeTimeout},
		{"garbled answer", &dlt645.FrameError{Offset: 9, Field: "checksum", Err: dlt645.ErrChecksum}, ErrChecksumMismatch, OutcomeChecksumMismatch},
		{"garbled module frame", &hplc.FrameError{Offset: 3, Field: "checksum", Err: hplc.ErrChecksum}, ErrChecksumMismatch, OutcomeChecksumMismatch},
		{"not a write answer", fmt.Errorf("answer 68…16: %w: %w", hplc.ErrUnexpected, &dlt645.FrameError{Offset: 8, Field: "control", Err: dlt645.ErrFunction}), ErrLengthMismatch, OutcomeLengthMismatch},
		{"driver stopped", hplc.ErrClosed, ErrLinkDown, OutcomeLinkDown},
		{"port gone", errors.New("read /dev/ttyS4: input/output error"), ErrLinkDown, OutcomeLinkDown},
		{"called off", context.Canceled, ErrNotSent, OutcomeCancelled},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := outcomeHPLC(fmt.Errorf("hplc: write 04000103 to meter 000000000007: %w", tc.err))
			if !errors.Is(got, tc.want) || !errors.Is(got, tc.err) || Classify(got) != tc.kind {
				t.Fatalf("%v (%v), want %v wrapping the cause", got, Classify(got), tc.want)
			}
		})
	}
}

// TestHPLCMeterRefusesBeforeSending: what cannot be sent is refused
// without touching the module (there is none here).
func TestHPLCMeterRefusesBeforeSending(t *testing.T) {
	c := NewHPLCMeterClient(nil, hplc.DefaultSimPassword, 0)
	ctx := context.Background()
	node := []byte{0, 0, 0, 0, 0x33, 0x04}
	cases := []struct {
		name string
		run  func() error
		msg  string
	}{
		{"read, short node", func() error { _, err := c.Read(ctx, node[:5], []byte{2, 1, 1, 0}); return err }, "want 6 and 4 bytes"},
		{"read, long item", func() error { _, err := c.Read(ctx, node, []byte{2, 1, 1, 0, 0}); return err }, "want 6 and 4 bytes"},
		{"write, short item", func() error { return c.Write(ctx, node, []byte{4, 0, 1}, 30) }, "want 6 and 4 bytes"},
		{"write, out of the item's range", func() error { return c.Write(ctx, node, []byte{4, 0, 1, 3}, 100) }, "04000103"},
		{"write, read-only item", func() error { return c.Write(ctx, node, []byte{4, 0, 4, 9}, 1000) }, "04000409"},
		{"write, measurement", func() error { return c.Write(ctx, node, []byte{2, 1, 1, 0}, 220) }, "02010100"},
		{"write, unknown item", func() error { return c.Write(ctx, node, []byte{4, 0, 0x99, 0x99}, 1) }, "04009999"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run()
			if !errors.Is(err, ErrBadValue) || Classify(err) != OutcomeCancelled || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("%v, want ErrBadValue naming %q", err, tc.msg)
			}
		})
	}
	off, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := c.Read(off, node, []byte{2, 1, 1, 0}); !errors.Is(err, ErrNotSent) || !errors.Is(err, context.Canceled) {
		t.Fatalf("read, called off: %v, want ErrNotSent", err)
	}
	if err := c.Write(off, node, []byte{4, 0, 1, 3}, 30); !errors.Is(err, ErrNotSent) {
		t.Fatalf("write, called off: %v, want ErrNotSent", err)
	}
}
