package daemon

// The configuration's devices and points mapped onto the devices and
// sched models (the protocol clients themselves live in devices).

import (
	"context"

	"holdup/config"
	"holdup/devices"
	"holdup/sched"
)

// deviceConfig maps the configuration's device onto the devices package's
// model. hplc devices sit behind the [hplc] module's port.
func deviceConfig(d config.Device, mod *config.HPLC) devices.Device {
	out := devices.Device{
		Name: d.Name, Driver: devices.DriverName(d.Driver), Enabled: d.Enabled, Unit: d.Unit, Address: d.Address,
		MainsOnly: d.MainsOnly, DrawMW: d.DrawMW,
		Port: d.Serial.Port, Baud: d.Serial.Baud, DataBits: d.Serial.DataBits, StopBits: d.Serial.StopBits,
		Parity: d.Serial.ParityLetter(), Timeout: d.Timeout, Password: d.Password, Operator: d.Operator,
	}
	switch d.Driver {
	case config.DriverModbusTCP:
		out.Port = d.Address
	case config.DriverGPIOOutput:
		out.Port = d.Chip
	case config.DriverHPLC:
		if mod != nil {
			out.Port = mod.Port
		}
	}
	for _, p := range d.Points {
		q := devices.Point{
			Name: p.Name, Class: devices.Class(p.Class), Integrity: devices.Integrity(p.Integrity),
			Period: p.Period, Deadline: p.Deadline, Scale: p.Scale, UplinkOAD: p.UplinkOAD,
			Register: p.Register, Kind: devices.Kind(p.Kind), Type: devices.Type(p.Type), ActiveLow: p.ActiveLow,
		}
		if d.Driver == config.DriverDLT698 || d.Driver == config.DriverHPLC {
			q.Item = p.Address
		}
		if d.Driver == config.DriverGPIOOutput && q.Kind == "" {
			q.Kind = devices.KindLine
		}
		out.Points = append(out.Points, q)
	}
	return out
}

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
