package power

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func TestClassify(t *testing.T) {
	th := Thresholds{LossV: 132, RestoreV: 176, MaxV: 440}
	tests := []struct {
		name  string
		v     [3]float64
		want  Verdict
		bad   bool
		phase string
	}{
		{"nominal", [3]float64{220, 221, 219}, VerdictPresent, false, ""},
		{"single phase terminal", [3]float64{220, 0, 0}, VerdictPresent, false, ""},
		{"all dead", [3]float64{0, 0, 0}, VerdictLost, false, ""},
		{"residual below loss", [3]float64{131.9, 20, 5}, VerdictLost, false, ""},
		{"brownout in band", [3]float64{150, 140, 0}, VerdictBand, false, ""},
		{"exactly restore", [3]float64{176, 0, 0}, VerdictPresent, false, ""},
		{"exactly loss is band", [3]float64{132, 0, 0}, VerdictBand, false, ""},
		{"NaN", [3]float64{220, math.NaN(), 220}, VerdictFailed, true, "phase B"},
		{"Inf", [3]float64{math.Inf(1), 220, 220}, VerdictFailed, true, "phase A"},
		{"negative", [3]float64{220, 220, -3}, VerdictFailed, true, "phase C"},
		{"too high", [3]float64{220, 9999, 220}, VerdictFailed, true, "phase B"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := th.Classify(tc.v)
			if got != tc.want {
				t.Errorf("verdict %v, want %v", got, tc.want)
			}
			if tc.bad {
				if !errors.Is(err, ErrBadReading) || !strings.Contains(err.Error(), tc.phase) {
					t.Errorf("error %v, want ErrBadReading naming %s", err, tc.phase)
				}
			} else if err != nil {
				t.Errorf("unexpected error %v", err)
			}
		})
	}
}

// FuzzClassify: whatever a unit answers, garbage is never mains present and
// a verdict agrees with the thresholds.
func FuzzClassify(f *testing.F) {
	th := Thresholds{LossV: 132, RestoreV: 176, MaxV: 440}
	f.Add(220.0, 221.0, 219.0)
	f.Add(0.0, 0.0, 0.0)
	f.Add(math.NaN(), 220.0, 220.0)
	f.Add(-1.0, 220.0, 220.0)
	f.Add(150.0, 0.0, 0.0)
	f.Add(441.0, 0.0, 0.0)
	f.Fuzz(func(t *testing.T, a, b, c float64) {
		v := [3]float64{a, b, c}
		got, err := th.Classify(v)
		bad := false
		maxV := 0.0
		for _, x := range v {
			if math.IsNaN(x) || math.IsInf(x, 0) || x < 0 || x > th.MaxV {
				bad = true
			}
			maxV = math.Max(maxV, x)
		}
		if bad {
			if got != VerdictFailed || !errors.Is(err, ErrBadReading) {
				t.Fatalf("Classify(%v) = %v, %v; want failed with ErrBadReading", v, got, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("Classify(%v): unexpected %v", v, err)
		}
		want := VerdictBand
		if maxV >= th.RestoreV {
			want = VerdictPresent
		} else if maxV < th.LossV {
			want = VerdictLost
		}
		if got != want {
			t.Fatalf("Classify(%v) = %v, want %v", v, got, want)
		}
	})
}
