package power

import (
	"fmt"
	"sync"
	"time"
)

// SimLineConfig configures a SimLine.
type SimLineConfig struct {
	// ActiveHigh: the power-fail signal is asserted when the pin is high.
	// The default (false) models the usual active-low PFO output: pin low
	// means mains lost.
	ActiveHigh bool
	// Debounce models the kernel's debounce: a new pin level is reported
	// only after it has been stable for this long, with the edge stamped
	// at the moment it became valid. Zero reports every change at once.
	Debounce time.Duration
	// Initial is the pin level at open (0 or 1).
	Initial int
}

// SimLine is a simulated power-fail GPIO input. Set changes the pin level
// and, like the kernel's edge detector, produces one event per change of
// the (debounced) level, stamped from the clock. With no debounce the
// handler runs synchronously in the caller of Set, which is what the
// edge-to-gate benchmark measures.
type SimLine struct {
	cfg   SimLineConfig
	clock Clock
	h     EdgeHandler
	epoch time.Time

	mu       sync.Mutex
	pin      int    // raw pin level
	reported int    // debounced level last reported
	seq      uint32 // edges reported
	timer    Timer  // debounce timer
	gen      uint64 // invalidates stale debounce callbacks
	closed   bool
	hmu      sync.Mutex     // serialises handler calls, as the kernel watcher does
	calls    sync.WaitGroup // handler calls begun while open; Close waits for them
}

// NewSimLine returns a simulated line; h receives its edges. A nil clock
// means the real clock.
func NewSimLine(cfg SimLineConfig, clock Clock, h EdgeHandler) (*SimLine, error) {
	if cfg.Initial != 0 && cfg.Initial != 1 {
		return nil, fmt.Errorf("power: sim line: initial level %d: must be 0 or 1", cfg.Initial)
	}
	if cfg.Debounce < 0 {
		return nil, fmt.Errorf("power: sim line: debounce %v: must not be negative", cfg.Debounce)
	}
	if clock == nil {
		clock = RealClock{}
	}
	if h == nil {
		h = func(Event) {}
	}
	return &SimLine{cfg: cfg, clock: clock, h: h, epoch: clock.Now(), pin: cfg.Initial, reported: cfg.Initial}, nil
}

// LevelFor returns the pin level that means m on this line.
func (s *SimLine) LevelFor(m Mains) int {
	lostLevel := 0
	if s.cfg.ActiveHigh {
		lostLevel = 1
	}
	if m == MainsLost {
		return lostLevel
	}
	return 1 - lostLevel
}

func (s *SimLine) mainsOf(level int) Mains {
	if level == s.LevelFor(MainsLost) {
		return MainsLost
	}
	return MainsPresent
}

// Set drives the pin to level (0 or 1). A change of level produces an
// edge event (after the debounce period, if one is configured).
func (s *SimLine) Set(level int) error {
	if level != 0 && level != 1 {
		return fmt.Errorf("power: sim line: level %d: must be 0 or 1", level)
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	if level == s.pin {
		s.mu.Unlock()
		return nil
	}
	s.pin = level
	if s.cfg.Debounce == 0 {
		s.reported = level
		s.deliverLocked(s.eventLocked(level))
		return nil
	}
	// Any change restarts the debounce period.
	s.gen++
	gen := s.gen
	if s.timer != nil {
		s.timer.Stop()
	}
	s.timer = s.clock.AfterFunc(s.cfg.Debounce, func() { s.debounced(gen) })
	s.mu.Unlock()
	return nil
}

// Fail drives the pin to the level that means mains lost.
func (s *SimLine) Fail() error { return s.Set(s.LevelFor(MainsLost)) }

// Restore drives the pin to the level that means mains present.
func (s *SimLine) Restore() error { return s.Set(s.LevelFor(MainsPresent)) }

// Chatter toggles the pin n times, calling step after each toggle (a test
// advances its fake clock there; nil means no time passes). It models a
// bouncing contact or a supply hovering at the comparator threshold, and
// fails if n toggles cannot leave the pin at final.
func (s *SimLine) Chatter(n int, step func(), final Mains) error {
	s.mu.Lock()
	end := s.pin ^ (n & 1)
	s.mu.Unlock()
	if end != s.LevelFor(final) {
		return fmt.Errorf("power: sim line: %d toggles cannot end %s", n, final)
	}
	for i := 0; i < n; i++ {
		s.mu.Lock()
		next := 1 - s.pin
		s.mu.Unlock()
		if err := s.Set(next); err != nil {
			return err
		}
		if step != nil {
			step()
		}
	}
	return nil
}

// Edges returns how many edge events the line has reported.
func (s *SimLine) Edges() uint32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seq
}

func (s *SimLine) debounced(gen uint64) {
	s.mu.Lock()
	if s.closed || gen != s.gen || s.pin == s.reported {
		s.mu.Unlock()
		return
	}
	s.reported = s.pin
	s.deliverLocked(s.eventLocked(s.pin))
}

// deliverLocked hands ev to the handler; it is called with s.mu held on an
// open line and releases it. Handler calls are serialised in edge order:
// hmu is taken before s.mu is released.
func (s *SimLine) deliverLocked(ev Event) {
	s.calls.Add(1)
	s.hmu.Lock()
	s.mu.Unlock()
	s.h(ev)
	s.hmu.Unlock()
	s.calls.Done()
}

func (s *SimLine) eventLocked(level int) Event {
	s.seq++
	return Event{Mains: s.mainsOf(level), Stamp: s.clock.Now().Sub(s.epoch), Seq: s.seq}
}

// Value returns the debounced state of the line.
func (s *SimLine) Value() (Mains, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return MainsUnknown, ErrClosed
	}
	return s.mainsOf(s.reported), nil
}

// Close stops event delivery; it waits for a running handler call.
func (s *SimLine) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	s.closed = true
	if s.timer != nil {
		s.timer.Stop()
	}
	s.mu.Unlock()
	s.calls.Wait() // no call begins once closed is set
	return nil
}
