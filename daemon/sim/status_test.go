package sim

import (
	"encoding/json"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"holdup/config"
	"holdup/daemon"
	"holdup/power"
)

// askStatus reads one report from the status socket at path, retrying
// while the daemon starts.
func askStatus(t *testing.T, path string) daemon.StatusReport {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("unix", path)
		if err == nil {
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			raw, err := io.ReadAll(c)
			c.Close()
			if err != nil {
				t.Fatalf("reading %s: %v", path, err)
			}
			var r daemon.StatusReport
			if err := json.Unmarshal(raw, &r); err != nil {
				t.Fatalf("answer %q: %v", raw, err)
			}
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("no status socket at %s: %v", path, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestStatusSocket: the daemon answers on its status socket (owner only)
// with mains normal, then, after the mains is cut, with the outage and
// the outage being protected; a stale socket file left by a
// crashed daemon is replaced; the socket is gone when the daemon stops.
func TestStatusSocket(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "holdup.sock")
	// A stale socket: bound, then left behind without a listener.
	stale, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	stale.SetUnlinkOnClose(false)
	stale.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("stale socket not left behind: %v", err)
	}

	s := startSim(t, dir, nil)
	r := askStatus(t, path)
	if r.Power != "normal" || r.OutageOpen || r.DataStore != "open" || r.JournalSize == 0 || r.HoldupBudgetS <= 0 || len(r.Devices) != 4 {
		t.Fatalf("before the loss: %+v", r)
	}
	if r.AlarmReportsPending == nil || *r.AlarmReportsPending < 0 {
		t.Errorf("alarm_reports_pending %v with an uplink configured, want a count", r.AlarmReportsPending)
	}
	for _, dv := range r.Devices {
		if dv.Gated || dv.Name == "" || dv.State == "" {
			t.Errorf("device before the loss: %+v", dv)
		}
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket mode %v, want a socket with 0600", fi.Mode())
	}
	if al := s.alarms(); strings.Contains(al, "status-socket") {
		t.Errorf("status socket alarm with only a stale socket in the way:\n%s", al)
	}

	after := s.d.Timeline().Last()
	if err := s.rig.SetMains(false); err != nil {
		t.Fatal(err)
	}
	s.wait(t, power.StepModulesInvalid, after)
	r = askStatus(t, path)
	if r.Power != "outage" || !r.OutageOpen || r.OutageSince.IsZero() || r.OutageKind != "confirmed" || r.JournalRecords == 0 {
		t.Fatalf("during the outage: %+v", r)
	}
	// The journal's capacity for the sim's workload (check-config's N)
	// and the seconds of it still fitting beside the records held.
	if r.JournalCapacityRecords <= r.JournalRecords || r.JournalEstimateS == nil ||
		*r.JournalEstimateS <= 0 || *r.JournalEstimateS >= float64(r.JournalCapacityRecords)/0.3 {
		t.Errorf("journal capacity %d records, %d held, estimate %v s: want the seconds left of 0.3 records/s", r.JournalCapacityRecords, r.JournalRecords, r.JournalEstimateS)
	}
	if r.HoldupLeftS > r.HoldupBudgetS {
		t.Errorf("hold-up left %v above the budget %v", r.HoldupLeftS, r.HoldupBudgetS)
	}
	gated := 0
	for _, dv := range r.Devices {
		if dv.Gated {
			gated++
			if dv.State != "gated" {
				t.Errorf("gated device in state %q", dv.State)
			}
		}
	}
	if gated == 0 {
		t.Errorf("no device gated during the outage: %+v", r.Devices)
	}

	s.stop(t)
	if _, err := os.Lstat(path); !os.IsNotExist(err) {
		t.Errorf("socket left after the daemon stopped: %v", err)
	}
}

// TestStatusSocketTaken: a second daemon whose socket a live one holds
// raises an alarm naming it and protects on; the first still answers.
func TestStatusSocketTaken(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "holdup.sock")
	first := startSim(t, dir, nil)
	askStatus(t, path)
	second := startSim(t, t.TempDir(), func(cfg *config.Config, _ *daemon.Hardware) { cfg.Status.Socket = path })
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(second.alarms(), "another holdup answers") {
		if time.Now().After(deadline) {
			t.Fatalf("no alarm for the taken socket:\n%s", second.alarms())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if r := askStatus(t, path); r.Power != "normal" {
		t.Errorf("first daemon: %+v", r)
	}
	second.stop(t)
	if _, err := os.Stat(path); err != nil {
		t.Errorf("the second daemon removed the first one's socket: %v", err)
	}
	first.stop(t)
}
