package console

import (
	"strings"
	"testing"
)

// TestJournalRoom: the line under the journal's fill tells the capacity
// estimate when there is one, the seconds only when the workload has a
// rate, never a negative room, within 80 columns.
func TestJournalRoom(t *testing.T) {
	base := Status{JournalUsed: 1234, JournalSize: 8192, JournalRecords: 12}
	for _, tc := range []struct {
		name     string
		capacity int
		seconds  *float64
		want     string
	}{
		{"no estimate", 0, nil, ""},
		{"no estimate, seconds ignored", 0, ptr(5.0), ""},
		{"records only", 172, nil, "          room for about 160 more records"},
		{"records and seconds", 172, ptr(309.6), "          room for about 160 more records, 310 s of the outage workload"},
		{"fuller than the estimate", 10, ptr(0.0), "          room for about 0 more records, 0 s of the outage workload"},
		{"a large part", 123456, ptr(98765.4), "          room for about 123444 more records, 98765 s of the outage workload"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := base
			s.JournalCapacityRecords, s.JournalEstimateS = tc.capacity, tc.seconds
			lines := StatusLines(s)
			var got string
			for i, l := range lines {
				if strings.HasPrefix(l, "journal ") {
					if l != "journal   1234 of 8192 bytes (15.1%), 12 records" {
						t.Errorf("journal line %q changed", l)
					}
					if i+1 < len(lines) && strings.HasPrefix(lines[i+1], "          room") {
						got = lines[i+1]
					}
				}
			}
			if got != tc.want {
				t.Errorf("line under the journal's\n got %q\nwant %q", got, tc.want)
			}
			if len(got) > 80 {
				t.Errorf("%d columns: %q", len(got), got)
			}
		})
	}
}
