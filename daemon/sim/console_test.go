package sim

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"

	"holdup/power"
)

// opTerm is the operator's end of the pty whose other end the daemon
// opens as its console port with go.bug.st/serial.
type opTerm struct {
	t      *testing.T
	master *os.File
	chunks chan []byte
	buf    bytes.Buffer
}

func (o *opTerm) expect(want string) string {
	o.t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		if i := strings.Index(o.buf.String(), want); i >= 0 {
			return string(o.buf.Next(i + len(want)))
		}
		select {
		case b, ok := <-o.chunks:
			if !ok {
				o.t.Fatalf("console closed waiting for %q; have %q", want, o.buf.String())
			}
			o.buf.Write(b)
		case <-deadline:
			o.t.Fatalf("timed out waiting for %q; have %q", want, o.buf.String())
		}
	}
}

// run types a command and returns its output up to the next prompt.
func (o *opTerm) run(cmd string) string {
	o.t.Helper()
	if _, err := o.master.Write([]byte(cmd + "\r")); err != nil {
		o.t.Fatal(err)
	}
	o.expect(cmd + "\r\n")
	return strings.TrimSuffix(o.expect("holdup> "), "holdup> ")
}

// pointFields returns the fields of the points line of point (device/
// point, class, live, master, uplink, at), each line within 80 columns.
func pointFields(t *testing.T, out, point string) []string {
	t.Helper()
	t.Logf("points:\n%s", out)
	var found []string
	for _, l := range strings.Split(out, "\n") {
		if l = strings.TrimRight(l, "\r"); len(l) > 80 {
			t.Errorf("points line over 80 columns: %q", l)
		}
		if f := strings.Fields(l); len(f) >= 6 && f[0] == point {
			found = f
		}
	}
	if found == nil {
		t.Fatalf("no points line for %s in:\n%s", point, out)
	}
	return found
}

func mustContain(t *testing.T, what, out string, wants ...string) {
	t.Helper()
	t.Logf("%s:\n%s", what, out)
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Fatalf("%s: no %q in:\n%s", what, w, out)
		}
	}
}

// TestConsoleOnLiveDaemon serves the console on a serial port (a pty
// opened with go.bug.st/serial) from the assembled daemon on the sim rig:
// nothing is shown before login; after it the figures come from the live
// parts, and `power simulate-loss` drives a real outage through the
// lifecycle.
func TestConsoleOnLiveDaemon(t *testing.T) {
	master, slave, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	defer slave.Close()
	o := &opTerm{t: t, master: master, chunks: make(chan []byte, 64)}
	go func() {
		defer close(o.chunks)
		for {
			b := make([]byte, 4096)
			n, err := master.Read(b)
			if n > 0 {
				o.chunks <- b[:n]
			}
			if err != nil {
				return
			}
		}
	}()
	dir := t.TempDir()
	s := startSimConsole(t, dir, nil, slave.Name())
	t.Cleanup(func() {
		s.stop(t)
		master.Close()
		for range o.chunks {
		}
	})
	o.expect("holdup> ")

	// Before login the console shows nothing of the daemon.
	mustContain(t, "status without login", o.run("status"), "error: status: log in first (login)")
	mustContain(t, "simulate-loss without login", o.run("power simulate-loss"), "log in first")

	o.master.Write([]byte("login\r"))
	o.expect("password: ")
	o.master.Write([]byte("sim-operator\r"))
	o.expect("logged in")
	o.expect("holdup> ")

	// The login went through the lockout state file beside the data
	// store, and reset it.
	if b, err := os.ReadFile(filepath.Join(dir, "console.state")); err != nil || !strings.Contains(string(b), "failures 0\n") {
		t.Errorf("console.state beside the data store: %q, %v", b, err)
	}

	mustContain(t, "status", o.run("status"), "normal")
	mustContain(t, "devices", o.run("devices"), "sim-inverter", "sim-plc-meter", "sim-relay")
	mustContain(t, "config", o.run("config"), "sim-inverter")
	mustContain(t, "sched", o.run("sched"), "/64", "errors", "sim-inverter")
	mustContain(t, "device disable", o.run("device disable sim-relay"), "disabled")
	mustContain(t, "devices after disable", o.run("devices"), "disabled")
	if ok, _ := s.d.Scheduler().Enabled("sim-relay"); ok {
		t.Fatal("the scheduler still has sim-relay enabled")
	}
	mustContain(t, "device enable", o.run("device enable sim-relay"), "enabled")
	if ok, _ := s.d.Scheduler().Enabled("sim-relay"); !ok {
		t.Fatal("sim-relay not re-enabled")
	}
	mustContain(t, "unknown device", o.run("device disable nope"), "unknown device")

	// points: the live value beside what the master reads — the same
	// number with mains present, NULL in an outage while the inverter
	// still collects on the capacitor.
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		r, err := s.d.Scheduler().Latest(context.Background(), "sim-inverter", "power")
		if err == nil && !r.Invalid {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("no inverter reading: %+v %v", r, err)
		}
	}
	f := pointFields(t, o.run("points sim-inverter"), "sim-inverter/power")
	if f[2] == "invalid" || f[3] != f[2] || f[4] != "2F000200" {
		t.Errorf("points with mains present: %q, want the live value twice and 2F000200", f)
	}

	after := s.d.Timeline().Last()
	o.run("power simulate-loss")
	e := s.wait(t, power.StepModulesInvalid, after)
	mustContain(t, "status in an outage", o.run("status"), "outage")
	f = pointFields(t, o.run("points sim-inverter"), "sim-inverter/power")
	if f[2] == "invalid" || f[2] == "-" || f[3] != "NULL" {
		t.Errorf("points in an outage: %q, want the live value and NULL for the master", f)
	}
	pts := o.run("points sim-plc-meter")
	mustContain(t, "points in an outage", pts, "sim-plc-meter/energy", "invalid", "2F040200", "sim-plc-meter/demand-...", "2F060200")
	if strings.Contains(pts, "sim-inverter") {
		t.Errorf("points sim-plc-meter lists other devices:\n%s", pts)
	}
	mustContain(t, "all points", o.run("points"), "sim-inverter/power", "sim-relay/trip", "sim-plc-meter/energy")
	mustContain(t, "points of an unknown device", o.run("points nope"), `no device "nope"`)
	mustContain(t, "sched in an outage", o.run("sched"), "outage", "sim-plc-meter")
	// journal consume (after login) replays what the outage journaled so
	// far into the data store, on the data store's replay thread.
	s.control(t, "sim-inverter", "limit", 42)
	if out := o.run("journal consume"); !regexp.MustCompile(`consumed [1-9][0-9]* replayed records`).MatchString(out) {
		t.Errorf("journal consume in an outage: %q, want the outage-begin and the control action consumed", out)
	}
	if st, err := s.d.JournalStats(context.Background()); err != nil || st.Records != 0 {
		t.Errorf("journal after consume: %+v %v, want no records left", st, err)
	}
	// history reads them back from the data store, oldest first.
	mustContain(t, "history", o.run("history"), "business", "event", "mains/outage-begin", "control", "sim-inverter/limit")
	mustContain(t, "history of a device", o.run("history sim-inverter 5"), "sim-inverter/limit")
	o.run("power simulate-restore")
	s.wait(t, power.StepSleeping, e.Seq)
	mustContain(t, "outages", o.run("outages"), "warm", "decided by: lived through: this process saw the return")
	// The consumed control action went to the master station (the
	// forwarder's 2-8); status counts it delivered, none waiting.
	s.wait(t, power.StepForwarded, e.Seq)
	if out := o.run("status"); !regexp.MustCompile(`history\s+0 outage record\(s\) waiting for the master station, [1-9][0-9]* delivered`).MatchString(out) {
		t.Errorf("status after the history went out: %q", out)
	}
	mustContain(t, "journal stats", o.run("journal stats"), "at24c64")
	mustContain(t, "log", o.run("log 50"), string(power.StepCompletion))
}
