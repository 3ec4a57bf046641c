package power

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestBudgetConfiguredTime(t *testing.T) {
	b := NewBudget(180*time.Second, 0)
	b.Start(t0)
	left, fromCap := b.Left(t0.Add(30 * time.Second))
	if left != 150*time.Second || fromCap {
		t.Fatalf("left %v fromCap %v, want 150s from the configured time", left, fromCap)
	}
	if left, _ := b.Left(t0.Add(200 * time.Second)); left != 0 {
		t.Fatalf("left %v after the budget, want 0", left)
	}
}

// A 1 F capacitor at 5.0 V feeding 0.1 W down to 2.5 V: E = ½C(V0²−Vmin²)
// = 9.375 J, so it lasts 93.75 s; V² falls by 2P/C = 0.2 V²/s.
func TestBudgetSupercapEstimate(t *testing.T) {
	const c, p, v0, vmin = 1.0, 0.1, 5.0, 2.5
	b := NewBudget(180*time.Second, vmin)
	b.Start(t0)
	volts := func(s float64) float64 { return math.Sqrt(v0*v0 - 2*p/c*s) }
	if err := b.AddSample(t0, volts(0)); err != nil {
		t.Fatal(err)
	}
	if _, fromCap := b.Left(t0); fromCap {
		t.Fatal("one sample gave a capacitor estimate")
	}
	for s := 1; s <= 20; s++ {
		if err := b.AddSample(t0.Add(time.Duration(s)*time.Second), volts(float64(s))); err != nil {
			t.Fatal(err)
		}
	}
	now := t0.Add(20500 * time.Millisecond)
	left, fromCap := b.Left(now)
	want := 93.75 - 20.5
	if !fromCap || math.Abs(left.Seconds()-want) > 0.01 {
		t.Fatalf("left %v fromCap %v, want %.2fs from the capacitor", left, fromCap, want)
	}
	// At the cut-off voltage nothing is left.
	_ = b.AddSample(now, vmin)
	if left, fromCap := b.Left(now); left != 0 || !fromCap {
		t.Fatalf("at cut-off: left %v fromCap %v", left, fromCap)
	}
	if err := b.AddSample(now, math.NaN()); !errors.Is(err, ErrBadReading) {
		t.Fatalf("NaN sample: %v", err)
	}
}

func TestBudgetChargingGivesNoEstimate(t *testing.T) {
	b := NewBudget(180*time.Second, 2.5)
	b.Start(t0)
	_ = b.AddSample(t0, 4.0)
	_ = b.AddSample(t0.Add(time.Second), 4.2)
	if left, fromCap := b.Left(t0.Add(time.Second)); fromCap || left != 179*time.Second {
		t.Fatalf("left %v fromCap %v, want the configured time", left, fromCap)
	}
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for n, v := range files {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestIIOVoltage(t *testing.T) {
	dir := t.TempDir()
	// 12-bit ADC, 1.8 V reference: scale 0.439453125 mV/LSB; 1:3 divider.
	writeFiles(t, dir, map[string]string{
		"in_voltage2_raw":  "3000\n",
		"in_voltage_scale": "0.439453125\n",
	})
	rd, err := IIOVoltage(dir, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	v, err := rd()
	if err != nil {
		t.Fatal(err)
	}
	if want := 3000 * 0.439453125 / 1000 * 3; math.Abs(v-want) > 1e-9 {
		t.Fatalf("voltage %v, want %v", v, want)
	}
	writeFiles(t, dir, map[string]string{"in_voltage2_raw": "30x0\n"})
	if _, err := rd(); err == nil || !strings.Contains(err.Error(), "in_voltage2_raw") || !strings.Contains(err.Error(), "byte 2") {
		t.Fatalf("garbage raw: %v, want an error naming the file and byte", err)
	}
	if _, err := IIOVoltage(dir, 5, 1); err == nil || !strings.Contains(err.Error(), "in_voltage5_raw") {
		t.Fatalf("missing channel: %v", err)
	}
	if _, err := IIOVoltage(t.TempDir(), 0, 1); err == nil || !strings.Contains(err.Error(), "scale") {
		t.Fatalf("missing scale: %v", err)
	}
}

func TestParseIIOValue(t *testing.T) {
	tests := []struct {
		in   string
		want float64
		ok   bool
	}{
		{"1234\n", 1234, true},
		{"0.439453125\n", 0.439453125, true},
		{"-12\n", -12, true},
		{"", 0, false},
		{"\n", 0, false},
		{"1e3\n", 0, false},
		{"12 34\n", 0, false},
		{"1-2\n", 0, false},
		{"NaN\n", 0, false},
	}
	for _, tc := range tests {
		got, err := ParseIIOValue([]byte(tc.in))
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseIIOValue(%q) = %v, %v; want %v ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func FuzzParseIIOValue(f *testing.F) {
	for _, s := range []string{"1234\n", "0.439453125\n", "-12\n", "", "1.2.3\n", "99999999999999999999999\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := ParseIIOValue(b)
		if err != nil {
			return
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			t.Fatalf("ParseIIOValue(%q) = %v without error", b, v)
		}
	})
}
