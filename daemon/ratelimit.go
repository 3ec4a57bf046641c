package daemon

// The master's control requests, bounded: a token bucket in front of the
// scheduler ([uplink] control_rate, control_burst). A SET beyond the rate
// is refused with "temporarily unavailable" before it reaches a field bus
// or the journal; refusals are counted and logged at most once per
// limitLogEvery, with the count since the previous line.

import (
	"log/slog"
	"sync"
	"time"

	"holdup/config"
)

// limitLogEvery is the least time between two log lines about refusals.
const limitLogEvery = 10 * time.Second

// controlLimit is a token bucket: burst tokens when full, refilled at rate
// per second; each control request takes one or is refused. Safe for
// concurrent use (the uplink serves a request at a time, but the console
// and tests may call it too).
type controlLimit struct {
	rate, burst float64
	now         func() time.Time
	log         *slog.Logger

	mu       sync.Mutex
	tokens   float64
	last     time.Time // when tokens was last refilled
	refused  uint64    // since the start
	unlogged uint64    // refused since the last log line
	lastLog  time.Time // zero: never logged
}

// newControlLimit returns a full bucket; a rate or burst not above zero
// (a configuration built without the keys) takes the defaults. now is the
// clock (time.Now; tests inject one).
func newControlLimit(rate float64, burst int, now func() time.Time, log *slog.Logger) *controlLimit {
	if rate <= 0 {
		rate = config.DefaultControlRate
	}
	if burst <= 0 {
		burst = config.DefaultControlBurst
	}
	return &controlLimit{rate: rate, burst: float64(burst), tokens: float64(burst), now: now, log: log}
}

// allow takes a token for one control request and reports whether there
// was one. A refusal is counted; the first one after a quiet spell is
// logged at once, later ones in one line per limitLogEvery.
func (l *controlLimit) allow() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if l.last.IsZero() {
		l.last = now
	}
	if dt := now.Sub(l.last); dt > 0 {
		l.tokens = min(l.burst, l.tokens+dt.Seconds()*l.rate)
		l.last = now
	}
	ok := l.tokens >= 1
	if ok {
		l.tokens--
	} else {
		l.refused++
		l.unlogged++
	}
	if l.unlogged > 0 && (l.lastLog.IsZero() || now.Sub(l.lastLog) >= limitLogEvery) {
		l.log.Warn("master's control requests refused over the configured rate (temporarily unavailable)",
			"refused", l.unlogged, "refused_total", l.refused, "control_rate", l.rate, "control_burst", l.burst)
		l.unlogged, l.lastLog = 0, now
	}
	return ok
}

// refusedTotal returns how many requests were refused since the start.
func (l *controlLimit) refusedTotal() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.refused
}
