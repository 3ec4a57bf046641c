package power

import (
	"errors"
	"math"
	"strings"
	"testing"
)

// testThresholds are the defaults for a 220 V nominal: loss below 60 %,
// restore at 80 %, garbage above 2 × nominal.
func testThresholds(r PhaseRule) Thresholds {
	return Thresholds{LossV: 132, RestoreV: 176, MaxV: 440, Rule: r}
}

// rules are the rules a Thresholds can carry: the zero rule is the
// method's, PhasesAll.
var rules = []PhaseRule{"", PhasesAll, PhasesAny}

func TestClassify(t *testing.T) {
	type want struct{ all, any Verdict }
	tests := []struct {
		name  string
		v     [3]float64
		want  want
		phase string // named by the error of a garbage reading
	}{
		{"nominal", [3]float64{220, 221, 219}, want{VerdictPresent, VerdictPresent}, ""},
		{"all at restore", [3]float64{176, 176, 176}, want{VerdictPresent, VerdictPresent}, ""},
		{"all at max", [3]float64{440, 440, 440}, want{VerdictPresent, VerdictPresent}, ""},
		{"single phase fed", [3]float64{220, 0, 0}, want{VerdictLost, VerdictPresent}, ""},
		{"phase B out", [3]float64{230, 0, 230}, want{VerdictLost, VerdictPresent}, ""},
		{"phase C sags into the band", [3]float64{230, 230, 150}, want{VerdictBand, VerdictPresent}, ""},
		{"two in band, one out", [3]float64{150, 140, 0}, want{VerdictLost, VerdictBand}, ""},
		{"all in band", [3]float64{150, 140, 160}, want{VerdictBand, VerdictBand}, ""},
		{"all at loss", [3]float64{132, 132, 132}, want{VerdictBand, VerdictBand}, ""},
		{"all dead", [3]float64{0, 0, 0}, want{VerdictLost, VerdictLost}, ""},
		{"residual below loss", [3]float64{131.9, 20, 5}, want{VerdictLost, VerdictLost}, ""},
		{"NaN", [3]float64{220, math.NaN(), 220}, want{VerdictFailed, VerdictFailed}, "phase B"},
		{"Inf", [3]float64{math.Inf(1), 220, 220}, want{VerdictFailed, VerdictFailed}, "phase A"},
		{"negative", [3]float64{220, 220, -3}, want{VerdictFailed, VerdictFailed}, "phase C"},
		{"too high", [3]float64{220, 9999, 220}, want{VerdictFailed, VerdictFailed}, "phase B"},
		{"garbage beside a dead phase", [3]float64{0, 0, 441}, want{VerdictFailed, VerdictFailed}, "phase C"},
	}
	for _, r := range rules {
		th := testThresholds(r)
		for _, tc := range tests {
			w := tc.want.all
			if r == PhasesAny {
				w = tc.want.any
			}
			checkClassify(t, th, tc.name, tc.v, w, tc.phase)
		}
	}
}

// TestClassifyPhaseBoundaries puts each boundary value on phase A, B and C
// in turn, the other two phases at nominal (a three-phase-fed terminal with
// one phase failing) or dead (a single-phase-fed terminal), under both
// rules.
func TestClassifyPhaseBoundaries(t *testing.T) {
	below := func(x float64) float64 { return math.Nextafter(x, 0) }
	above := func(x float64) float64 { return math.Nextafter(x, math.Inf(1)) }
	const (
		L = VerdictLost
		B = VerdictBand
		P = VerdictPresent
		F = VerdictFailed
	)
	tests := []struct {
		name string
		x    float64
		// verdicts with the other phases at 220 V / at 0 V, under the
		// "all" / "any" rule
		allNominal, anyNominal, allDead, anyDead Verdict
	}{
		{"dead", 0, L, P, L, L},
		{"just below loss_v (0.1 V)", 131.9, L, P, L, L},
		{"just below loss_v (next float)", below(132), L, P, L, L},
		{"exactly loss_v", 132, B, P, L, B},
		{"just below restore_v (0.1 V)", 175.9, B, P, L, B},
		{"just below restore_v (next float)", below(176), B, P, L, B},
		{"exactly restore_v", 176, P, P, L, P},
		{"exactly max_v", 440, P, P, L, P},
		{"just above max_v (next float)", above(440), F, F, F, F},
		{"above max_v (0.1 V)", 440.1, F, F, F, F},
	}
	for _, r := range rules {
		th := testThresholds(r)
		for _, tc := range tests {
			for i, phase := range phaseNames {
				for _, other := range []float64{220, 0} {
					var v [3]float64
					for j := range v {
						v[j] = other
					}
					v[i] = tc.x
					var want Verdict
					switch {
					case r != PhasesAny && other != 0:
						want = tc.allNominal
					case r == PhasesAny && other != 0:
						want = tc.anyNominal
					case r != PhasesAny:
						want = tc.allDead
					default:
						want = tc.anyDead
					}
					bad := ""
					if want == F {
						bad = "phase " + phase
					}
					checkClassify(t, th, "phase "+phase+" "+tc.name, v, want, bad)
				}
			}
		}
	}
}

func checkClassify(t *testing.T, th Thresholds, name string, v [3]float64, want Verdict, badPhase string) {
	t.Helper()
	got, err := th.Classify(v)
	if got != want {
		t.Errorf("rule %q, %s: Classify(%v) = %v, want %v", th.Rule, name, v, got, want)
	}
	switch {
	case badPhase != "":
		if !errors.Is(err, ErrBadReading) || !strings.Contains(err.Error(), badPhase) {
			t.Errorf("rule %q, %s: error %v, want ErrBadReading naming %s", th.Rule, name, err, badPhase)
		}
	case err != nil:
		t.Errorf("rule %q, %s: unexpected error %v", th.Rule, name, err)
	}
}

// FuzzClassify: whatever a unit answers, garbage is never mains present and
// a verdict agrees with the thresholds, under both rules; a reading PhasesAll
// calls present PhasesAny does too, and one PhasesAny calls lost PhasesAll
// does too.
func FuzzClassify(f *testing.F) {
	f.Add(220.0, 221.0, 219.0)
	f.Add(0.0, 0.0, 0.0)
	f.Add(math.NaN(), 220.0, 220.0)
	f.Add(-1.0, 220.0, 220.0)
	f.Add(150.0, 0.0, 0.0)
	f.Add(230.0, 230.0, 150.0)
	f.Add(230.0, 0.0, 230.0)
	f.Add(441.0, 0.0, 0.0)
	f.Fuzz(func(t *testing.T, a, b, c float64) {
		v := [3]float64{a, b, c}
		bad := false
		lo, hi := math.Inf(1), 0.0
		for _, x := range v {
			if math.IsNaN(x) || math.IsInf(x, 0) || x < 0 || x > 440 {
				bad = true
			}
			lo, hi = math.Min(lo, x), math.Max(hi, x)
		}
		got := map[PhaseRule]Verdict{}
		for _, r := range rules {
			th := testThresholds(r)
			verdict, err := th.Classify(v)
			got[r] = verdict
			if bad {
				if verdict != VerdictFailed || !errors.Is(err, ErrBadReading) {
					t.Fatalf("rule %q: Classify(%v) = %v, %v; want failed with ErrBadReading", r, v, verdict, err)
				}
				continue
			}
			if err != nil {
				t.Fatalf("rule %q: Classify(%v): unexpected %v", r, v, err)
			}
			decider := lo
			if r == PhasesAny {
				decider = hi
			}
			want := VerdictBand
			if decider >= th.RestoreV {
				want = VerdictPresent
			} else if decider < th.LossV {
				want = VerdictLost
			}
			if verdict != want {
				t.Fatalf("rule %q: Classify(%v) = %v, want %v", r, v, verdict, want)
			}
		}
		if got[""] != got[PhasesAll] {
			t.Fatalf("Classify(%v): zero rule %v, PhasesAll %v", v, got[""], got[PhasesAll])
		}
		if (got[PhasesAll] == VerdictPresent && got[PhasesAny] != VerdictPresent) ||
			(got[PhasesAny] == VerdictLost && got[PhasesAll] != VerdictLost) {
			t.Fatalf("Classify(%v): all %v, any %v", v, got[PhasesAll], got[PhasesAny])
		}
	})
}
