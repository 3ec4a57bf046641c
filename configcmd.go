package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"holdup/config"
	"holdup/console"
	"holdup/daemon"
)

// errInvalidConfig marks a configuration that failed validation; the
// process exits 2 for it, as for a usage error.
var errInvalidConfig = errors.New("invalid configuration")

// loadConfig reads and validates path, returning every problem, one per
// line, each naming the key and its line.
func loadConfig(path string) (*config.Config, error) {
	cfg, err := config.Load(path)
	if err != nil {
		if errors.Is(err, config.ErrInvalid) {
			return nil, fmt.Errorf("%w:\n%v", errInvalidConfig, err)
		}
		return nil, err
	}
	return cfg, nil
}

func cmdCheckConfig(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("check-config", flag.ContinueOnError)
	fs.SetOutput(stderr)
	probe := fs.Bool("probe", false, "also warn about each device node the file names that does not exist on this machine")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%w: holdup check-config [-probe] FILE", errUsage)
	}
	cfg, err := loadConfig(fs.Arg(0))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: valid (%d devices)\n", cfg.File, len(cfg.Devices))
	fmt.Fprintf(stdout, "hold-up budget: %s\n", cfg.Power.HoldUpText())
	line, warn := daemon.JournalCapacityText(cfg)
	fmt.Fprint(stdout, line)
	if warn != "" {
		fmt.Fprintf(stderr, "warning: %s\n", warn)
	}
	for _, l := range cfg.UplinkControlLines() {
		fmt.Fprintln(stdout, l)
	}
	if *probe {
		// Warnings, not errors: the file may be checked on another
		// machine than the terminal it is for.
		for _, n := range cfg.Nodes() {
			if _, err := os.Stat(n.Path); err != nil {
				fmt.Fprintf(stderr, "warning: %s (%s:%d): %s: %v\n", n.Key, cfg.File, cfg.Line(n.Key), n.Path, errors.Unwrap(err))
			}
		}
	}
	return nil
}

func cmdHashPW(_ context.Context, _ []string, stdout, stderr io.Writer) error {
	return console.HashPW(os.Stdin, stdout, stderr)
}
