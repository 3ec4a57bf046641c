package main

import (
	"regexp"
	"testing"
)

// TestJournalDumpVersionSummary: on a chip written before the upgrade
// (the committed version-1 image), `journal dump`'s summary line keeps
// every field in its place and appends ", records v1 M, v2 K" at its end.
func TestJournalDumpVersionSummary(t *testing.T) {
	code, _, errOut := run(t, "journal", "dump", "-image", "store/testdata/journal-v1-at24c64.bin", "-part", "at24c64", "-all")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	line := regexp.MustCompile(`(?m)^journal [0-9a-f]+: ([0-9]+) records printed, [0-9]+ unconsumed, consumed up to [0-9]+, next sequence [0-9]+, 0 corrupt, 0 skipped regions, 0 lost ranges \(0 sequence numbers\), records v1 ([0-9]+), v2 0$`)
	m := line.FindStringSubmatch(errOut)
	if m == nil {
		t.Fatalf("no summary line with the versions at its end:\n%s", errOut)
	}
	if m[1] != m[2] {
		t.Fatalf("printed %s records with -all, the summary counts %s version-1 ones", m[1], m[2])
	}
}
