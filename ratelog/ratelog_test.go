package ratelog

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// clock is a manual clock.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

type line struct {
	Msg        string `json:"msg"`
	Level      string `json:"level"`
	Part       string `json:"part"`
	Peer       string `json:"peer"`
	Suppressed int    `json:"suppressed"`
}

func newLogger(t *testing.T, opts Options) (*slog.Logger, *Handler, *bytes.Buffer, *clock) {
	t.Helper()
	c := &clock{t: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)}
	opts.Now = c.now
	var buf bytes.Buffer
	h := New(slog.NewJSONHandler(&buf, nil), opts)
	return slog.New(h), h, &buf, c
}

func lines(t *testing.T, buf *bytes.Buffer) []line {
	t.Helper()
	var out []line
	for _, s := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if s == "" {
			continue
		}
		var l line
		if err := json.Unmarshal([]byte(s), &l); err != nil {
			t.Fatalf("line %q: %v", s, err)
		}
		out = append(out, l)
	}
	buf.Reset()
	return out
}

// A flood of 100k bad frames in 100 s yields a bounded number of lines,
// every suppressed record is counted, and another part's alarm logged in
// the middle of the flood gets through.
func TestFloodBoundedOtherSourcePasses(t *testing.T) {
	log, h, buf, c := newLogger(t, Options{Burst: 5, Window: time.Minute})
	up := log.With("part", "uplink")
	mon := log.With("part", "monitor")
	const flood = 100_000
	alarmSeen := false
	for i := range flood {
		up.Warn("proto698: uplink: bad APDU from master", "err", "truncated")
		if i == flood/2 {
			mon.Error("power: mains lost", "phase", "A")
			for _, l := range lines(t, buf) {
				alarmSeen = alarmSeen || l.Part == "monitor" && l.Msg == "power: mains lost"
			}
		}
		c.advance(time.Millisecond)
	}
	h.Flush(context.Background())
	got := lines(t, buf)
	if !alarmSeen {
		t.Error("the monitor's alarm did not get through the uplink's flood")
	}
	// 100 s is two one-minute windows: 5 passed and one summary each,
	// the monitor's line read out already.
	if len(got) > 2*(5+1) {
		t.Errorf("%d lines for a flood of %d records, want at most %d", len(got), flood, 2*(5+1))
	}
	passed, suppressed := 0, 0
	for _, l := range got {
		if l.Part != "uplink" {
			t.Errorf("unexpected line %+v", l)
		}
		if l.Suppressed > 0 {
			suppressed += l.Suppressed
		} else {
			passed++
		}
	}
	if passed+suppressed+5 < flood { // up to 5 passed before the alarm was read out
		t.Errorf("passed %d + suppressed %d, flood %d: records lost uncounted", passed, suppressed, flood)
	}
}

func TestBudgets(t *testing.T) {
	type rec struct {
		after time.Duration // clock advance before the record
		peer  string        // source attribute on the record
		msg   string
	}
	tests := []struct {
		name string
		recs []rec
		want []line // lines written, Flush included
	}{
		{
			name: "burst then summary at the next record after the window",
			recs: []rec{{0, "", "a"}, {0, "", "a"}, {0, "", "a"}, {0, "", "a"}, {time.Minute, "", "a"}},
			want: []line{{Msg: "a"}, {Msg: "a"}, {Msg: "a", Suppressed: 2}, {Msg: "a"}},
		},
		{
			name: "another message has its own budget",
			recs: []rec{{0, "", "a"}, {0, "", "a"}, {0, "", "a"}, {0, "", "b"}},
			want: []line{{Msg: "a"}, {Msg: "a"}, {Msg: "b"}, {Msg: "a", Suppressed: 1}},
		},
		{
			name: "another peer has its own budget",
			recs: []rec{{0, "10.0.0.1", "a"}, {0, "10.0.0.1", "a"}, {0, "10.0.0.1", "a"}, {0, "10.0.0.2", "a"}},
			want: []line{{Msg: "a", Peer: "10.0.0.1"}, {Msg: "a", Peer: "10.0.0.1"}, {Msg: "a", Peer: "10.0.0.2"}, {Msg: "a", Suppressed: 1}},
		},
		{
			name: "a quiet window writes its summary with an unrelated record",
			recs: []rec{{0, "", "a"}, {0, "", "a"}, {0, "", "a"}, {0, "", "a"}, {2 * time.Minute, "", "b"}},
			want: []line{{Msg: "a"}, {Msg: "a"}, {Msg: "a", Suppressed: 2}, {Msg: "b"}},
		},
		{
			name: "within the window nothing more",
			recs: []rec{{0, "", "a"}, {0, "", "a"}, {59 * time.Second, "", "a"}},
			want: []line{{Msg: "a"}, {Msg: "a"}, {Msg: "a", Suppressed: 1}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			log, h, buf, c := newLogger(t, Options{Burst: 2, Window: time.Minute})
			log = log.With("part", "uplink")
			for _, r := range tc.recs {
				c.advance(r.after)
				if r.peer != "" {
					log.Warn(r.msg, "peer", r.peer)
				} else {
					log.Warn(r.msg)
				}
			}
			h.Flush(context.Background())
			got := lines(t, buf)
			if len(got) != len(tc.want) {
				t.Fatalf("lines %+v, want %+v", got, tc.want)
			}
			for i := range got {
				w := tc.want[i]
				w.Level, w.Part = "WARN", "uplink"
				if got[i] != w {
					t.Errorf("line %d = %+v, want %+v", i, got[i], w)
				}
			}
		})
	}
}

// Keys beyond MaxKeys share one budget, so varying a source attribute
// cannot grow the state or the output without bound.
func TestMaxKeys(t *testing.T) {
	log, h, buf, _ := newLogger(t, Options{Burst: 1, MaxKeys: 4})
	for i := range 1000 {
		log.Warn("x", "peer", strings.Repeat("p", i%500+1))
	}
	h.Flush(context.Background())
	got := lines(t, buf)
	if len(got) > 4+1+5 {
		t.Errorf("%d lines, want at most %d", len(got), 10)
	}
	total := 0
	for _, l := range got {
		total += max(1, l.Suppressed)
	}
	if total != 1000 {
		t.Errorf("lines account for %d records, want 1000", total)
	}
	if n := len(h.st.keys); n > 5 {
		t.Errorf("%d keys tracked, want at most 5", n)
	}
}

// A group opened with WithGroup keeps the budgets of its parent, and the
// level passes through Enabled.
func TestGroupAndEnabled(t *testing.T) {
	c := &clock{t: time.Unix(0, 0)}
	var buf bytes.Buffer
	h := New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn}), Options{Burst: 1, Now: c.now})
	log := slog.New(h).With("part", "uplink").WithGroup("g")
	if log.Enabled(context.Background(), slog.LevelInfo) {
		t.Error("info enabled under a warn handler")
	}
	log.Warn("m", "k", 1)
	log.Warn("m", "k", 2)
	h.Flush(context.Background())
	if n := strings.Count(buf.String(), "\n"); n != 2 {
		t.Errorf("%d lines, want the record and a summary:\n%s", n, buf.String())
	}
	if !strings.Contains(buf.String(), `"suppressed":1`) {
		t.Errorf("no summary:\n%s", buf.String())
	}
}
