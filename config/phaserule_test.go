package config

import (
	"strings"
	"testing"
)

// TestPhaseRule: power.phase_rule is "all" (the method's rule) unless the
// file says "any"; either is taken as written.
func TestPhaseRule(t *testing.T) {
	for _, tc := range []struct {
		add, want string
	}{
		{"", "all"},
		{"\nphase_rule = \"all\"", "all"},
		{"\nphase_rule = \"any\" # single-phase fed", "any"},
	} {
		c, err := Parse([]byte(strings.Replace(minimal, "restore_v = 187", "restore_v = 187"+tc.add, 1)), "phases.toml")
		if err != nil {
			t.Fatalf("%q: %v", tc.add, err)
		}
		if c.Power.PhaseRule != tc.want {
			t.Errorf("%q: PhaseRule %q, want %q", tc.add, c.Power.PhaseRule, tc.want)
		}
		if tc.add != "" && c.Line("power.phase_rule") != 10 {
			t.Errorf("%q: power.phase_rule at line %d, want 10", tc.add, c.Line("power.phase_rule"))
		}
	}
}
