package devices

import "testing"

func TestSerialCharBits(t *testing.T) {
	for _, tc := range []struct {
		c    SerialConfig
		want int
	}{
		{SerialConfig{}, 10}, // 8N1 by default
		{SerialConfig{Baud: 9600, DataBits: 8, Parity: "E", StopBits: 1}, 11},
		{SerialConfig{DataBits: 8, Parity: "o", StopBits: 2}, 12},
		{SerialConfig{DataBits: 7, Parity: "N", StopBits: 1}, 9},
	} {
		if got := tc.c.CharBits(); got != tc.want {
			t.Errorf("%v: %d bits per character, want %d", tc.c, got, tc.want)
		}
	}
}
