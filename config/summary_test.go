package config

import (
	"strings"
	"testing"
)

func TestSummary(t *testing.T) {
	for _, f := range []string{"../deploy/holdup.toml", "../testdata/sim.toml"} {
		c, err := Load(f)
		if err != nil {
			t.Fatal(err)
		}
		lines := c.Summary()
		all := strings.Join(lines, "\n")
		for _, l := range lines {
			if len(l) > SummaryWidth {
				t.Errorf("%s: line of %d columns: %q", f, len(l), l)
			}
			for _, r := range l {
				if r < 0x20 || r > 0x7e {
					t.Errorf("%s: non-ASCII %q in %q", f, r, l)
				}
			}
		}
		if c.Console.PasswordHash != "" && strings.Contains(all, c.Console.PasswordHash) {
			t.Errorf("%s: summary shows the password hash", f)
		}
		for _, want := range []string{c.EEPROM.Part.Name, c.Store.Path, c.Devices[0].Name, "hold-up 3m0s", "(all phases)", "hold-up budget "} {
			if !strings.Contains(all, want) {
				t.Errorf("%s: summary lacks %q:\n%s", f, want, all)
			}
		}
	}
}
