package main

import (
	"context"
	"errors"
	"flag"
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

// cmdSim runs the main job on simulated hardware: by default the outage
// scenario (the daemon as a child process on the simulated rig: normal →
// loss → warm restore → loss → capacitor runs out → cold start → replay);
// with -scenario journal the journal demo (append from concurrent
// producers, cut power in the middle of a page write, remount, replay).
func cmdSim(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	scenario := fs.String("scenario", "outage", "what to run: outage (the daemon through outages) or journal (the journal power-cut demo)")
	cfgPath := fs.String("config", "testdata/sim.toml", "outage: the sim configuration")
	verbose := fs.Bool("v", false, "outage: copy the daemon's logs to stderr")
	dir := fs.String("dir", "sim-out", "directory for the simulated EEPROM image (and the data store and logs)")
	records := fs.Int("records", 200, "journal: records to append before the cut")
	seed := fs.Uint64("seed", uint64(time.Now().UnixNano()), "journal: seed for the cut point and torn bytes")
	torn := fs.String("torn", "random", "journal: what the page being written at the cut holds: old, new or random")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch *scenario {
	case "journal":
		mode, err := eeprom.ParseTornMode(*torn)
		if err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
		return journalDemo(ctx, *dir, *records, *seed, mode, stdout)
	case "outage":
		return simOutage(ctx, *cfgPath, *dir, *verbose, stdout)
	}
	return fmt.Errorf("%w: -scenario %q: want outage or journal", errUsage, *scenario)
}

// simOutage runs the outage scenario and prints its timeline and summary.
func simOutage(ctx context.Context, cfgPath, dir string, verbose bool, stdout io.Writer) error {
	cfg, err := loadConfig(cfgPath)
	if err != nil {
		return err
	}
	if !cfg.Sim.Enabled {
		return fmt.Errorf("%w: %s has no [sim] enabled = true", errUsage, cfgPath)
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	t0 := time.Now()
	s := &session{exe: exe, env: []string{simChildEnv + "=1"}, config: cfgPath, dir: abs, out: stdout, verbose: verbose}
	r, err := runScenario(ctx, s)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "master station: %d power-off and %d power-on reports (event numbers %v / %v); %d data reports, %d with invalid (NULL) values\n",
		r.MasterOff, r.MasterOn, r.OffSeqs, r.OnSeqs, r.DataReports, r.DataReportsNull)
	fmt.Fprintf(stdout, "data store %s: %d outages; EEPROM image %s; daemon logs %s/run-*.log; %v\n",
		filepath.Join(abs, "data.db"), r.Outages, filepath.Join(abs, "eeprom.bin"), abs, time.Since(t0).Round(time.Millisecond))
	fmt.Fprintln(stdout, r.breakdown())
	fmt.Fprintln(stdout, r.summary())
	if r.Lost > 0 {
		return errors.New("acknowledged journal records are missing from the data store")
	}
	return nil
}

// simChildEnv marks a daemon child started by the scenario (tests use it
// to run the test binary as holdup).
const simChildEnv = "HOLDUP_SIM_CHILD"

func journalDemo(ctx context.Context, dir string, n int, seed uint64, mode eeprom.TornMode, out io.Writer) error {
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
