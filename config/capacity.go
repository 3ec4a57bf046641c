package config

import (
	"slices"
	"time"

	"holdup/devices"
)

// The outage workload of a configuration: which records the journal
// takes during an outage and how fast. holdup check-config estimates the
// journal's capacity from it (the daemon encodes the records; config
// knows only the points).

// OutageStream is one checked collection point that keeps being collected
// and journaled during an outage.
type OutageStream struct {
	Interface string
	Device    string
	Driver    devices.DriverName
	Point     string
	// Period is the point's collection period.
	Period time.Duration
}

// OutageWorkload is what the journal takes during an outage.
type OutageWorkload struct {
	// Streams are the journaled collection points in configuration order.
	Streams []OutageStream
	// PerSecond is how many records the streams produce per second: each
	// point at its period, each interface bounded by
	// sched.outage_collect_interval. Control is not periodic and not
	// counted (it is admitted before collection near full).
	PerSecond float64
}

// OutageWorkload returns the configuration's outage workload: the checked
// collection points of every device an outage does not gate (not
// mains_only, and drawing no more than sched.draw_threshold_mw when that
// is set), as the scheduler runs them.
func (c *Config) OutageWorkload() OutageWorkload {
	var w OutageWorkload
	rate := map[string]float64{}
	var ifaces []string
	for _, d := range c.Devices {
		if d.MainsOnly || (c.Sched.DrawThresholdMW > 0 && d.DrawMW > c.Sched.DrawThresholdMW) {
			continue
		}
		iface := devices.InterfaceOf(d)
		for _, p := range d.Points {
			if p.Class != devices.ClassCollection || p.Integrity == devices.IntegrityUnchecked || p.Period <= 0 {
				continue
			}
			w.Streams = append(w.Streams, OutageStream{Interface: iface, Device: d.Name, Driver: d.Driver, Point: p.Name, Period: p.Period})
			if _, ok := rate[iface]; !ok {
				ifaces = append(ifaces, iface)
			}
			rate[iface] += 1 / p.Period.Seconds()
		}
	}
	slices.Sort(ifaces)
	for _, iface := range ifaces {
		r := rate[iface]
		if iv := c.Sched.OutageCollectInterval; iv > 0 {
			r = min(r, 1/iv.Seconds())
		}
		w.PerSecond += r
	}
	return w
}
