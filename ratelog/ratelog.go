package ratelog

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"
)

// DefaultKeys are the attribute keys that name a record's source when
// Options.Keys is nil.
var DefaultKeys = []string{"part", "device", "peer", "master"}

// Options configure a Handler. The zero value takes the defaults.
type Options struct {
	// Burst is how many records of one key are passed in a window; 0
	// means 10.
	Burst int
	// Window is the period a key's budget covers; 0 means one minute.
	Window time.Duration
	// Keys are the attribute keys whose values name the source; nil means
	// DefaultKeys.
	Keys []string
	// MaxKeys bounds the keys tracked at once; records of a key beyond it
	// share one overflow budget. 0 means 1024.
	MaxKeys int
	// Now is the clock; nil means time.Now. Tests inject one.
	Now func() time.Time
}

// SuppressedKey is the attribute of a summary line that carries the number
// of records of its key suppressed in the window that ended.
const SuppressedKey = "suppressed"

// overflowKey is the budget shared by keys beyond MaxKeys.
const overflowKey = "\x00overflow"

// Handler is the rate-limiting slog.Handler. Handlers derived with
// WithAttrs and WithGroup share their parent's budgets.
type Handler struct {
	inner   slog.Handler
	st      *limiter
	source  string // key=value of the source attributes given to WithAttrs
	grouped bool   // a group is open: later attributes are not top-level
}

// limiter is the state every derived Handler shares.
type limiter struct {
	opts Options

	mu        sync.Mutex
	keys      map[string]*window
	nextSweep time.Time // no window ends before this
}

// window is one key's budget.
type window struct {
	start      time.Time
	passed     int
	suppressed int
	// What a summary line is written with: the inner handler (with the
	// source's attributes) and the record's level and message.
	h     slog.Handler
	level slog.Level
	msg   string
}

// New wraps inner.
func New(inner slog.Handler, opts Options) *Handler {
	if opts.Burst <= 0 {
		opts.Burst = 10
	}
	if opts.Window <= 0 {
		opts.Window = time.Minute
	}
	if opts.Keys == nil {
		opts.Keys = DefaultKeys
	}
	if opts.MaxKeys <= 0 {
		opts.MaxKeys = 1024
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Handler{inner: inner, st: &limiter{opts: opts, keys: map[string]*window{}}}
}

// Enabled implements slog.Handler.
func (h *Handler) Enabled(ctx context.Context, l slog.Level) bool { return h.inner.Enabled(ctx, l) }

// WithAttrs implements slog.Handler.
func (h *Handler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.inner = h.inner.WithAttrs(as)
	if !h.grouped {
		var b strings.Builder
		b.WriteString(h.source)
		for _, a := range as {
			h.st.appendSource(&b, a)
		}
		c.source = b.String()
	}
	return &c
}

// WithGroup implements slog.Handler.
func (h *Handler) WithGroup(name string) slog.Handler {
	c := *h
	c.inner = h.inner.WithGroup(name)
	if name != "" {
		c.grouped = true
	}
	return &c
}

// appendSource appends a=value to b when a's key names a source.
func (l *limiter) appendSource(b *strings.Builder, a slog.Attr) {
	if !slices.Contains(l.opts.Keys, a.Key) {
		return
	}
	b.WriteString(a.Key)
	b.WriteByte('=')
	b.WriteString(a.Value.String())
	b.WriteByte(' ')
}

// Handle implements slog.Handler: it passes r, or counts it when its key
// has used its budget in the current window. Summaries of windows that
// have ended are written first.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(h.source)
	if !h.grouped {
		r.Attrs(func(a slog.Attr) bool {
			h.st.appendSource(&b, a)
			return true
		})
	}
	b.WriteByte(0)
	b.WriteString(r.Level.String())
	b.WriteByte(0)
	b.WriteString(r.Message)
	pass, summaries := h.st.take(b.String(), h.inner, r.Level, r.Message)
	for _, s := range summaries {
		_ = s.h.Handle(ctx, s.r)
	}
	if !pass {
		return nil
	}
	return h.inner.Handle(ctx, r)
}

// Flush writes the summaries of every key with suppressed records, ended
// window or not (e.g. before the daemon exits).
func (h *Handler) Flush(ctx context.Context) {
	for _, s := range h.st.sweep(true) {
		_ = s.h.Handle(ctx, s.r)
	}
}

// summary is a line to write for a window.
type summary struct {
	key string
	h   slog.Handler
	r   slog.Record
}

// take charges one record of key and reports whether it passes, with the
// summaries of ended windows to write before it.
func (l *limiter) take(key string, inner slog.Handler, level slog.Level, msg string) (bool, []summary) {
	sums := l.sweep(false)
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.opts.Now()
	w, ok := l.keys[key]
	if !ok {
		if len(l.keys) >= l.opts.MaxKeys {
			key = overflowKey
			w, ok = l.keys[key]
			level, msg = slog.LevelWarn, "ratelog: log lines of too many sources"
		}
		if !ok {
			w = &window{start: now, h: inner, level: level, msg: msg}
			l.keys[key] = w
			l.nextSweep = earliest(l.nextSweep, now.Add(l.opts.Window))
		}
	}
	if now.Sub(w.start) >= l.opts.Window {
		if s, ok := w.summary(now, l.opts.Window); ok {
			sums = append(sums, s)
		}
		w.start, w.passed, w.suppressed = now, 0, 0
		l.nextSweep = earliest(l.nextSweep, now.Add(l.opts.Window))
	}
	if w.passed >= l.opts.Burst {
		w.suppressed++
		return false, sums
	}
	w.passed++
	return true, sums
}

// sweep ends the windows past their end (all windows with suppressed
// records when all is set): it returns their summaries and forgets the
// keys whose window ended.
func (l *limiter) sweep(all bool) []summary {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.opts.Now()
	if !all && now.Before(l.nextSweep) {
		return nil
	}
	var sums []summary
	l.nextSweep = time.Time{}
	for k, w := range l.keys {
		ended := now.Sub(w.start) >= l.opts.Window
		if ended || all {
			if s, ok := w.summary(now, l.opts.Window); ok {
				s.key = k
				sums = append(sums, s)
			}
			w.suppressed = 0
		}
		if ended {
			delete(l.keys, k)
			continue
		}
		l.nextSweep = earliest(l.nextSweep, w.start.Add(l.opts.Window))
	}
	// Map order is random: write the summaries in a stable order.
	slices.SortFunc(sums, func(a, b summary) int { return strings.Compare(a.key, b.key) })
	return sums
}

// summary is the line for w's suppressed records, if any.
func (w *window) summary(now time.Time, d time.Duration) (summary, bool) {
	if w.suppressed == 0 {
		return summary{}, false
	}
	r := slog.NewRecord(now, w.level, w.msg, 0)
	r.AddAttrs(slog.Int(SuppressedKey, w.suppressed), slog.Duration("window", d))
	return summary{h: w.h, r: r}, true
}

// earliest returns the earlier of a and b, a zero a counting as unset.
func earliest(a, b time.Time) time.Time {
	if a.IsZero() || b.Before(a) {
		return b
	}
	return a
}
