package power

import (
	"errors"
	"strings"
	"testing"
)

func TestOpenGPIOLineMissingChip(t *testing.T) {
	cfg := GPIOConfig{Chip: "gpiochip-holdup-missing", Offset: 7}
	l, err := OpenGPIOLine(cfg, nil, nil)
	if err == nil {
		l.Close()
		t.Fatal("opened a chip that does not exist")
	}
	if !errors.Is(err, ErrLineUnavailable) {
		t.Errorf("error %v does not wrap ErrLineUnavailable", err)
	}
	for _, want := range []string{"gpiochip-holdup-missing", "offset 7"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
}

func TestGPIOConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  GPIOConfig
		want string
	}{
		{"no chip no name", GPIOConfig{}, "chip is empty"},
		{"negative offset", GPIOConfig{Chip: "gpiochip0", Offset: -1}, "offset -1"},
		{"negative debounce", GPIOConfig{Chip: "gpiochip0", Debounce: -1}, "debounce"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := OpenGPIOLine(tc.cfg, nil, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one naming %q", err, tc.want)
			}
		})
	}
}
