package main

// `holdup status`: ask the running daemon over its status socket
// (daemon.StatusReport) and print the answer.

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"holdup/config"
	"holdup/daemon"
)

func cmdStatus(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "find the socket in this configuration (status.socket)")
	socket := fs.String("socket", "", "the daemon's status socket (default "+config.DefaultStatusSocket+")")
	asJSON := fs.Bool("json", false, "print the daemon's answer as one JSON object")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	path := *socket
	if path == "" {
		path = config.DefaultStatusSocket
		if *cfgPath != "" {
			cfg, err := loadConfig(*cfgPath)
			if err != nil {
				return err
			}
			path = cfg.StatusSocket()
		}
	}
	raw, err := askStatus(ctx, path)
	if err != nil {
		return err
	}
	var r daemon.StatusReport
	if err := json.Unmarshal(raw, &r); err != nil {
		return fmt.Errorf("daemon at %s: unreadable answer: %w", path, err)
	}
	if *asJSON {
		_, err = stdout.Write(raw)
		return err
	}
	printStatus(stdout, r, time.Now())
	return nil
}

// askStatus reads the daemon's one JSON answer on the socket at path.
func askStatus(ctx context.Context, path string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	c, err := (&net.Dialer{}).DialContext(ctx, "unix", path)
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) {
			err = op.Err
		}
		return nil, fmt.Errorf("no daemon at %s: %w", path, err)
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	raw, err := io.ReadAll(c)
	if err != nil {
		return nil, fmt.Errorf("daemon at %s: reading its answer: %w", path, err)
	}
	if len(raw) == 0 {
		return nil, fmt.Errorf("daemon at %s closed without an answer (see its log)", path)
	}
	return raw, nil
}

// printStatus writes r as aligned text within 80 columns.
func printStatus(w io.Writer, r daemon.StatusReport, now time.Time) {
	line := func(k, v string) {
		s := fmt.Sprintf("%-12s %s", k, v)
		if len([]rune(s)) > 80 {
			s = string([]rune(s)[:79]) + "…"
		}
		fmt.Fprintln(w, s)
	}
	line("power", fmt.Sprintf("%s since %s (%s ago)", r.Power, r.Since.Format(time.DateTime), now.Sub(r.Since).Round(time.Second)))
	mains := "unknown"
	if len(r.MainsV) > 0 {
		vs := make([]string, len(r.MainsV))
		for i, v := range r.MainsV {
			vs[i] = fmt.Sprintf("%.1f", v)
		}
		mains = strings.Join(vs, " ") + " V"
	}
	line("mains", mains)
	line("hold-up", fmt.Sprintf("%.1f s left of %.1f s", r.HoldupLeftS, r.HoldupBudgetS))
	outage := "none open"
	if r.OutageOpen {
		outage = fmt.Sprintf("open since %s (%s)", r.OutageSince.Format(time.DateTime), r.OutageKind)
	}
	line("outage", outage)
	fill := 0.0
	if r.JournalSize > 0 {
		fill = 100 * float64(r.JournalUsed) / float64(r.JournalSize)
	}
	line("journal", fmt.Sprintf("%d of %d bytes (%.1f %%), %d records", r.JournalUsed, r.JournalSize, fill, r.JournalRecords))
	line("data store", r.DataStore)
	if r.HistoryPending != nil && r.HistoryDelivered != nil {
		line("history", fmt.Sprintf("%d pending, %d delivered to the master", *r.HistoryPending, *r.HistoryDelivered))
	}
	key := "devices"
	if len(r.Devices) == 0 {
		line(key, "none")
	}
	for _, d := range r.Devices {
		line(key, fmt.Sprintf("%-32s %s", d.Name, d.State))
		key = ""
	}
	key = "alarms"
	if len(r.Alarms) == 0 {
		line(key, "none")
	}
	for _, a := range r.Alarms {
		line(key, a)
		key = ""
	}
}
