package sim

// The journal power-cut demo (`holdup sim -scenario journal`): concurrent
// appends to a simulated EEPROM, a power cut in the middle of a page
// write, remount, replay, what survived.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"time"

	"holdup/eeprom"
	"holdup/store"
)

// JournalDemo appends n records from concurrent producers to a simulated
// AT24C256 image in dir, cuts power during a page write (seeded; the torn
// page holds old, new or random bytes as mode says), remounts and replays,
// and prints what survived to out.
func JournalDemo(ctx context.Context, dir string, n int, seed uint64, mode eeprom.TornMode, out io.Writer) error {
	part, _ := eeprom.LookupPart("at24c256")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	path := filepath.Join(dir, "eeprom.bin")
	_ = os.Remove(path)
	_ = os.Remove(path + ".wear")
	cfg := eeprom.SimConfig{Part: part, Addr: 0x50, BusHz: 400_000, Seed: seed, Torn: mode}
	sim, err := eeprom.OpenSimImage(path, cfg)
	if err != nil {
		return err
	}
	chip, err := eeprom.NewChip(sim, part, 0x50)
	if err != nil {
		return err
	}
	var before time.Duration // bus time of earlier power-on periods
	say := func(format string, a ...any) {
		fmt.Fprintf(out, "[%9.3f ms bus time] %s\n", float64(before+sim.Elapsed())/1e6, fmt.Sprintf(format, a...))
	}
	say("simulated %s (%d bytes, %d-byte pages, tWR %v) at 400 kHz, image %s, seed %d, torn pages %s",
		part.Name, part.Size, part.PageSize, part.WriteCycle, path, seed, mode)
	j, err := store.Open(chip, store.Options{})
	if err != nil {
		return err
	}
	rep := j.MountReport()
	say("journal %s mounted (formatted %v)", rep.ID, rep.Formatted)

	rng := rand.New(rand.NewPCG(seed, 1))
	cutAt := uint64(n/2 + rng.IntN(n))
	sim.CutAt(cutAt)
	say("power cut armed during program operation %d from now", cutAt)

	type ack struct {
		seq uint64
		rec store.Record
	}
	var (
		mu     sync.Mutex
		acked  []ack
		failed int
		wg     sync.WaitGroup
	)
	t0 := time.Date(2026, 11, 26, 22, 0, 0, 0, time.UTC)
	for p := 0; p < 4; p++ {
		wg.Add(1)
		go func(p int) {
			defer wg.Done()
			for i := p; i < n; i += 4 {
				rec := store.Record{
					Time: t0.Add(time.Duration(i) * 100 * time.Millisecond), Business: store.BusinessCollection,
					Interface: fmt.Sprintf("rs485-%d", p+1), Device: fmt.Sprintf("meter-%02d", i%16),
					Attrs: map[string]any{"topic": "meter/voltage/a", "qos": 1},
					Value: 215 + float64(i%100)/10, Integrity: store.Integrity{Kind: store.IntegrityCRC16Modbus, Value: uint32(i * 7919 % 65536)},
				}
				if i%10 == 0 {
					rec.Business, rec.Value, rec.Attrs = store.BusinessControl, i%20 == 0, map[string]any{"topic": "ctl/switch", "qos": 2}
				}
				seq, err := j.Append(ctx, rec)
				mu.Lock()
				if err != nil {
					failed++
				} else {
					acked = append(acked, ack{seq, rec})
				}
				mu.Unlock()
				if err != nil {
					return // power is gone: this producer stops
				}
			}
		}(p)
	}
	wg.Wait()
	j.Close()
	cut := sim.Dead()
	say("%d appends acknowledged, %d failed%s", len(acked), failed, map[bool]string{true: " — power cut in the middle of a page write", false: ""}[cut])
	before += sim.Elapsed()
	if err := sim.Close(); err != nil {
		return err
	}

	// Power returns: a fresh process would open the same image.
	sim, err = eeprom.OpenSimImage(path, cfg)
	if err != nil {
		return err
	}
	defer sim.Close()
	chip, _ = eeprom.NewChip(sim, part, 0x50)
	j, err = store.Open(chip, store.Options{})
	if err != nil {
		return err
	}
	defer j.Close()
	rep = j.MountReport()
	say("remounted: %d frames verified, %d records unconsumed, %d regions skipped", rep.Frames, rep.Records, len(rep.Skipped))
	for _, s := range rep.Skipped {
		say("  skipped %s", s)
	}
	got := map[uint64]store.Record{}
	var last uint64
	replay, err := j.Replay(ctx, func(e store.Entry) error {
		got[e.Seq] = e.Record
		last = e.Seq
		return nil
	})
	if err != nil {
		return err
	}
	lost := 0
	for _, a := range acked {
		r, ok := got[a.seq]
		if !ok || r.Device != a.rec.Device || !r.Time.Equal(a.rec.Time) {
			lost++
			say("LOST acknowledged record %d", a.seq)
		}
	}
	inflight := len(got) - (len(acked) - lost)
	say("replayed %d records (last seq %d): %d acknowledged, %d in flight at the cut survived, %d corrupt refused",
		replay.Records, last, len(acked)-lost, inflight, len(replay.Corrupt))
	if err := j.Consume(ctx, last); err != nil && last > 0 {
		return err
	}
	st, err := j.Stats(ctx)
	if err != nil {
		return err
	}
	say("consumed up to %d; %d records left; image kept at %s (holdup journal dump -image %s)", st.Consumed, st.Records, path, path)
	fmt.Fprintf(out, "summary: appended %d, acknowledged %d, replayed %d, in-flight survivors %d, torn regions %d, lost %d\n",
		n, len(acked), replay.Records, inflight, len(rep.Skipped), lost)
	if lost > 0 {
		return errors.New("acknowledged records were lost")
	}
	return nil
}
