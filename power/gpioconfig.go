package power

import (
	"fmt"
	"time"
)

// GPIOConfig selects and configures the real power-fail line.
type GPIOConfig struct {
	// Chip is the GPIO character device, "gpiochip0" or "/dev/gpiochip0".
	// With Name set and Chip empty, every chip is searched.
	Chip string `toml:"chip"`
	// Offset is the line offset on Chip; ignored when Name is set.
	Offset int `toml:"offset"`
	// Name is the line name from the device tree ("PWR_FAIL"); optional.
	Name string `toml:"name"`
	// ActiveHigh: the power-fail signal is asserted when the pin is high.
	// The default (false) is the usual active-low PFO output.
	ActiveHigh bool `toml:"active_high"`
	// Debounce is the kernel debounce period; zero disables it. Kernels
	// or drivers without debounce fall back to no kernel debounce (the
	// monitor debounces in software as well).
	Debounce time.Duration `toml:"debounce"`
	// Consumer labels the request in the kernel ("holdup-power-fail").
	Consumer string `toml:"consumer"`
}

// where names the line for error messages.
func (c GPIOConfig) where() string {
	if c.Name != "" {
		if c.Chip == "" {
			return fmt.Sprintf("line name %q", c.Name)
		}
		return fmt.Sprintf("chip %q line name %q", c.Chip, c.Name)
	}
	return fmt.Sprintf("chip %q offset %d", c.Chip, c.Offset)
}

func (c GPIOConfig) validate() error {
	if c.Name == "" && c.Chip == "" {
		return fmt.Errorf("power: gpio config: chip is empty and no line name is given: %w", ErrLineUnavailable)
	}
	if c.Name == "" && c.Offset < 0 {
		return fmt.Errorf("power: gpio config: %s: offset must not be negative: %w", c.where(), ErrLineUnavailable)
	}
	if c.Debounce < 0 {
		return fmt.Errorf("power: gpio config: %s: debounce %v must not be negative", c.where(), c.Debounce)
	}
	return nil
}
