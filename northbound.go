package main

// The master station's view of the field: the points the configuration
// exposes with uplink_oad, read (GET) and, for control points, set (SET)
// over the 698 uplink.

import (
	"context"
	"errors"
	"log/slog"

	"holdup/devices"
	"holdup/proto698"
	"holdup/sched"
)

// northbound is proto698.Server on the scheduler. A GET answers the
// point's latest reading, or Data NULL whenever the scheduler has no
// current value for it (an outage stopped its collection, its latest
// collection failed, its interface is closed): the master never receives
// the last good value as if it were current. A SET of a control point runs
// as a control op through the scheduler, so it takes control's place ahead
// of collection and is gated, journaled and error-watched like any other.
type northbound struct {
	sched  *sched.Scheduler
	points map[uint32]nbPoint // uplink OAD → point
	log    *slog.Logger
}

type nbPoint struct {
	drv devices.Driver
	p   devices.Point
}

// Get implements proto698.Server.
func (n *northbound) Get(ctx context.Context, oad proto698.OAD) (proto698.Data, proto698.DAR) {
	np, ok := n.points[oad.Uint32()]
	if !ok {
		return nil, proto698.DARUndefined
	}
	if np.p.Class == devices.ClassControl {
		// A control point has no measured value; the last command is not
		// the output's state.
		return nil, proto698.DARReadDenied
	}
	r, err := n.sched.Latest(ctx, np.drv.Device().Name, np.p.Name)
	switch {
	case err != nil:
		return nil, darOf(err)
	case r.Invalid:
		return proto698.Null{}, proto698.DARSuccess
	}
	return proto698.Float64(r.Value), proto698.DARSuccess
}

// Set implements proto698.Server.
func (n *northbound) Set(ctx context.Context, oad proto698.OAD, v proto698.Data) proto698.DAR {
	np, ok := n.points[oad.Uint32()]
	if !ok {
		return proto698.DARUndefined
	}
	if np.p.Class != devices.ClassControl {
		return proto698.DARReadDenied // a collection point is measured, not set
	}
	f, null, err := dataFloat(v)
	if err != nil || null {
		return proto698.DARTypeMismatch
	}
	dev := np.drv.Device().Name
	if _, err := n.sched.Do(ctx, pointOp(np.drv, np.p, f)); err != nil {
		dar := darOf(err)
		n.log.Warn("master's SET refused", "oad", oad.String(), "device", dev, "point", np.p.Name, "value", f, "dar", dar.String(), "err", err)
		return dar
	}
	n.log.Info("master's SET done", "oad", oad.String(), "device", dev, "point", np.p.Name, "value", f)
	return proto698.DARSuccess
}

// darOf names a scheduler or driver error as the DAR the master receives:
// the device's own refusal where it gave one, "temporarily unavailable"
// while holdup keeps the path shut (outage gating, error-rate closure,
// awaiting re-initialisation, disabled), "hardware failure" when the
// device did not answer properly.
func darOf(err error) proto698.DAR {
	var de *proto698.DARError
	switch {
	case errors.As(err, &de):
		return de.DAR
	case errors.Is(err, devices.ErrBadValue):
		return proto698.DAROutOfRange
	case errors.Is(err, context.DeadlineExceeded):
		return proto698.DARRequestTimeout
	case errors.Is(err, sched.ErrGated), errors.Is(err, sched.ErrPathClosed), errors.Is(err, sched.ErrAwaitingReinit),
		errors.Is(err, sched.ErrDisabled), errors.Is(err, sched.ErrDropped), errors.Is(err, sched.ErrStopped),
		errors.Is(err, context.Canceled):
		return proto698.DARTemporary
	}
	switch sched.Classify(err) {
	case sched.Exception:
		return proto698.DARReadDenied // the device refused it
	case sched.Timeout, sched.LengthMismatch, sched.ChecksumMismatch, sched.LinkDown:
		return proto698.DARHardware
	}
	return proto698.DAROther
}
