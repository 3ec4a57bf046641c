package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"holdup/daemon"
)

// TestStatusCommand: `holdup status` against a running sim daemon prints
// aligned text within 80 columns, and with -json the daemon's one JSON
// object; without a daemon it exits 1 naming the socket.
func TestStatusCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sock := filepath.Join(dir, "holdup.sock")
	code, _, errOut := run(t, "status", "-socket", sock)
	if want := "holdup status: no daemon at " + sock + ": connect: no such file or directory"; code != 1 || strings.TrimSpace(errOut) != want {
		t.Fatalf("no daemon: exit %d, %q, want %q", code, errOut, want)
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var dlog bytes.Buffer
	go func() {
		done <- dispatch(ctx, []string{"run", "-config", "testdata/sim.toml", "-sim-dir", dir, "-console", "none"}, &bytes.Buffer{}, &dlog)
	}()
	defer func() {
		cancel()
		select {
		case c := <-done:
			if c != 0 {
				t.Errorf("daemon exit %d", c)
			}
		case <-time.After(20 * time.Second):
			t.Error("daemon did not stop within 20 s")
		}
	}()

	var out string
	deadline := time.Now().Add(15 * time.Second)
	for {
		code, out, errOut = run(t, "status", "-socket", sock)
		if code == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status: exit %d, %q", code, errOut)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, want := range []string{"power     normal since", "hold-up   ", "journal   ", "store     open", "devices   sim-"} {
		if !strings.Contains(out, want) {
			t.Errorf("text lacks %q:\n%s", want, out)
		}
	}
	for _, l := range strings.Split(out, "\n") {
		if n := len([]rune(l)); n > 80 {
			t.Errorf("line of %d columns: %q", n, l)
		}
	}

	// -config finds the socket where the configuration puts it.
	raw, err := os.ReadFile("testdata/sim.toml")
	if err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "status.toml")
	if err := os.WriteFile(cfgPath, append(raw, "\n[status]\nsocket = \""+sock+"\"\n"...), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = run(t, "status", "-json", "-config", cfgPath)
	var r daemon.StatusReport
	if code != 0 || json.Unmarshal([]byte(out), &r) != nil || r.JournalSize == 0 || len(r.Devices) == 0 || strings.Count(strings.TrimSpace(out), "\n") != 0 {
		t.Fatalf("-json: exit %d, %q %q", code, out, errOut)
	}
	var m map[string]any
	_ = json.Unmarshal([]byte(out), &m)
	for _, k := range []string{"power", "since", "mains_v", "holdup_left_s", "holdup_budget_s", "outage_open", "journal_used", "journal_size", "journal_records", "data_store", "devices", "alarms"} {
		if _, ok := m[k]; !ok {
			t.Errorf("-json lacks %q: %s", k, out)
		}
	}
}
