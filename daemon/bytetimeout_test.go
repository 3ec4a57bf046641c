package daemon

import (
	"testing"
	"time"

	"holdup/devices"
)

// The DL/T 698.45 serial clients drop a partial answer after the
// configured byte_timeout, else after 20 character times of the line
// (at least 20 ms).
func TestByteTimeoutFromLine(t *testing.T) {
	for _, tc := range []struct {
		name       string
		configured time.Duration
		sc         devices.SerialConfig
		want       time.Duration
	}{
		{"configured wins", 80 * time.Millisecond, devices.SerialConfig{Baud: 1200, Parity: "E"}, 80 * time.Millisecond},
		{"1200 8E1", 0, devices.SerialConfig{Baud: 1200, Parity: "E"}, 20 * 11 * time.Second / 1200},
		{"2400 8E1", 0, devices.SerialConfig{Baud: 2400, Parity: "E"}, 20 * 11 * time.Second / 2400},
		{"9600 8E1", 0, devices.SerialConfig{Baud: 9600, Parity: "E"}, 20 * 11 * time.Second / 9600},
		{"115200 8N1: the floor", 0, devices.SerialConfig{Baud: 115200}, 20 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := byteTimeout(tc.configured, tc.sc); got != tc.want {
				t.Errorf("byteTimeout = %v, want %v", got, tc.want)
			}
		})
	}
}
