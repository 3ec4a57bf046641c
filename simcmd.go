package main

// `holdup sim`: the main job on simulated hardware (daemon/sim).

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"holdup/daemon/sim"
	"holdup/eeprom"
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
		return sim.JournalDemo(ctx, *dir, *records, *seed, mode, stdout)
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
	return sim.OutageScenario(ctx, sim.ScenarioOptions{Exe: exe, Env: []string{simChildEnv + "=1"}, Config: cfgPath, Dir: dir, Verbose: verbose}, stdout)
}

// simChildEnv marks a daemon child started by the scenario (tests use it
// to run the test binary as holdup).
const simChildEnv = "HOLDUP_SIM_CHILD"
