package config

import (
	"math"
	"testing"
	"time"

	"holdup/devices"
)

// TestOutageWorkload: gated devices (mains_only, over the draw threshold)
// and unchecked, control or unperiodic points are left out; each
// interface's rate is bounded by outage_collect_interval.
func TestOutageWorkload(t *testing.T) {
	pt := func(name string, period time.Duration) devices.Point {
		return devices.Point{Name: name, Class: devices.ClassCollection, Period: period}
	}
	dev := func(name, port string, draw int, mains bool, ps ...devices.Point) devices.Device {
		return devices.Device{Name: name, Driver: devices.DriverModbusRTU, Port: port, DrawMW: draw, MainsOnly: mains, Points: ps}
	}
	unchecked := pt("u", time.Second)
	unchecked.Integrity = devices.IntegrityUnchecked
	ctl := devices.Point{Name: "c", Class: devices.ClassControl}
	tests := []struct {
		name     string
		interval time.Duration
		devs     []devices.Device
		streams  int
		rate     float64
	}{
		{"one point", 0, []devices.Device{dev("a", "/dev/ttyS1", 0, false, pt("p", 5*time.Second))}, 1, 0.2},
		{"gated and skipped", 0, []devices.Device{
			dev("a", "/dev/ttyS1", 0, true, pt("p", time.Second)),
			dev("b", "/dev/ttyS2", 900, false, pt("p", time.Second)),
			dev("c", "/dev/ttyS3", 100, false, unchecked, ctl, pt("none", 0), pt("p", 4*time.Second)),
		}, 1, 0.25},
		{"interval bounds each interface", 2 * time.Second, []devices.Device{
			dev("a", "/dev/ttyS1", 0, false, pt("p", time.Second), pt("q", time.Second)),
			dev("b", "/dev/ttyS2", 0, false, pt("p", 10*time.Second)),
		}, 3, 0.5 + 0.1},
	}
	for _, tc := range tests {
		c := &Config{Devices: tc.devs, Sched: Sched{OutageCollectInterval: tc.interval, DrawThresholdMW: 500}}
		w := c.OutageWorkload()
		if len(w.Streams) != tc.streams || math.Abs(w.PerSecond-tc.rate) > 1e-9 {
			t.Errorf("%s: %d streams at %g/s, want %d at %g/s (%+v)", tc.name, len(w.Streams), w.PerSecond, tc.streams, tc.rate, w.Streams)
		}
	}
}
