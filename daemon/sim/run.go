package sim

// `holdup run` on a configuration with [sim] enabled: the daemon on the
// rig, with the sim-control protocol when asked.

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"

	"holdup/config"
	"holdup/daemon"
)

// RunOptions are `holdup run`'s flags for a [sim] configuration.
type RunOptions struct {
	// Daemon is passed on to daemon.New (Console is forced to "none"
	// under Control, whose protocol takes standard input and output).
	Daemon daemon.Options
	// Dir keeps the EEPROM image, the data store and the status socket
	// (-sim-dir).
	Dir string
	// Master is a master station to report to (-sim-master); empty
	// starts one on loopback inside the rig.
	Master string
	// Control takes mains commands on stdin and streams events as JSON
	// lines on stdout (-sim-control).
	Control bool
}

// Run assembles the daemon on the simulated rig the configuration
// describes and runs it until ctx ends (or, under Control, until `quit`
// or the end of stdin).
func Run(ctx context.Context, cfg *config.Config, ro RunOptions, stdin io.ReadCloser, stdout io.Writer) error {
	if !cfg.Sim.Enabled {
		return fmt.Errorf("sim: %s has no [sim] enabled = true", cfg.File)
	}
	if ro.Dir != "" {
		if err := os.MkdirAll(ro.Dir, 0o755); err != nil {
			return fmt.Errorf("sim: -sim-dir: %w", err)
		}
		cfg.Sim.EEPROMImage = filepath.Join(ro.Dir, "eeprom.bin")
		cfg.Store.Path = filepath.Join(ro.Dir, "data.db")
		cfg.Status.Socket = filepath.Join(ro.Dir, "holdup.sock")
	}
	for _, p := range []string{cfg.Sim.EEPROMImage, cfg.Store.Path} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("sim: %w", err)
		}
	}
	opts := ro.Daemon
	var ctl *simControl
	if ro.Control {
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
	lost, err := simMainsLost()
	if err != nil {
		return err
	}
	// The simulators outlive the daemon: they stop after it (r.Close).
	ropts := RigOptions{Master: ro.Master, Site: true, MainsLost: lost}
	if err := simEnd(cfg, ro.Dir, &ropts); err != nil {
		return err
	}
	r, err := NewRig(context.WithoutCancel(ctx), cfg, ropts, nil)
	if err != nil {
		return err
	}
	defer r.Close()
	hw := r.Hardware()
	hw.BootID = simBootID() // the kernel's, or BootIDEnv's (a simulated reboot)
	d, err := daemon.New(cfg, hw, opts)
	if err != nil {
		return err
	}
	if ctl != nil {
		ctl.tl = d.Timeline()
	}
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	var wg sync.WaitGroup
	if ctl != nil {
		wg.Add(1)
		go func() { defer wg.Done(); ctl.serve(ctx, d, r, stdin, stop) }()
	}
	err = d.Run(ctx)
	stop()
	wg.Wait()
	return err
}
