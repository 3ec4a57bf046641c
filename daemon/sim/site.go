package sim

// What the simulated devices measure. The rig's devices read like a small
// grid-tied PV site, so what the master station and the console print reads
// true: an inverter's output in watts within its rating, meters whose
// energy registers grow with the power flowing through them.

import (
	"context"
	"math"
	"sync/atomic"
	"time"

	"holdup/devices"
	"holdup/hplc"
	"holdup/proto698"
)

// Site figures: an inverter rated 6 kW running at 4.8 kW with a slow swing
// (clouds), meters that have counted 12,345.67 kWh (698) and 1,234.56 kWh
// (645 behind the HPLC module), mains at the nominal voltage.
const (
	siteRatedW   = 6000.0
	sitePowerW   = 4800.0
	siteSwingW   = 600.0
	siteSwing    = 5 * time.Minute
	site698KWh   = 12345.67
	siteHPLCKWh  = 1234.56
	siteStep     = time.Second
	siteAmpsPerW = 1.0 / 220 / 3 // per phase, at unity power factor
)

// site holds the simulated devices' measured quantities.
type site struct {
	inverters []siteInverter
	acs       []*proto698.ACSim
	hsim      *hplc.Sim
	meters    []hplc.Addr
	lost      *atomic.Bool // mains lost: the inverter disconnects, nothing is metered
	kwh698    float64
	start     time.Time
}

// siteInverter is a Modbus slave and the registers of its measured points.
type siteInverter struct {
	slave  *devices.SimSlave
	points []devices.Point
}

// powerAt is the inverter's output t into the run: the rated range bounds
// it; during an outage it is 0 (a grid-tied inverter disconnects).
func (s *site) powerAt(t time.Duration) float64 {
	if s.lost.Load() {
		return 0
	}
	p := sitePowerW + siteSwingW*math.Sin(2*math.Pi*float64(t)/float64(siteSwing))
	return math.Max(0, math.Min(siteRatedW, p))
}

// set writes the measured quantities into the simulators: every 32-bit
// input or holding collection point of a Modbus device reads the output
// power in watts, every 16-bit one the AC voltage in volts (each divided
// by the point's scale, as the device's register holds it); the 698 units
// read energy, power and current; the HPLC meters their energy.
func (s *site) set(w float64) {
	for _, inv := range s.inverters {
		for _, p := range inv.points {
			if p.Class != devices.ClassCollection || (p.Kind != devices.KindInput && p.Kind != devices.KindHolding) {
				continue
			}
			v := 220.0
			if p.ValueType().Words() == 2 {
				v = w
			}
			raw := int64(math.Round(v / p.Factor()))
			var words []uint16
			if p.ValueType().Words() == 2 {
				words = []uint16{uint16(uint32(raw) >> 16), uint16(raw)}
			} else {
				words = []uint16{uint16(raw)}
			}
			if p.Kind == devices.KindInput {
				inv.slave.SetInput(p.Register, words...)
			} else {
				inv.slave.SetHolding(p.Register, words...)
			}
		}
	}
	amps := w * siteAmpsPerW
	for _, ac := range s.acs {
		ac.SetActiveEnergy([5]float64{s.kwh698, s.kwh698 * 0.3, s.kwh698 * 0.5, s.kwh698 * 0.2, 0})
		ac.SetActivePower([4]float64{w, w / 3, w / 3, w / 3})
		ac.SetCurrents([3]float64{amps, amps, amps})
	}
}

// run advances the site every siteStep until ctx ends.
func (s *site) run(ctx context.Context) error {
	t := time.NewTicker(siteStep)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-t.C:
			s.step(ctx, now.Sub(s.start), siteStep)
		}
	}
}

// step moves the site to at into the run, dt after the previous step: the
// inverter's output follows powerAt and the meters count the energy it
// delivered over dt.
func (s *site) step(ctx context.Context, at, dt time.Duration) {
	w := s.powerAt(at)
	kwh := w * dt.Hours() / 1000
	s.kwh698 += kwh
	s.set(w)
	if kwh > 0 && s.hsim != nil {
		for _, a := range s.meters {
			_ = s.hsim.AddEnergy(ctx, a, kwh)
		}
	}
}
