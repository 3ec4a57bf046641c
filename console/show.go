package console

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

func noArgs(args []string) error {
	if len(args) > 0 {
		return usagef("unexpected argument %q", fit(args[0], 20))
	}
	return nil
}

func (c *Console) cmdStatus(ctx context.Context, args []string) error {
	if err := noArgs(args); err != nil {
		return err
	}
	s, err := c.opts.State.Status(ctx)
	if err != nil {
		return err
	}
	for _, l := range StatusLines(s) {
		c.printf("%s", l)
	}
	return nil
}

// journalRoom is what the line under the journal's fill tells from the
// capacity estimate: "room for about N more records, S s of the outage
// workload" (the seconds left out when unknown), "" without an estimate.
func journalRoom(s Status) string {
	if s.JournalCapacityRecords <= 0 {
		return ""
	}
	room := fmt.Sprintf("room for about %d more records", max(0, s.JournalCapacityRecords-s.JournalRecords))
	if s.JournalEstimateS != nil {
		room += fmt.Sprintf(", %.0f s of the outage workload", *s.JournalEstimateS)
	}
	return room
}

// StatusLines is the status summary as the console prints it, a line
// each with its label in a 9-column field: power and mains, hold-up,
// journal (and under it the room the capacity estimate leaves, when
// known), history (when known), alarms. `holdup status` prints the same
// lines.
func StatusLines(s Status) []string {
	mains := "unknown"
	if len(s.MainsV) > 0 {
		v := make([]string, len(s.MainsV))
		for i, x := range s.MainsV {
			v[i] = fmt.Sprintf("%.1f", x)
		}
		mains = strings.Join(v, "/") + " V"
	}
	cap := "not measured"
	if s.SupercapV > 0 {
		cap = fmt.Sprintf("%.2f V", s.SupercapV)
	}
	out := []string{
		fmt.Sprintf("%-9s %s since %s (mains %s)", "power", s.Power, when(s.Since), mains),
		fmt.Sprintf("%-9s %s of %s budget (supercap %s)", "hold-up", dur(s.HoldupLeft), dur(s.HoldupBudget), cap),
		fmt.Sprintf("%-9s %d of %d bytes (%s), %d records", "journal", s.JournalUsed, s.JournalSize,
			pct(s.JournalUsed, s.JournalSize), s.JournalRecords),
	}
	if room := journalRoom(s); room != "" {
		out = append(out, fmt.Sprintf("%-9s %s", "", room)) // beside the fill, within 80 columns
	}
	if s.Start != "" {
		out = append(out, fmt.Sprintf("%-9s %s", "start", s.Start))
	}
	if s.HistoryKnown {
		out = append(out, fmt.Sprintf("%-9s %d outage record(s) waiting for the master station, %d delivered", "history", s.HistoryPending, s.HistoryDelivered))
	}
	if s.AlarmReportsPending > 0 {
		out = append(out, fmt.Sprintf("%-9s %d alarm report(s) waiting for the master station", "reports", s.AlarmReportsPending))
	}
	if len(s.Alarms) == 0 {
		out = append(out, fmt.Sprintf("%-9s none", "alarms"))
	}
	for i, a := range s.Alarms {
		label := ""
		if i == 0 {
			label = "alarms"
		}
		out = append(out, fmt.Sprintf("%-9s %s", label, a))
	}
	return out
}

func (c *Console) cmdOutages(ctx context.Context, args []string) error {
	n, err := count(args, 10, 100)
	if err != nil {
		return err
	}
	os, err := c.opts.State.Outages(ctx, n)
	if err != nil {
		return err
	}
	if len(os) == 0 {
		c.printf("no outages recorded")
		return nil
	}
	c.printf("%-6s %-19s  %-19s  %9s %7s  %s", "id", "begin", "end", "duration", "records", "state")
	for _, o := range os {
		d := "ongoing"
		if !o.End.IsZero() {
			d = dur(o.End.Sub(o.Begin))
		}
		c.printf("%-6d %-19s  %-19s  %9s %7d  %s", o.ID, when(o.Begin), when(o.End), d, o.Records, o.State)
		if o.Evidence != "" {
			c.printf("%-6s %s", "", "decided by: "+o.Evidence)
		}
	}
	return nil
}

func (c *Console) cmdJournal(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usagef("missing subcommand")
	}
	switch strings.ToLower(args[0]) {
	case "stats":
		if err := noArgs(args[1:]); err != nil {
			return err
		}
		s, err := c.opts.State.JournalStats(ctx)
		if err != nil {
			return err
		}
		c.printf("%-9s %s, %d bytes, %d-byte pages", "part", s.Part, s.Size, s.PageSize)
		c.printf("%-9s %d bytes (%s), %d records", "used", s.Used, pct(s.Used, s.Size), s.Records)
		if s.Records > 0 {
			c.printf("%-9s seq %d .. %d, replayed up to %d", "records", s.FirstSeq, s.LastSeq, s.Consumed)
		}
		if s.OpenOutage {
			c.printf("%-9s open since %s", "outage", when(s.OpenSince))
		} else {
			c.printf("%-9s none open", "outage")
		}
		c.printf("%-9s %d", "corrupt", s.Corrupt)
		return nil
	case "tail":
		n, err := count(args[1:], 10, 200)
		if err != nil {
			return err
		}
		recs, err := c.opts.State.JournalTail(ctx, n)
		if err != nil {
			return err
		}
		if len(recs) == 0 {
			c.printf("journal is empty")
			return nil
		}
		c.printf("%-8s %-19s  %-13s %s", "seq", "time", "kind", "summary")
		for _, r := range recs {
			c.printf("%-8d %-19s  %-13s %s", r.Seq, when(r.Time), r.Kind, r.Summary)
		}
		return nil
	case "consume":
		if err := noArgs(args[1:]); err != nil {
			return err
		}
		n, err := c.opts.Actions.JournalConsume(ctx)
		if err != nil {
			return err
		}
		c.log.Info("console: journal consume", "records", n)
		c.printf("consumed %d replayed records", n)
		return nil
	default:
		return usagef("unknown subcommand %q", fit(args[0], 20))
	}
}

func (c *Console) cmdDevices(ctx context.Context, args []string) error {
	if err := noArgs(args); err != nil {
		return err
	}
	ds, err := c.opts.State.Devices(ctx)
	if err != nil {
		return err
	}
	if len(ds) == 0 {
		c.printf("no devices configured")
		return nil
	}
	c.printf("%-16s %-11s %-8s %-5s %7s %6s  %s", "name", "driver", "state", "mains", "draw", "errors", "last ok")
	for _, d := range ds {
		st := d.State
		switch {
		case !d.Enabled:
			st = "disabled"
		case d.Gated:
			st = "gated"
		}
		mains := "any"
		if d.MainsOnly {
			mains = "only"
		}
		c.printf("%-16s %-11s %-8s %-5s %5dmW %5.1f%%  %s", d.Name, d.Driver, st, mains, d.DrawMW,
			100*d.ErrorRate, when(d.LastOK))
	}
	return nil
}

func (c *Console) cmdPoints(ctx context.Context, args []string) error {
	if len(args) > 1 {
		return usagef("unexpected argument %q", fit(args[1], 20))
	}
	device := ""
	if len(args) == 1 {
		device = args[0]
	}
	ps, err := c.opts.State.Points(ctx, device)
	if err != nil {
		return err
	}
	if len(ps) == 0 {
		c.printf("no points")
		return nil
	}
	// live: the point's own reading; master: what the master station
	// reads for it (NULL during an outage unless the point keeps its live
	// value; "-" where it reads nothing: not exposed, or a control point).
	now := c.opts.Now()
	c.printf("%-24s %-10s %10s %10s %-8s %s", "device/point", "class", "live", "master", "uplink", "at")
	for _, p := range ps {
		live, master := "-", "-"
		switch {
		case p.Invalid:
			live = "invalid"
		case p.Measured:
			live = num(p.Value, 10)
		}
		oad := p.UplinkOAD
		if oad == "" {
			oad = "-"
		} else if p.Invalid || p.Measured {
			master = live
			if p.UplinkNull || p.Invalid {
				master = "NULL"
			}
		}
		c.printf("%-24s %-10s %10s %10s %-8s %s", fit(p.Device+"/"+p.Name, 24), fit(p.Class, 10), fit(live, 10), fit(master, 10),
			fit(oad, 8), clock(p.Time, now))
	}
	return nil
}

// cmdHistory prints the newest records of the data store, oldest first.
// One argument is N when it is a number, else DEVICE (a device named by
// digits alone needs N after it too).
func (c *Console) cmdHistory(ctx context.Context, args []string) error {
	device := ""
	if len(args) == 2 {
		device, args = args[0], args[1:]
	} else if len(args) == 1 {
		if _, err := strconv.Atoi(args[0]); err != nil {
			device, args = args[0], nil
		}
	}
	n, err := count(args, 10, 200)
	if err != nil {
		return err
	}
	rs, err := c.opts.State.History(ctx, device, n)
	if err != nil {
		return err
	}
	if len(rs) == 0 {
		if device != "" {
			c.printf("no records of %s stored", fit(device, 40))
		} else {
			c.printf("no records stored")
		}
		return nil
	}
	loc := c.opts.Now().Location()
	c.printf("%-19s %-10s %-28s %s", "time", "business", "device/point", "value")
	for _, r := range rs {
		name := r.Device
		if r.Point != "" {
			name += "/" + r.Point
		}
		inv := ""
		if r.Invalid {
			inv = " invalid"
		}
		c.printf("%-19s %-10s %-28s %-12s%s", when(r.Time.In(loc)), fit(r.Business, 10), fit(name, 28), value(r.Value, 12), inv)
	}
	return nil
}

func (c *Console) cmdDevice(ctx context.Context, args []string) error {
	if len(args) != 2 {
		return usagef("want enable|disable NAME")
	}
	var on bool
	switch strings.ToLower(args[0]) {
	case "enable":
		on = true
	case "disable":
	default:
		return usagef("unknown subcommand %q", fit(args[0], 20))
	}
	name := args[1]
	if err := c.opts.Actions.SetDeviceEnabled(ctx, name, on); err != nil {
		return err
	}
	verb := "disabled"
	if on {
		verb = "enabled"
	}
	c.log.Info("console: device "+verb, "device", name)
	c.printf("device %s %s", name, verb)
	return nil
}

func (c *Console) cmdSched(ctx context.Context, args []string) error {
	if err := noArgs(args); err != nil {
		return err
	}
	s, err := c.opts.State.Sched(ctx)
	if err != nil {
		return err
	}
	c.printf("%-9s %s", "mode", s.Mode)
	c.printf("%-24s %9s %12s %12s", "queue", "depth", "done", "failed")
	for _, q := range s.Queues {
		c.printf("%-24s %4d/%-4d %12d %12d", q.Name, q.Depth, q.Capacity, q.Done, q.Failed)
	}
	gated := "none"
	if len(s.Gated) > 0 {
		gated = strings.Join(s.Gated, ", ")
	}
	for i, l := range wrap(fmt.Sprintf("%-9s %s", "gated", gated), Width) {
		if i > 0 {
			l = "        " + l
		}
		c.println(l)
	}
	if len(s.Errors) > 0 {
		c.printf("%-16s %8s %8s %7s  %s", "errors", "failed", "total", "rate", "flagged")
	}
	for _, e := range s.Errors {
		rate := "-"
		if e.Total > 0 {
			rate = fmt.Sprintf("%.1f%%", 100*float64(e.Failed)/float64(e.Total))
		}
		c.printf("%-16s %8d %8d %7s  %s", e.Device, e.Failed, e.Total, rate, yesNo(e.Flagged))
	}
	return nil
}

func (c *Console) cmdLog(ctx context.Context, args []string) error {
	n, err := count(args, 20, 200)
	if err != nil {
		return err
	}
	lines, err := c.opts.State.Log(ctx, n)
	if err != nil {
		return err
	}
	for _, l := range lines {
		for _, w := range wrap(l, Width) {
			c.println(w)
		}
	}
	return nil
}

func (c *Console) cmdConfig(ctx context.Context, args []string) error {
	if err := noArgs(args); err != nil {
		return err
	}
	lines, err := c.opts.State.Config(ctx)
	if err != nil {
		return err
	}
	for _, l := range lines {
		c.println(l)
	}
	return nil
}

func (c *Console) cmdPower(ctx context.Context, args []string) error {
	if len(args) != 1 {
		return usagef("want simulate-loss|simulate-restore")
	}
	var present bool
	switch strings.ToLower(args[0]) {
	case "simulate-loss":
	case "simulate-restore":
		present = true
	default:
		return usagef("unknown subcommand %q", fit(args[0], 20))
	}
	if !c.opts.Sim {
		return fmt.Errorf("only available in sim mode")
	}
	if err := c.opts.Actions.SimulateMains(ctx, present); err != nil {
		return err
	}
	if present {
		c.printf("simulated mains restored")
	} else {
		c.printf("simulated mains cut")
	}
	return nil
}
