// Command holdup keeps a terminal's critical business data safe across mains
// power failures: it sheds what cannot run on the supercapacitor, journals
// critical records into an I2C EEPROM, and replays them exactly once into the
// data store when power returns.
//
// Usage:
//
//	holdup run -config FILE          run the daemon
//	holdup sim [flags]               run the main job on simulated hardware
//	holdup status [-json] [-config FILE | -socket PATH]
//	holdup journal dump -image FILE -part PART [-format json|cbor]
//	holdup history -db FILE [-business LIST] [-device NAME] [-from T] [-to T] [-limit N] [-newest] [-format json|text]
//	holdup frame decode [-proto 698|1376.2|645] HEX…
//	holdup check-config FILE
//	holdup hashpw
//	holdup version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// version is set at link time with -X main.version=….
var version = "dev"

// command is one subcommand of the holdup binary.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

// errUsage marks a command-line mistake; main exits 2 for it.
var errUsage = errors.New("usage")

func commands() map[string]command {
	return map[string]command{
		"run":          {"run the daemon (-config FILE)", cmdRun},
		"sim":          {"run the main job on simulated hardware", cmdSim},
		"status":       {"ask the running daemon for its state ([-json] [-config FILE | -socket PATH])", cmdStatus},
		"journal":      {"inspect an EEPROM journal image (dump)", cmdJournal},
		"history":      {"query the data store's records (-db FILE; daemon stopped)", cmdHistory},
		"frame":        {"decode 698 / 1376.2 / 645 frames to JSON (decode)", cmdFrame},
		"version":      {"print the version", cmdVersion},
		"check-config": {"validate a configuration file (exit 0 valid, 2 invalid)", cmdCheckConfig},
		"hashpw":       {"hash a console password for console.password_hash", cmdHashPW},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := dispatch(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// dispatch runs the subcommand named by args[0] and returns the exit code.
func dispatch(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmds := commands()
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr, cmds)
		return 2
	}
	c, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "holdup: unknown command %q\n", args[0])
		usage(stderr, cmds)
		return 2
	}
	if err := c.run(ctx, args[1:], stdout, stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 2
		}
		fmt.Fprintf(stderr, "holdup %s: %v\n", args[0], err)
		if errors.Is(err, errUsage) || errors.Is(err, errInvalidConfig) {
			return 2
		}
		return 1
	}
	return 0
}

func usage(w io.Writer, cmds map[string]command) {
	fmt.Fprintln(w, "usage: holdup COMMAND [flags]")
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, cmds[n].summary)
	}
}

func cmdVersion(_ context.Context, _ []string, stdout, _ io.Writer) error {
	fmt.Fprintf(stdout, "holdup %s\n", version)
	return nil
}
