package power

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// IIOVoltage returns a SupercapReader on an IIO ADC channel in sysfs
// (dir is /sys/bus/iio/devices/iio:deviceN). The voltage is
// (in_voltageC_raw + offset) × scale mV, times divider for the resistor
// divider in front of the ADC. The scale is in_voltageC_scale or the shared
// in_voltage_scale; the offset, optional, likewise.
func IIOVoltage(dir string, channel int, divider float64) (SupercapReader, error) {
	if channel < 0 {
		return nil, fmt.Errorf("power: supercap iio %s: channel %d must not be negative", dir, channel)
	}
	if !(divider > 0) {
		return nil, fmt.Errorf("power: supercap iio %s: divider %v must be positive", dir, divider)
	}
	rawPath := filepath.Join(dir, fmt.Sprintf("in_voltage%d_raw", channel))
	scalePath, err := firstExisting(dir, fmt.Sprintf("in_voltage%d_scale", channel), "in_voltage_scale")
	if err != nil {
		return nil, fmt.Errorf("power: supercap iio %s channel %d: no scale file: %w", dir, channel, err)
	}
	scale, err := readIIOFile(scalePath)
	if err != nil {
		return nil, err
	}
	if !(scale > 0) {
		return nil, fmt.Errorf("power: supercap iio %s: scale %v must be positive", scalePath, scale)
	}
	offset := 0.0
	if p, err := firstExisting(dir, fmt.Sprintf("in_voltage%d_offset", channel), "in_voltage_offset"); err == nil {
		if offset, err = readIIOFile(p); err != nil {
			return nil, err
		}
	}
	if _, err := readIIOFile(rawPath); err != nil {
		return nil, err
	}
	return func() (float64, error) {
		raw, err := readIIOFile(rawPath)
		if err != nil {
			return 0, err
		}
		return (raw + offset) * scale / 1000 * divider, nil
	}, nil
}

func firstExisting(dir string, names ...string) (string, error) {
	var err error
	for _, n := range names {
		p := filepath.Join(dir, n)
		if _, err = os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", err
}

func readIIOFile(path string) (float64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("power: supercap iio: %w", err)
	}
	v, err := ParseIIOValue(b)
	if err != nil {
		return 0, fmt.Errorf("power: supercap iio %s: %w", path, err)
	}
	return v, nil
}

// ParseIIOValue decodes one IIO sysfs attribute: a decimal number (integer
// or fixed point, as the kernel prints raw, scale and offset) and a
// trailing newline.
func ParseIIOValue(b []byte) (float64, error) {
	s := strings.TrimRight(string(b), "\n")
	if s == "" {
		return 0, fmt.Errorf("empty value")
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c == '.' || (c == '-' && i == 0)) {
			return 0, fmt.Errorf("byte %d (%q) of %q is not part of a decimal number", i, c, s)
		}
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("value %q: %w", s, err)
	}
	return v, nil
}
