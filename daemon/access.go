package daemon

// What the console's neighbours, the simulator and tests may see of the
// running daemon: a few methods, never its fields.

import (
	"context"
	"errors"
	"fmt"

	"holdup/devices"
	"holdup/power"
	"holdup/sched"
	"holdup/store"
)

// ErrNoPoint is matched (errors.Is) by Control's *PointError when the
// device is not open or has no point of that name and class.
var ErrNoPoint = errors.New("no such point")

// PointError says which device or point a request named that does not
// exist: Point is empty when the device itself is not open.
type PointError struct {
	Device, Point string
	Class         devices.Class
}

// Error reads the same in the sim-control protocol's "done" lines as it
// always has: "no device %q" or "device %q has no %s point %q".
func (e *PointError) Error() string {
	if e.Point == "" {
		return fmt.Sprintf("no device %q", e.Device)
	}
	return fmt.Sprintf("device %q has no %s point %q", e.Device, e.Class, e.Point)
}

// Is makes errors.Is(err, ErrNoPoint) true.
func (e *PointError) Is(target error) bool { return target == ErrNoPoint }

// Timeline is the outage lifecycle's timeline (every step the monitor took).
func (d *Daemon) Timeline() *power.Timeline { return d.mon.Timeline() }

// Monitor is the outage lifecycle monitor (its statistics, Sync).
func (d *Daemon) Monitor() *power.Monitor { return d.mon }

// Scheduler is the IO scheduler (interface and device state, readings).
func (d *Daemon) Scheduler() *sched.Scheduler { return d.sched }

// Alarms returns the most recent alarms, oldest first.
func (d *Daemon) Alarms() []power.Alarm { return d.alarms.recent() }

// Control writes v to a control point of an opened device through the
// scheduler, as the master station's SET does.
func (d *Daemon) Control(ctx context.Context, device, point string, v float64) error {
	drv, p, err := d.point(device, point, devices.ClassControl)
	if err != nil {
		return err
	}
	_, err = d.sched.Do(ctx, pointOp(drv, p, v))
	return err
}

// Driver is the opened driver of a device (nil when the device is not
// open): tests and the simulator exchange through it on the scheduler.
func (d *Daemon) Driver(device string) devices.Driver { return d.set.Drivers[device] }

// JournalStats reads the EEPROM journal's figures.
func (d *Daemon) JournalStats(ctx context.Context) (store.Stats, error) { return d.jrnl.Stats(ctx) }

// ReinitInterface re-initialises one interface (re-opens its port, resets
// its module) on its owner goroutine, as a return of power does.
func (d *Daemon) ReinitInterface(ctx context.Context, iface string) error {
	fn, ok := d.ifaces.reinit[iface]
	if !ok {
		return fmt.Errorf("daemon: no interface %q", iface)
	}
	return d.sched.Reinit(ctx, iface, fn)
}

// point finds an opened device's point of the given class; a missing one
// is a *PointError.
func (d *Daemon) point(device, point string, class devices.Class) (devices.Driver, devices.Point, error) {
	drv := d.set.Drivers[device]
	if drv == nil {
		return nil, devices.Point{}, &PointError{Device: device}
	}
	p, ok := drv.Device().Point(point)
	if !ok || p.Class != class {
		return nil, devices.Point{}, &PointError{Device: device, Point: point, Class: class}
	}
	return drv, p, nil
}
