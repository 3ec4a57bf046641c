package sim

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"holdup/config"
	"holdup/daemon"
	"holdup/power"
	"holdup/proto698"
	"holdup/store"
)

// TestOutageHistoryReachesTheMasterExactlyOnce: after a warm return the
// records journaled during the outage go to the master station with their
// original times and values. The master stores the report but its
// confirmation never comes back before holdup is restarted; the next run
// sends the same records again, the master drops the copies, and once it
// has confirmed them they leave the outbox: each record reached the master
// once, and the outbox is empty.
func TestOutageHistoryReachesTheMasterExactlyOnce(t *testing.T) {
	master, err := proto698.NewMasterSim("127.0.0.1:0", time.Local, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = master.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	stored := make(chan proto698.MasterEvent, 64)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case e := <-master.Events():
				if e.Kind == proto698.MasterHistory {
					stored <- e
				}
			}
		}
	}()
	toMaster := func(c *config.Config, hw *daemon.Hardware) {
		c.Uplink.Master = master.Addr()
		bootIs("boot-A")(c, hw)
	}

	dir := t.TempDir()
	first := startSim(t, dir, toMaster)
	first.wait(t, power.StepIdle, 0)
	master.WithholdHistoryConfirms(true) // the front end stores, the confirmation is lost
	after := first.lossWithRecords(t)
	if err := first.rig.SetMains(true); err != nil {
		t.Fatal(err)
	}
	first.wait(t, power.StepSleeping, after)
	select {
	case <-stored:
	case <-time.After(20 * time.Second):
		t.Fatal("no history report reached the master")
	}
	first.stop(t) // before any confirmation: the records stay in the outbox
	acked := first.journaled()

	master.WithholdHistoryConfirms(false)
	second := startSim(t, dir, toMaster)
	second.wait(t, power.StepForwarded, 0)
	second.stop(t)

	// What the master holds: each control action and reading once, with
	// the journaled time (to the millisecond) and value.
	want := map[string]bool{}
	for _, a := range acked {
		r := a.Record
		if r.Business == store.BusinessEvent {
			continue
		}
		want[fmt.Sprintf("%s/%v %s %v", r.Device, r.Attrs["point"], r.Time.UTC().Truncate(time.Millisecond).Format(time.RFC3339Nano), r.Value)] = true // the journal keeps ms
	}
	names := map[proto698.OAD]string{}
	for _, p := range exposedPointsAll(t) {
		names[p.oad] = p.name
	}
	got := master.History()
	if len(got) != len(want) || len(want) < 2 {
		t.Fatalf("master holds %d outage records, want %d (each once): %+v", len(got), len(want), got)
	}
	for _, h := range got {
		f, ok := h.Value.(proto698.Float64)
		k := fmt.Sprintf("%s %s %v", names[h.OAD], h.Time.UTC().Format(time.RFC3339Nano), float64(f))
		if !ok || !want[k] {
			t.Errorf("master holds %q (value %v), not a journaled record; want one of %v", k, h.Value, want)
		}
	}
	if st := master.Stats(); st.HistoryDuplicates == 0 {
		t.Errorf("master saw no resent copy: the second run must send the unconfirmed records again (stats %+v)", st)
	}
	ds, err := store.OpenDataStore(filepath.Join(dir, "data.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	st, err := ds.OutboxStats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Pending != 0 || st.Delivered != len(want) {
		t.Fatalf("outbox %+v, want empty with %d delivered", st, len(want))
	}
}

// exposedPointsAll names every exposed point of the sim configuration by
// its OAD, control points included ("device/point").
func exposedPointsAll(t *testing.T) []exposedPoint {
	t.Helper()
	cfg, err := config.Load(simConfig)
	if err != nil {
		t.Fatal(err)
	}
	var out []exposedPoint
	for _, d := range cfg.Devices {
		for _, p := range d.Points {
			if p.UplinkOAD != 0 {
				out = append(out, exposedPoint{oad: proto698.NewOAD(p.UplinkOAD), name: d.Name + "/" + p.Name})
			}
		}
	}
	return out
}
