package daemon

// A device's points as scheduler operations (the configuration builds the
// devices.Device model; the protocol clients live in devices).

import (
	"context"

	"holdup/devices"
	"holdup/sched"
)

// pointOp builds the scheduler op that runs one point of a driver: a read
// for collection points, a write of v for control points.
func pointOp(drv devices.Driver, p devices.Point, v float64) sched.Op {
	d := drv.Device()
	op := sched.Op{
		Device: d.Name, Point: p.Name, Class: sched.Collection, Integrity: sched.Checked,
		Business: string(p.Class), Attrs: map[string]string{"driver": string(d.Driver)},
	}
	if p.Class == devices.ClassControl {
		op.Class = sched.Control
	}
	if p.Integrity == devices.IntegrityUnchecked {
		op.Integrity = sched.Unchecked
	}
	control := p.Class == devices.ClassControl
	op.Run = func(ctx context.Context) (sched.Result, error) {
		var (
			s   devices.Sample
			err error
		)
		if control {
			s, err = drv.Write(ctx, p, v)
		} else {
			s, err = drv.Read(ctx, p)
		}
		return sched.Result{Value: s.Value, Raw: s.Raw, ChecksumKind: s.ChecksumKind, Checksum: s.Checksum}, err
	}
	return op
}
