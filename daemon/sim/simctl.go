package sim

// The sim control protocol, the daemon's end: with -sim-control (a [sim]
// configuration only) `holdup run` takes commands on stdin, a line each —
// loss, restore, control DEVICE POINT VALUE, fault DEVICE KIND N (the
// Modbus slave's next N answers: crc, truncate, extra or silent),
// supercap load W (the simulated supercap's load during an outage), quit —
// answering each with a "done" line, and streams its timeline, journal
// acknowledgements and completion logs as JSON lines on stdout.
// scenario.go is the other end. A child started with HOLDUP_SIM_MAINS=lost
// finds the mains absent (boot.go).

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
	mu   sync.Mutex
	enc  *json.Encoder
	tl   *power.Timeline // set before the daemon runs
	last uint64          // the last timeline entry written, under mu
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

// ready follows every timeline entry taken so far: the controller has
// seen how start-up went when it reads it.
func (c *simControl) ready() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.timelineLocked()
	_ = c.enc.Encode(simEvent{Ev: "ready"})
}

// timeline writes the entries not written yet.
func (c *simControl) timeline() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.timelineLocked()
}

func (c *simControl) timelineLocked() {
	for _, e := range c.tl.Since(c.last) {
		_ = c.enc.Encode(simEvent{Ev: "timeline", Seq: e.Seq, At: e.At, Step: string(e.Step), Detail: e.Detail})
		c.last = e.Seq
	}
}

// serve streams the timeline (c.tl) and runs commands read from in until
// ctx ends; "quit" or the end of in calls stop.
func (c *simControl) serve(ctx context.Context, d *daemon.Daemon, rig *Rig, in io.ReadCloser, stop context.CancelFunc) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			ch := c.tl.Changed()
			c.timeline()
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
		err := c.command(ctx, d, rig, line)
		ev := simEvent{Ev: "done", Cmd: line}
		if err != nil {
			ev.Err = err.Error()
		}
		c.emit(ev)
	}
	stop()
	wg.Wait()
}

func (c *simControl) command(ctx context.Context, d *daemon.Daemon, rig *Rig, line string) error {
	f := strings.Fields(line)
	switch {
	case len(f) == 1 && (f[0] == "loss" || f[0] == "restore"):
		return rig.SetMains(f[0] == "restore")
	case len(f) == 4 && f[0] == "fault":
		n, err := strconv.Atoi(f[3])
		if err != nil {
			return fmt.Errorf("fault: count %q: %w", f[3], err)
		}
		if err := rig.Fault(f[1], f[2], n); err != nil {
			return fmt.Errorf("fault: %w", err)
		}
		return nil
	case len(f) == 3 && f[0] == "supercap" && f[1] == "load":
		w, err := strconv.ParseFloat(f[2], 64)
		if err != nil {
			return fmt.Errorf("supercap load: watts %q: %w", f[2], err)
		}
		if rig.supercap == nil {
			return errors.New("supercap load: no [power.supercap] simulated")
		}
		return rig.supercap.SetLoad(w)
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
	return fmt.Errorf("unknown command %q (loss, restore, control DEVICE POINT VALUE, fault DEVICE crc|truncate|extra|silent N, supercap load W, quit)", line)
}
