package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestCheckConfigJournalCapacity: check-config prints the journal's
// capacity for the outage workload; a configuration whose workload
// outruns the journal within the hold-up budget also gets a warning on
// stderr and stays valid (exit 0).
func TestCheckConfigJournalCapacity(t *testing.T) {
	line := regexp.MustCompile(`(?m)^journal capacity: (\d+) records, about (\d+) s of this configuration's outage workload \(hold-up budget 180 s\)$`)
	code, out, errOut := run(t, "check-config", "testdata/sim.toml")
	if code != 0 || !line.MatchString(out) || errOut != "" {
		t.Fatalf("sim.toml: exit %d, %q, stderr %q: want the capacity line and no warning", code, out, errOut)
	}
	raw, err := os.ReadFile("testdata/sim.toml")
	if err != nil {
		t.Fatal(err)
	}
	s := strings.NewReplacer(`outage_collect_interval = "2s"`, `outage_collect_interval = "0s"`,
		`period = "5s"`, `period = "1s"`, `period = "10s"`, `period = "1s"`).Replace(string(raw))
	path := filepath.Join(t.TempDir(), "heavy.toml")
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = run(t, "check-config", path)
	if code != 0 || !line.MatchString(out) || !strings.HasPrefix(errOut, "warning: journal capacity: ") || !strings.Contains(errOut, "less than the hold-up budget of 180 s") {
		t.Fatalf("heavy workload: exit %d, %q, stderr %q: want the line and a warning", code, out, errOut)
	}
}
