package sim

// The sim control protocol, the daemon's end: with -sim-control (a [sim]
// configuration only) `holdup run` takes mains commands on stdin and
// streams its timeline, journal acknowledgements and completion logs as
// JSON lines on stdout. scenario.go is the other end.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"holdup/daemon"
	"holdup/power"
	"holdup/store"
)

// simEvent is one line of the control protocol's output.
type simEvent struct {
	Ev string `json:"ev"` // timeline, journaled, outage, ready, done
	// timeline
	Seq    uint64    `json:"seq,omitempty"`
	At     time.Time `json:"at,omitzero"`
	Step   string    `json:"step,omitempty"`
	Detail string    `json:"detail,omitempty"`
	// journaled
	Journal  string `json:"journal,omitempty"`
	Business string `json:"business,omitempty"`
	Device   string `json:"device,omitempty"`
	Point    string `json:"point,omitempty"`
	// outage
	Kind     string `json:"kind,omitempty"`
	Replayed int    `json:"replayed,omitempty"`
	// done
	Cmd string `json:"cmd,omitempty"`
	Err string `json:"err,omitempty"`
}

// simControl is the child's end of the protocol.
type simControl struct {
	mu  sync.Mutex
	enc *json.Encoder
}

func newSimControl(w io.Writer) *simControl { return &simControl{enc: json.NewEncoder(w)} }

func (c *simControl) emit(e simEvent) {
	c.mu.Lock()
	defer c.mu.Unlock()
	_ = c.enc.Encode(e)
}

func (c *simControl) journaled(e daemon.JournalEvent) {
	p, _ := e.Record.Attrs["point"].(string)
	if ev, ok := store.IsOutageEvent(e.Record); ok {
		p = ev
	}
	c.emit(simEvent{Ev: "journaled", Journal: e.JournalID, Seq: e.Seq, Business: e.Record.Business.String(), Device: e.Record.Device, Point: p})
}

func (c *simControl) outage(r power.OutageRecord) {
	c.emit(simEvent{Ev: "outage", Kind: string(r.Kind), Replayed: r.Replay.Replayed, At: r.Begin})
}

func (c *simControl) ready() { c.emit(simEvent{Ev: "ready"}) }

// serve streams the timeline and runs commands read from in until ctx
// ends; "quit" or the end of in calls stop.
func (c *simControl) serve(ctx context.Context, d *daemon.Daemon, mains daemon.MainsSwitch, in io.ReadCloser, stop context.CancelFunc) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tl := d.Timeline()
		var last uint64
		for {
			ch := tl.Changed()
			for _, e := range tl.Since(last) {
				c.emit(simEvent{Ev: "timeline", Seq: e.Seq, At: e.At, Step: string(e.Step), Detail: e.Detail})
				last = e.Seq
			}
			select {
			case <-ctx.Done():
				return
			case <-ch:
			}
		}
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		<-ctx.Done()
		_ = in.Close() // ends the read below
	}()
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "quit" {
			break
		}
		err := c.command(ctx, d, mains, line)
		ev := simEvent{Ev: "done", Cmd: line}
		if err != nil {
			ev.Err = err.Error()
		}
		c.emit(ev)
	}
	stop()
	wg.Wait()
}

func (c *simControl) command(ctx context.Context, d *daemon.Daemon, mains daemon.MainsSwitch, line string) error {
	f := strings.Fields(line)
	switch {
	case len(f) == 1 && (f[0] == "loss" || f[0] == "restore"):
		return mains.SetMains(f[0] == "restore")
	case len(f) == 4 && f[0] == "control":
		v, err := strconv.ParseFloat(f[3], 64)
		if err != nil {
			return fmt.Errorf("control: value %q: %w", f[3], err)
		}
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		err = d.Control(ctx, f[1], f[2], v)
		if pe := (*daemon.PointError)(nil); errors.As(err, &pe) {
			return fmt.Errorf("control: %w", pe)
		}
		return err
	}
	return fmt.Errorf("unknown command %q (loss, restore, control DEVICE POINT VALUE, quit)", line)
}
