package daemon

import (
	"context"

	"holdup/power"
	"holdup/sched"
)

// The data store's writes run on threads with the kernel IO priority of
// the business class they write (sched.IOPriorityFor): the bbolt file is the
// only block storage holdup writes (logs go to stderr, which systemd hands
// to journald; the EEPROM journal is on i2c-dev, not block IO).

// replayOn runs Replay on t: replay imports journaled control actions and
// checked collection, each batch in one bbolt transaction, so the thread
// has the priority of the highest class it carries (control).
type replayOn struct {
	power.Recoverer
	t *sched.IOThread
}

func (r replayOn) Replay(ctx context.Context) (res power.ReplayResult, err error) {
	if derr := r.t.Do(ctx, func() { res, err = r.Recoverer.Replay(ctx) }); derr != nil {
		return power.ReplayResult{}, derr
	}
	return res, err
}

// outageLogOn runs Record on t: the completion log is the terminal's own
// checked record of the outage.
type outageLogOn struct {
	power.OutageLog
	t *sched.IOThread
}

func (o outageLogOn) Record(ctx context.Context, r power.OutageRecord) (err error) {
	if derr := o.t.Do(ctx, func() { err = o.OutageLog.Record(ctx, r) }); derr != nil {
		return derr
	}
	return err
}
