package console

import (
	"bytes"
	"sync"
)

// LogRing keeps the most recent log lines for `log [N]`. Tee the daemon's
// log output into it (io.MultiWriter(os.Stderr, ring)) and answer
// State.Log with Lines. Memory is bounded by the line count and MaxLineLen.
// It is safe for concurrent use: slog handlers write from any goroutine.
type LogRing struct {
	mu      sync.Mutex
	lines   []string // ring storage
	next    int      // where the next line goes
	full    bool
	partial []byte // a line not yet ended by '\n'
}

// MaxLineLen bounds a stored log line; longer ones are cut.
const MaxLineLen = 1024

// NewLogRing keeps the last n lines (n ≥ 1).
func NewLogRing(n int) *LogRing {
	if n < 1 {
		n = 1
	}
	return &LogRing{lines: make([]string, n)}
}

// Write stores each complete line of p. It never fails.
func (r *LogRing) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			r.partial = appendBounded(r.partial, p)
			break
		}
		l := appendBounded(r.partial, p[:i])
		r.partial = r.partial[:0]
		r.lines[r.next] = string(l)
		r.next = (r.next + 1) % len(r.lines)
		if r.next == 0 {
			r.full = true
		}
		p = p[i+1:]
	}
	return n, nil
}

func appendBounded(dst, src []byte) []byte {
	if room := MaxLineLen - len(dst); len(src) > room {
		src = src[:max(room, 0)]
	}
	return append(dst, src...)
}

// Lines returns up to n most recent lines, oldest first.
func (r *LogRing) Lines(n int) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	have := r.next
	if r.full {
		have = len(r.lines)
	}
	n = min(n, have)
	out := make([]string, 0, n)
	for i := n; i > 0; i-- {
		out = append(out, r.lines[(r.next-i+len(r.lines))%len(r.lines)])
	}
	return out
}
