//go:build !linux

package power

import (
	"fmt"
	"log/slog"
)

// GPIOLine is the power-fail input on a GPIO character device; it exists
// only on Linux. On other systems OpenGPIOLine always fails.
type GPIOLine struct{}

// OpenGPIOLine fails on systems without GPIO character devices; the error
// names the line and wraps ErrLineUnavailable.
func OpenGPIOLine(cfg GPIOConfig, h EdgeHandler, log *slog.Logger) (*GPIOLine, error) {
	return nil, fmt.Errorf("power: gpio %s: GPIO character devices exist only on linux: %w", cfg.where(), ErrLineUnavailable)
}

// Value always fails.
func (*GPIOLine) Value() (Mains, error) { return MainsUnknown, ErrLineUnavailable }

// KernelDebounce reports false.
func (*GPIOLine) KernelDebounce() bool { return false }

// Close always fails.
func (*GPIOLine) Close() error { return ErrClosed }
