package devices

import (
	"fmt"
	"sync"
	"syscall"
	"time"

	"github.com/warthog618/go-gpiocdev"
)

// SimChip is a GPIO chip with the kernel's rules: offsets beyond the
// chip's line count are invalid, a line held by one request is busy for
// others until released, and a released line or closed chip refuses
// operations (the go-gpiocdev sentinel errors). It records every level
// change of every line with its time.
type SimChip struct {
	name  string
	lines int

	mu      sync.Mutex
	closed  bool
	held    map[int]*simLine
	level   map[int]int
	history []LevelChange
}

// LevelChange is one change of a simulated line's physical level.
type LevelChange struct {
	Offset int
	Level  int
	Time   time.Time
}

// NewSimChip returns a chip called name with lines lines.
func NewSimChip(name string, lines int) *SimChip {
	return &SimChip{name: name, lines: lines, held: map[int]*simLine{}, level: map[int]int{}}
}

// RequestOutput claims a line as output driven to initial.
func (c *SimChip) RequestOutput(offset, initial int) (OutputLine, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.closed:
		return nil, gpiocdev.ErrClosed
	case offset < 0 || offset >= c.lines:
		return nil, gpiocdev.ErrInvalidOffset
	case c.held[offset] != nil:
		return nil, fmt.Errorf("%s line %d: %w", c.name, offset, syscall.EBUSY)
	}
	l := &simLine{chip: c, offset: offset}
	c.held[offset] = l
	c.set(offset, initial)
	return l, nil
}

// set records a level (c.mu held); only changes are recorded.
func (c *SimChip) set(offset, v int) {
	if v != 0 {
		v = 1
	}
	if old, ok := c.level[offset]; ok && old == v {
		return
	}
	c.level[offset] = v
	c.history = append(c.history, LevelChange{offset, v, time.Now()})
}

// Level returns the physical level of a line (0 if never driven).
func (c *SimChip) Level(offset int) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.level[offset]
}

// History returns every level change so far.
func (c *SimChip) History() []LevelChange {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]LevelChange(nil), c.history...)
}

// Close closes the chip; its lines stay requested until closed, like the
// kernel's.
func (c *SimChip) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return gpiocdev.ErrClosed
	}
	c.closed = true
	return nil
}

type simLine struct {
	chip   *SimChip
	offset int
	closed bool
}

func (l *simLine) SetValue(v int) error {
	l.chip.mu.Lock()
	defer l.chip.mu.Unlock()
	if l.closed {
		return gpiocdev.ErrClosed
	}
	l.chip.set(l.offset, v)
	return nil
}

func (l *simLine) Value() (int, error) {
	l.chip.mu.Lock()
	defer l.chip.mu.Unlock()
	if l.closed {
		return 0, gpiocdev.ErrClosed
	}
	return l.chip.level[l.offset], nil
}

func (l *simLine) Close() error {
	l.chip.mu.Lock()
	defer l.chip.mu.Unlock()
	if l.closed {
		return gpiocdev.ErrClosed
	}
	l.closed = true
	delete(l.chip.held, l.offset)
	return nil
}
