package power_test

import (
	"context"
	"fmt"
	"sync"
	"time"

	"holdup/power"
)

// Illustrative stand-ins for what the daemon wires: the scheduler's gate,
// the store's journal, recoverer and outage log, the 698 uplink, the HPLC
// and serial re-initialisation, the AC-sampling unit.
type gate struct{}

func (gate) GateMainsOnly() int { fmt.Println("sched: mains-only IO gated"); return 1 }
func (gate) Ungate()            { fmt.Println("sched: mains-only IO un-gated") }

type journal struct{ open bool }

func (j *journal) AppendOutageBegin(context.Context, power.OutageBegin) error {
	j.open = true
	return nil
}
func (j *journal) AppendOutageEnd(context.Context, power.OutageEnd) error { j.open = false; return nil }
func (j *journal) OpenOutage(context.Context) (power.OutageBegin, bool, error) {
	return power.OutageBegin{}, false, nil
}

type uplink struct{}

func (uplink) ReportOutage(time.Time) error             { return nil }
func (uplink) ReportRestore(time.Time, time.Time) error { return nil }

type modules struct{}

func (modules) SetInvalid(bool) int { return 2 }

type reinit struct{}

func (reinit) Reinit(context.Context) []power.ReinitResult {
	return []power.ReinitResult{{Interface: "hplc"}, {Interface: "rs485-1"}}
}

type resumer struct{}

func (resumer) Resume(context.Context) error { return nil }

type recoverer struct{ pending int }

func (r *recoverer) Pending(context.Context) (int, error) { return r.pending, nil }
func (r *recoverer) Replay(context.Context) (power.ReplayResult, error) {
	n := r.pending
	r.pending = 0
	return power.ReplayResult{Replayed: n}, nil
}

type outageLog struct{}

func (outageLog) Record(context.Context, power.OutageRecord) error { return nil }

// voltmeter stands in for proto698's AC-sampling client: it answers at once
// with the phase voltages last set.
type voltmeter struct {
	mu    sync.Mutex
	volts [3]float64
}

func (v *voltmeter) set(a, b, c float64) {
	v.mu.Lock()
	v.volts = [3]float64{a, b, c}
	v.mu.Unlock()
}

func (v *voltmeter) ReadVoltages(context.Context) ([3]float64, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.volts, nil
}

// Wiring a Monitor to a simulated power-fail line and an AC-sampling unit,
// then cutting and restoring the mains. The monitor and the line run on the
// real clock (Deps.Clock nil): each edge is decided once the line has been
// stable for Config.Settle, 20 ms by default.
func ExampleMonitor() {
	vm := &voltmeter{}
	vm.set(220, 220, 220)
	rec := &recoverer{}
	m, err := power.NewMonitor(power.Config{}, power.Deps{
		Gate: gate{}, Journal: &journal{}, Uplink: uplink{}, Modules: modules{},
		Reinit: reinit{}, Resume: resumer{}, Recoverer: rec, OutageLog: outageLog{},
		Voltmeter: vm,
	})
	if err != nil {
		panic(err)
	}
	line, err := power.NewSimLine(power.SimLineConfig{Initial: 1}, nil, m.Edge)
	if err != nil {
		panic(err)
	}
	defer line.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx, line) }()
	var seen uint64
	wait := func(step power.Step) {
		e, err := m.Timeline().Wait(ctx, step, seen)
		if err != nil {
			panic(err)
		}
		seen = e.Seq
		_ = m.Sync(ctx)
	}
	wait(power.StepIdle)

	vm.set(0, 0, 0)
	_ = line.Fail() // gates at once, in this call
	wait(power.StepPriority)
	rec.pending = 12 // critical data journaled during the outage

	vm.set(220, 220, 220)
	_ = line.Restore()
	wait(power.StepSleeping)
	cancel()
	<-done

	for _, e := range m.Timeline().Entries() {
		if e.Step != power.StepVoltages && e.Step != power.StepReturnVoltages {
			fmt.Println(e.Step)
		}
	}
	// Output:
	// sched: mains-only IO gated
	// sched: mains-only IO un-gated
	// -- sleeping until the next interrupt
	// 1-0 power-fail edge
	// 1-0 loss confirmed by phase voltages
	// 1-5 outage-begin record journaled
	// 1-1 outage reported to the master station
	// 1-2 differential shutdown: mains-only and high-draw devices gated
	// 1-2 business modules report invalid values northbound
	// 1-3 priority IO: control before collection, checked before unchecked, unchecked dropped
	// 2-0 power return confirmed by phase voltages
	// 2-1 return reported to the master station
	// 2-2 warm: the supercapacitor held
	// 2-3 interfaces re-initialised
	// 2-4 business IO resumed
	// 2-5 journal replayed into the data store after a second verification
	// 2-6 journal consumed
	// 2-7 completion logged
	// 2-8 sleeping until the next interrupt
}
