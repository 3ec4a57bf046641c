package daemon

// The data store may be unavailable at start (held by another process,
// its file system mounted late, a transient IO error): the daemon then
// protects power all the same, keeps the journal's records in the EEPROM,
// and opens the data store as soon as it can.

import (
	"context"
	"fmt"
	"time"

	"holdup/power"
	"holdup/store"
)

// store returns the data store, nil while it is unavailable.
func (d *Daemon) store() *store.DataStore {
	d.dsMu.RLock()
	defer d.dsMu.RUnlock()
	return d.ds
}

// setStore makes ds the data store; it is closed after Run.
func (d *Daemon) setStore(ds *store.DataStore) {
	d.dsMu.Lock()
	d.ds = ds
	d.dsMu.Unlock()
	d.closers = append(d.closers, ds.Close)
}

// Data store retry back-off bounds.
const (
	storeRetryMin = time.Second
	storeRetryMax = time.Minute
)

// storeOpener runs when the data store did not open at start: it tries
// again with back-off (a damaged file is moved aside, as at start) until
// it opens or ctx ends. Once open it replays what the journal holds unless
// an outage is in progress (its return replays), so the EEPROM does not
// fill while the store was away, and it lets the forwarder deliver.
func (d *Daemon) storeOpener(ctx context.Context) error {
	wait := storeRetryMin
	for attempt := 1; ; attempt++ {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		ds, damaged, err := store.OpenOrRecoverDataStore(d.cfg.Store.Path, time.Now())
		if damaged != nil {
			d.warn(alarmDataStoreDamaged, fmt.Errorf("daemon: data store %s was damaged: %s; moved aside to %s, a fresh one started",
				d.cfg.Store.Path, damaged.Reason, damaged.MovedTo))
		}
		if err != nil {
			d.log.Warn("data store still unavailable", "path", d.cfg.Store.Path, "attempt", attempt, "err", err, "retry_in", min(2*wait, storeRetryMax))
			wait = min(2*wait, storeRetryMax)
			continue
		}
		d.setStore(ds)
		d.log.Info("data store opened", "path", d.cfg.Store.Path, "attempt", attempt)
		d.recovered(power.AlarmReplay)
		if !d.sched.InOutage() {
			var c store.ReplayCounts
			if derr := d.replayIO.Do(ctx, func() { c, err = store.NewRecovery(d.jrnl, ds).Replay(ctx) }); derr != nil {
				return nil // stopping
			}
			if err != nil {
				d.log.Warn("replay after the data store opened", "err", err)
			} else {
				d.log.Info("journal replayed after the data store opened", "replayed", c.Replayed, "rejected", c.Rejected, "duplicate", c.Duplicate)
			}
		}
		d.kickForward()
		d.alarmRep.storeOpened()
		return nil
	}
}
