package daemon

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// limitClock is a clock the test moves.
type limitClock struct{ t time.Time }

func (c *limitClock) now() time.Time       { return c.t }
func (c *limitClock) step(d time.Duration) { c.t = c.t.Add(d) }
func newLimitClock() *limitClock {
	return &limitClock{t: time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)}
}
func lines(b *bytes.Buffer, sub string) int { return strings.Count(b.String(), sub) }
func logTo(b *bytes.Buffer) *slog.Logger    { return slog.New(slog.NewTextHandler(b, nil)) }

// TestControlLimit: a full bucket lets burst requests through, then one per
// 1/rate; a refusal is counted; refusals are logged once at first and then
// at most once per limitLogEvery with the count since the previous line.
func TestControlLimit(t *testing.T) {
	clk := newLimitClock()
	var logs bytes.Buffer
	l := newControlLimit(2, 4, clk.now, logTo(&logs))
	steps := []struct {
		advance time.Duration
		allowed bool
	}{
		{0, true}, {0, true}, {0, true}, {0, true}, // the burst
		{0, false}, {0, false}, // empty
		{499 * time.Millisecond, false}, // 0.998 token
		{time.Millisecond, true},        // one token at 2/s
		{0, false},
		{time.Hour, true}, {0, true}, {0, true}, {0, true}, {0, false}, // refilled to the burst, no more
	}
	for i, s := range steps {
		clk.step(s.advance)
		if got := l.allow(); got != s.allowed {
			t.Fatalf("step %d (+%v): allow = %v, want %v", i, s.advance, got, s.allowed)
		}
	}
	if n := l.refusedTotal(); n != 5 {
		t.Fatalf("%d refusals counted, want 5", n)
	}
	// The first refusal logged at once; the ones within 10 s of it not:
	// they are counted in the line the next request an hour later brings;
	// the refusal right after that waits for the next line.
	if n := lines(&logs, "refused over the configured rate"); n != 2 {
		t.Fatalf("%d log lines, want 2:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), "refused=3 refused_total=4") {
		t.Fatalf("the second line (at the next request after 10 s) does not carry the 3 refusals since the first:\n%s", logs.String())
	}
	// A flood: 10,000 refusals over 20 s give at most 3 more lines.
	logs.Reset()
	for range 10000 {
		clk.step(2 * time.Millisecond)
		for l.allow() {
		}
	}
	if n := lines(&logs, "refused over the configured rate"); n < 1 || n > 3 {
		t.Fatalf("%d log lines for a 20 s flood, want 1 to 3", n)
	}
}

// A configuration built without the keys gets the defaults, not a limit
// that refuses everything.
func TestControlLimitDefaults(t *testing.T) {
	clk := newLimitClock()
	l := newControlLimit(0, 0, clk.now, slog.New(slog.DiscardHandler))
	n := 0
	for l.allow() {
		n++
	}
	if n != 8 || l.rate != 2 {
		t.Fatalf("default bucket let %d through at rate %v, want 8 at 2/s", n, l.rate)
	}
}
