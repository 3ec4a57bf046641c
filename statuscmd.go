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
	"time"

	"holdup/config"
	"holdup/console"
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
	printStatus(stdout, r)
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

// printStatus writes r as aligned text within 80 columns: the console's
// status lines, then what the report adds (the outage being protected,
// the data store, the devices).
func printStatus(w io.Writer, r daemon.StatusReport) {
	cs := console.Status{Power: r.Power, Since: r.Since, MainsV: r.MainsV, SupercapV: r.SupercapV,
		HoldupLeft: time.Duration(r.HoldupLeftS * float64(time.Second)), HoldupBudget: time.Duration(r.HoldupBudgetS * float64(time.Second)),
		JournalUsed: r.JournalUsed, JournalSize: r.JournalSize, JournalRecords: r.JournalRecords, Alarms: r.Alarms, Start: r.Start,
		JournalCapacityRecords: r.JournalCapacityRecords, JournalEstimateS: r.JournalEstimateS}
	if r.HistoryPending != nil && r.HistoryDelivered != nil {
		cs.HistoryKnown, cs.HistoryPending, cs.HistoryDelivered = true, *r.HistoryPending, *r.HistoryDelivered
	}
	lines := console.StatusLines(cs)
	outage := "none open"
	if r.OutageOpen {
		outage = fmt.Sprintf("open since %s (%s)", r.OutageSince.Format(time.DateTime), r.OutageKind)
	}
	lines = append(lines, fmt.Sprintf("%-9s %s", "outage", outage), fmt.Sprintf("%-9s %s", "store", r.DataStore))
	key := "devices"
	if len(r.Devices) == 0 {
		lines = append(lines, fmt.Sprintf("%-9s none", key))
	}
	for _, d := range r.Devices {
		lines = append(lines, fmt.Sprintf("%-9s %-32s %s", key, d.Name, d.State))
		key = ""
	}
	for _, l := range lines {
		if len([]rune(l)) > 80 {
			l = string([]rune(l)[:79]) + "…"
		}
		fmt.Fprintln(w, l)
	}
}
