package devices

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/warthog618/go-gpiocdev"
)

// OutputLine is one requested GPIO output; values are physical levels.
type OutputLine interface {
	SetValue(v int) error
	Value() (int, error)
	Close() error
}

// Chip is a GPIO chip that grants output lines.
type Chip interface {
	// RequestOutput claims line offset as an output driven to initial.
	RequestOutput(offset, initial int) (OutputLine, error)
	Close() error
}

// OpenChip opens a GPIO chip through the kernel's character device
// (go-gpiocdev), e.g. "gpiochip0".
func OpenChip(name string) (Chip, error) {
	c, err := gpiocdev.NewChip(name, gpiocdev.WithConsumer("holdup"))
	if err != nil {
		return nil, fmt.Errorf("%w: open GPIO chip %s: %v", ErrLinkDown, name, err)
	}
	return cdevChip{c}, nil
}

type cdevChip struct{ c *gpiocdev.Chip }

func (c cdevChip) RequestOutput(offset, initial int) (OutputLine, error) {
	l, err := c.c.RequestLine(offset, gpiocdev.AsOutput(initial))
	if err != nil {
		return nil, err
	}
	return l, nil
}

func (c cdevChip) Close() error { return c.c.Close() }

// GPIOOutput drives switch outputs: each point is one line, logical 1 =
// on (inverted on the wire for active_low points). All lines start off.
type GPIOOutput struct {
	dev   Device
	chip  Chip
	mu    sync.Mutex
	lines map[string]OutputLine
}

// NewGPIOOutput claims every point's line on chip, driven off.
func NewGPIOOutput(d Device, chip Chip) (*GPIOOutput, error) {
	g := &GPIOOutput{dev: d, chip: chip}
	if err := g.request(); err != nil {
		return nil, err
	}
	return g, nil
}

func (g *GPIOOutput) request() error {
	lines := make(map[string]OutputLine, len(g.dev.Points))
	for i, p := range g.dev.Points {
		l, err := g.chip.RequestOutput(p.Register, level(p, 0))
		if err != nil {
			for _, l := range lines {
				_ = l.Close()
			}
			return fmt.Errorf("devices: device %q: points[%d] %q: request line %d: %w", g.dev.Name, i, p.Name, p.Register, err)
		}
		lines[p.Name] = l
	}
	g.lines = lines
	return nil
}

func level(p Point, logical int) int {
	if p.ActiveLow {
		return logical ^ 1
	}
	return logical
}

// Device returns the device's configuration.
func (g *GPIOOutput) Device() Device { return g.dev }

func (g *GPIOOutput) line(p Point) (OutputLine, error) {
	l := g.lines[p.Name]
	if l == nil {
		return nil, fmt.Errorf("devices: device %q: no output point %q", g.dev.Name, p.Name)
	}
	return l, nil
}

// Write switches a point on (v != 0) or off.
func (g *GPIOOutput) Write(ctx context.Context, p Point, v float64) (Sample, error) {
	if err := ctx.Err(); err != nil {
		return Sample{}, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	l, err := g.line(p)
	if err != nil {
		return Sample{}, err
	}
	logical := 0
	if v != 0 {
		logical = 1
	}
	if err := l.SetValue(level(p, logical)); err != nil {
		return Sample{}, fmt.Errorf("devices: device %q: set %q: %w: %v", g.dev.Name, p.Name, ErrLinkDown, err)
	}
	return Sample{Value: float64(logical), Time: time.Now()}, nil
}

// Read returns the logical state a point's line is driven to.
func (g *GPIOOutput) Read(ctx context.Context, p Point) (Sample, error) {
	if err := ctx.Err(); err != nil {
		return Sample{}, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	l, err := g.line(p)
	if err != nil {
		return Sample{}, err
	}
	v, err := l.Value()
	if err != nil {
		return Sample{}, fmt.Errorf("devices: device %q: read %q: %w: %v", g.dev.Name, p.Name, ErrLinkDown, err)
	}
	return Sample{Value: float64(level(p, v)), Time: time.Now()}, nil
}

// Reinit releases and re-claims every line (driven off).
func (g *GPIOOutput) Reinit(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, l := range g.lines {
		_ = l.Close()
	}
	return g.request()
}

// Close releases the lines (not the chip, which the caller owns).
func (g *GPIOOutput) Close() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, l := range g.lines {
		_ = l.Close()
	}
	g.lines = nil
	return nil
}
