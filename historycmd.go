package main

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"holdup/store"
)

const historyUsage = "holdup history -db FILE [-business control,collection,event,alarm] [-device NAME] " +
	"[-from RFC3339] [-to RFC3339] [-limit N] [-newest] [-format json|text] [-alarms]"

// cmdHistory prints the records the data store holds (replayed from the
// journal), selected by business type, device and time range, in time
// order. It opens the data store read-only: while the daemon runs it holds
// the file, and the console's history command answers instead.
func cmdHistory(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("history", flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("db", "", "the data store file (store.path in the configuration)")
	business := fs.String("business", "", "business types, comma-separated: control, collection, event, alarm (default: all)")
	device := fs.String("device", "", "only the records of this device")
	from := fs.String("from", "", "only records taken at or after this time (RFC 3339)")
	to := fs.String("to", "", "only records taken before this time (RFC 3339)")
	limit := fs.Int("limit", 0, "print at most N records (0: all)")
	newest := fs.Bool("newest", false, "newest first (with -limit: the N newest)")
	format := fs.String("format", "json", "json (one object per line) or text (aligned columns)")
	alarms := fs.Bool("alarms", false, "the alarms reported to the master station instead (code, event object, time, count, delivered or pending)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q; %s", errUsage, fs.Arg(0), historyUsage)
	}
	if *db == "" {
		return fmt.Errorf("%w: -db FILE is required; %s", errUsage, historyUsage)
	}
	if *format != "json" && *format != "text" {
		return fmt.Errorf("%w: -format %q: want json or text", errUsage, *format)
	}
	if *limit < 0 {
		return fmt.Errorf("%w: -limit %d: want 0 (all) or more", errUsage, *limit)
	}
	q := store.HistoryQuery{Device: *device, Limit: *limit, Newest: *newest}
	var err error
	if *business != "" {
		if q.Business, err = store.ParseBusinessTypes(*business); err != nil {
			return fmt.Errorf("%w: -business %q: %v", errUsage, *business, err)
		}
	}
	for _, t := range []struct {
		name, v string
		to      *time.Time
	}{{"from", *from, &q.From}, {"to", *to, &q.To}} {
		if t.v == "" {
			continue
		}
		if *t.to, err = time.Parse(time.RFC3339, t.v); err != nil {
			return fmt.Errorf("%w: -%s %q: want an RFC 3339 time such as 2026-11-26T21:00:00Z", errUsage, t.name, t.v)
		}
	}
	if err := q.Check(); err != nil {
		return fmt.Errorf("%w: -from %s -to %s: %v", errUsage, *from, *to, err)
	}
	ds, err := store.OpenDataStoreReadOnly(*db, time.Second)
	if err != nil {
		if errors.Is(err, store.ErrInUse) {
			return fmt.Errorf("%w; stop it first, or use the console's history command", err)
		}
		return err
	}
	defer ds.Close()
	w := bufio.NewWriter(stdout)
	n, what := 0, "records"
	if *alarms {
		what = "alarms"
		err = ds.AlarmHistory(q, func(a store.AlarmRecord) error {
			n++
			if *format == "text" {
				_, err := fmt.Fprintln(w, a)
				return err
			}
			return json.NewEncoder(w).Encode(a)
		})
	} else if *format == "text" {
		fmt.Fprintf(w, "%8s  %-24s  %-10s  %-10s  %-16s  %-16s  %s\n", "sequence", "time", "business", "interface", "device", "point", "value")
	}
	if !*alarms {
		err = ds.History(q, func(r store.StoredRecord) error {
			n++
			if *format == "text" {
				_, err := fmt.Fprintln(w, historyLine(r.Record))
				return err
			}
			b, err := json.Marshal(r.Record)
			if err != nil {
				return err
			}
			// The record's JSON (as journal dump prints it) with the journal
			// it came from: sequences repeat across journals.
			fmt.Fprintf(w, "{\"journal_id\":%q,", r.JournalID)
			w.Write(b[1:])
			return w.WriteByte('\n')
		})
	}
	if ferr := w.Flush(); err == nil && ferr != nil {
		err = fmt.Errorf("write output: %w", ferr)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "%d %s\n", n, what)
	return nil
}

// historyLine is one record in aligned columns: a point's name, or an
// event's, and the value (strings quoted, bytes in hex).
func historyLine(r store.Record) string {
	point, _ := r.Attrs["point"].(string)
	if point == "" {
		point, _ = r.Attrs["event"].(string)
	}
	if point == "" {
		point = "-"
	}
	var v string
	switch x := r.Value.(type) {
	case nil:
		v = "null"
	case string:
		v = strconv.Quote(x)
	case []byte:
		v = "0x" + hex.EncodeToString(x)
	case float64:
		v = strconv.FormatFloat(x, 'g', -1, 64)
	default:
		v = fmt.Sprint(x)
	}
	if r.Invalid {
		v += " (invalid)"
	}
	return fmt.Sprintf("%8d  %-24s  %-10s  %-10s  %-16s  %-16s  %s", r.Seq, r.Time.UTC().Format("2006-01-02T15:04:05.000Z"),
		r.Business, quoteName(r.Interface), quoteName(r.Device), quoteName(point), v)
}

// quoteName prints a name as it is, or quoted when it holds a space or
// something a terminal would act on.
func quoteName(s string) string {
	if q := strconv.Quote(s); q[1:len(q)-1] != s || s == "" || strings.ContainsRune(s, ' ') {
		return q
	}
	return s
}
