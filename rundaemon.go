package main

// `holdup run`: configuration → hardware (real, or the sim rig) → the
// assembled daemon, with the sim control protocol when asked.

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"

	"holdup/config"
)

// runOptions are `holdup run`'s flags beyond the configuration.
type runOptions struct {
	Console    string // -console
	SimDir     string // -sim-dir
	SimMaster  string // -sim-master
	SimControl bool   // -sim-control
}

// runDaemon assembles the daemon on real or simulated hardware, as the
// configuration's [sim] section says, and runs it until ctx ends.
func runDaemon(ctx context.Context, cfg *config.Config, ro runOptions, stdin io.ReadCloser, stdout, stderr io.Writer) error {
	if !cfg.Sim.Enabled && (ro.SimDir != "" || ro.SimMaster != "" || ro.SimControl) {
		return fmt.Errorf("%w: -sim-dir, -sim-master and -sim-control need a configuration with [sim] enabled = true", errUsage)
	}
	if ro.SimDir != "" {
		if err := os.MkdirAll(ro.SimDir, 0o755); err != nil {
			return fmt.Errorf("main: -sim-dir: %w", err)
		}
		cfg.Sim.EEPROMImage = filepath.Join(ro.SimDir, "eeprom.bin")
		cfg.Store.Path = filepath.Join(ro.SimDir, "data.db")
	}
	if cfg.Sim.Enabled {
		for _, p := range []string{cfg.Sim.EEPROMImage, cfg.Store.Path} {
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return fmt.Errorf("main: sim: %w", err)
			}
		}
	}
	opts := daemonOptions{Log: stderr, Console: ro.Console}
	var ctl *simControl
	if ro.SimControl {
		// A new, pollable handle on standard input whose Close ends a
		// pending read, so a signal stops the daemon without waiting for
		// the controller to close the pipe.
		// O_NONBLOCK: opening a FIFO must not wait for a writer.
		if f, err := os.OpenFile("/proc/self/fd/0", os.O_RDONLY|syscall.O_NONBLOCK, 0); err == nil {
			stdin = f
		}
		ctl = newSimControl(stdout)
		opts.Console = "none" // stdin and stdout carry the control protocol
		opts.ObserveJournal, opts.ObserveOutage, opts.OnReady = ctl.journaled, ctl.outage, ctl.ready
	}
	hw := realHardware()
	var r *rig
	if cfg.Sim.Enabled {
		var err error
		// The simulators outlive the daemon: they stop after it (r.close).
		r, err = newRig(context.WithoutCancel(ctx), cfg, rigOptions{Master: ro.SimMaster}, nil)
		if err != nil {
			return err
		}
		defer r.close()
		hw = r.hardware()
	}
	d, err := newDaemon(cfg, hw, opts)
	if err != nil {
		return err
	}
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	var wg sync.WaitGroup
	if ctl != nil {
		wg.Add(1)
		go func() { defer wg.Done(); ctl.serve(ctx, d, stdin, stop) }()
	}
	err = d.run(ctx)
	stop()
	wg.Wait()
	return err
}
