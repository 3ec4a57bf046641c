package hooks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"
)

// Defaults of Config.
const (
	DefaultTimeout  = 10 * time.Second
	DefaultQueueLen = 32
)

// Config says where events go. Exec and MQTT may both be set; with
// neither, Emit only counts.
type Config struct {
	// Exec is the program run once per event ("" none): an absolute path.
	Exec string
	// Timeout bounds one run of Exec (its whole process group is killed
	// then) and one MQTT publish's acknowledgement; DefaultTimeout when 0.
	Timeout time.Duration
	// QueueLen is each sink's queue capacity; DefaultQueueLen when 0.
	QueueLen int
	// MQTT is the broker to publish to; nil none.
	MQTT *MQTTConfig
	// Observe, when set, is told of each delivery's outcome, from the
	// sink's goroutine (it must not block).
	Observe func(Outcome)
	// Logger receives the failures (warn) and deliveries (debug).
	Logger *slog.Logger
}

// Outcome is what became of one event in one sink.
type Outcome struct {
	// Sink is "exec" or "mqtt".
	Sink  string
	Event Event
	// Err is nil when the event was delivered: the program exited 0, the
	// broker acknowledged (QoS 1) or took (QoS 0) the message.
	Err error
}

// Errors an Outcome's Err wraps, for errors.Is.
var (
	// ErrTimeout: the program ran past Config.Timeout and was killed, or
	// the broker did not acknowledge in time.
	ErrTimeout = errors.New("hooks: timed out")
	// ErrSpawn: the program could not be started.
	ErrSpawn = errors.New("hooks: cannot start the program")
	// ErrExit: the program exited with a non-zero status or on a signal.
	ErrExit = errors.New("hooks: program failed")
	// ErrStopped: Run ended (the daemon stops) before the delivery
	// finished; a program still running was killed.
	ErrStopped = errors.New("hooks: stopped")
)

// Stats are the counters the daemon's status report shows.
type Stats struct {
	// Emitted counts the events Emit took.
	Emitted uint64     `json:"emitted"`
	Exec    *SinkStats `json:"exec,omitempty"`
	MQTT    *SinkStats `json:"mqtt,omitempty"`
}

// SinkStats count one sink's deliveries. Delivered + Failed + Dropped +
// Queued (+ one in progress) is what Emit gave it.
type SinkStats struct {
	Delivered uint64 `json:"delivered"`
	// Failed counts every failed delivery; TimedOut, SpawnErrors and
	// ExitErrors (exec) split it by cause.
	Failed      uint64 `json:"failed"`
	TimedOut    uint64 `json:"timed_out"`
	SpawnErrors uint64 `json:"spawn_errors,omitempty"`
	ExitErrors  uint64 `json:"exit_errors,omitempty"`
	// Dropped counts events the full queue dropped (the oldest first).
	Dropped uint64 `json:"dropped"`
	Queued  int    `json:"queued"`
	// Connected says whether the broker connection is up (mqtt).
	Connected *bool `json:"connected,omitempty"`
}

// sink delivers one event; it runs on the sink's goroutine, one event at
// a time.
type sink interface {
	name() string
	// run prepares the sink (a broker connection) and returns what to
	// call when Run ends.
	start(ctx context.Context) (stop func())
	deliver(ctx context.Context, e Event) error
	connected() *bool
}

// sinkState is a sink with its queue and counters (under mu).
type sinkState struct {
	s  sink
	q  *queue
	mu sync.Mutex
	st SinkStats
}

// Hooks delivers events to the configured program and broker. A nil
// *Hooks takes every Emit and does nothing.
type Hooks struct {
	cfg   Config
	log   *slog.Logger
	sinks []*sinkState

	mu  sync.Mutex // orders Emit: every sink sees one sequence
	seq uint64
}

// New checks cfg and returns the hooks; nothing runs before Run.
func New(cfg Config) (*Hooks, error) {
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.QueueLen == 0 {
		cfg.QueueLen = DefaultQueueLen
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	switch {
	case cfg.Timeout < 0:
		return nil, fmt.Errorf("hooks: timeout %v: must be positive", cfg.Timeout)
	case cfg.QueueLen < 0:
		return nil, fmt.Errorf("hooks: queue length %d: must be positive", cfg.QueueLen)
	case cfg.Exec != "" && !filepath.IsAbs(cfg.Exec):
		return nil, fmt.Errorf("hooks: exec %q: must be an absolute path", cfg.Exec)
	}
	h := &Hooks{cfg: cfg, log: cfg.Logger}
	if cfg.Exec != "" {
		h.sinks = append(h.sinks, &sinkState{s: newExecSink(cfg.Exec, cfg.Timeout, h.log.With("sink", "exec")), q: newQueue(cfg.QueueLen)})
	}
	if cfg.MQTT != nil {
		m, err := newMQTTSink(*cfg.MQTT, cfg.Timeout, h.log.With("sink", "mqtt"))
		if err != nil {
			return nil, err
		}
		h.sinks = append(h.sinks, &sinkState{s: m, q: newQueue(cfg.QueueLen)})
	}
	return h, nil
}

// Emit numbers e (Seq) and queues it for every sink. It never blocks and
// may be called from any goroutine, before Run (the events wait in the
// queues) and after it (they are counted, never delivered).
func (h *Hooks) Emit(e Event) {
	if h == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seq++
	e.Seq = h.seq
	for _, s := range h.sinks {
		if s.q.push(e) {
			h.log.Warn("hook queue full: oldest event dropped", "sink", s.s.name(), "queue", len(s.q.buf))
		}
	}
}

// Stats returns the counters.
func (h *Hooks) Stats() Stats {
	if h == nil {
		return Stats{}
	}
	h.mu.Lock()
	st := Stats{Emitted: h.seq}
	h.mu.Unlock()
	for _, s := range h.sinks {
		s.mu.Lock()
		c := s.st
		s.mu.Unlock()
		c.Queued, c.Dropped = s.q.counts()
		c.Connected = s.s.connected()
		switch s.s.name() {
		case "exec":
			st.Exec = &c
		case "mqtt":
			st.MQTT = &c
		}
	}
	return st
}

// Run delivers events until ctx ends, then stops each sink (a program
// still running is killed; the broker is told "offline" and left) and
// returns once every goroutine it started has. Events still queued then
// are not delivered.
func (h *Hooks) Run(ctx context.Context) error {
	if h == nil {
		<-ctx.Done()
		return nil
	}
	var wg sync.WaitGroup
	for _, s := range h.sinks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h.drain(ctx, s)
		}()
	}
	wg.Wait()
	return nil
}

// drain is one sink's goroutine.
func (h *Hooks) drain(ctx context.Context, s *sinkState) {
	stop := s.s.start(ctx)
	defer stop()
	for {
		e, ok := s.q.pop()
		if !ok {
			select {
			case <-ctx.Done():
				return
			case <-s.q.wake:
			}
			continue
		}
		err := s.s.deliver(ctx, e)
		h.count(s, e, err)
		if ctx.Err() != nil {
			return
		}
	}
}

// count records and logs one delivery's outcome.
func (h *Hooks) count(s *sinkState, e Event, err error) {
	s.mu.Lock()
	switch {
	case err == nil:
		s.st.Delivered++
	case errors.Is(err, ErrStopped):
		// Not a failure of the hook: the daemon is stopping.
	default:
		s.st.Failed++
		switch {
		case errors.Is(err, ErrTimeout):
			s.st.TimedOut++
		case errors.Is(err, ErrSpawn):
			s.st.SpawnErrors++
		case errors.Is(err, ErrExit):
			s.st.ExitErrors++
		}
	}
	s.mu.Unlock()
	if err != nil {
		h.log.Warn("hook failed", "sink", s.s.name(), "event", e.Kind, "seq", e.Seq, "err", err)
	} else {
		h.log.Debug("hook delivered", "sink", s.s.name(), "event", e.Kind, "seq", e.Seq)
	}
	if h.cfg.Observe != nil {
		h.cfg.Observe(Outcome{Sink: s.s.name(), Event: e, Err: err})
	}
}
