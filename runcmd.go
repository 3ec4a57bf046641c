package main

// `holdup run`: configuration → hardware (the terminal's, or the sim rig
// for a [sim] configuration) → the assembled daemon.

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"holdup/daemon"
	"holdup/daemon/sim"
)

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "configuration file (TOML)")
	console := fs.String("console", "", "override console.port: stdio, none or a serial device")
	var so sim.RunOptions
	fs.StringVar(&so.Dir, "sim-dir", "", "[sim] configs only: keep the EEPROM image and data store in `DIR`")
	fs.StringVar(&so.Master, "sim-master", "", "[sim] configs only: report to this master station (`host:port`)")
	fs.BoolVar(&so.Control, "sim-control", false, "[sim] configs only: take commands on stdin (loss, restore, control DEVICE POINT VALUE, fault DEVICE KIND N, quit), stream events as JSON lines on stdout")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *cfgPath == "" {
		return fmt.Errorf("%w: -config FILE is required", errUsage)
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err // nothing was started
	}
	opts := daemon.Options{Version: version, Log: stderr, Console: *console}
	if cfg.Sim.Enabled {
		so.Daemon = opts
		return sim.Run(ctx, cfg, so, os.Stdin, stdout)
	}
	if so.Dir != "" || so.Master != "" || so.Control {
		return fmt.Errorf("%w: -sim-dir, -sim-master and -sim-control need a configuration with [sim] enabled = true", errUsage)
	}
	d, err := daemon.New(cfg, daemon.RealHardware(), opts)
	if err != nil {
		return err
	}
	return d.Run(ctx)
}
