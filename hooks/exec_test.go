package hooks

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// wait is how long a test waits for something that happens at once
// unless the code is broken; it is never a measurement.
const wait = 20 * time.Second

// script writes an executable shell script running body into dir; $d in
// body is dir.
func script(t *testing.T, dir, body string) string {
	t.Helper()
	p := filepath.Join(dir, "hook.sh")
	if err := os.WriteFile(p, []byte("#!/bin/sh\nd='"+dir+"'\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// recorder is a hook script that keeps argv, environment and stdin of
// each run as $d/SEQ.argv, SEQ.env and SEQ.json.
const recorder = `printf '%s\n' "$#" "$@" > "$d/$HOLDUP_SEQ.argv"
env > "$d/$HOLDUP_SEQ.env"
cat > "$d/$HOLDUP_SEQ.json"
`

// start runs h until the test ends and returns a channel of its outcomes.
func start(t *testing.T, cfg Config) (*Hooks, <-chan Outcome) {
	t.Helper()
	out := make(chan Outcome, 64)
	cfg.Observe = func(o Outcome) { out <- o }
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = h.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return h, out
}

func next(t *testing.T, out <-chan Outcome) Outcome {
	t.Helper()
	select {
	case o := <-out:
		return o
	case <-time.After(wait):
		t.Fatal("no hook outcome")
		return Outcome{}
	}
}

func readEvent(t *testing.T, path string) Event {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(string(b), "}\n") || strings.Count(string(b), "\n") != 1 {
		t.Errorf("%s: stdin is not one JSON object and a newline: %q", path, b)
	}
	var e Event
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return e
}

// sampleEvents are one event of each kind, carrying what such an event
// carries.
func sampleEvents() []Event {
	at := time.Date(2026, 3, 1, 12, 0, 0, 250e6, time.UTC)
	begin := at.Add(-time.Second)
	v := []float64{231.5, 229.75, 230}
	return []Event{
		{Kind: PowerFail, Time: at, MainsV: v, MainsVAt: at.Add(-time.Minute), BudgetLeftS: 180, JournalUsed: 100, JournalSize: 32768, JournalFillPct: 0.3, Detail: "2 device(s) gated"},
		{Kind: OutageConfirmed, Time: at, OutageID: 17, OutageBegin: begin, MainsV: []float64{12, 0, 0}, MainsVAt: at, BudgetLeftS: 179, Confirmed: Bool(true)},
		{Kind: Blip, Time: at, Detail: "line back within settle"},
		{Kind: BudgetLow, Time: at, OutageID: 17, OutageBegin: begin, BudgetLeftS: 30, Detail: "30s left by the configured hold-up time"},
		{Kind: Shutdown, Time: at, OutageID: 17, OutageBegin: begin, BudgetLeftS: 25, Detail: "systemctl poweroff"},
		{Kind: PowerRestored, Time: at, OutageID: 17, OutageBegin: begin, Confirmed: Bool(false), Cold: Bool(true)},
		{Kind: RecoveryComplete, Time: at, OutageID: 17, OutageBegin: begin, Cold: Bool(false), Detail: "recovery complete"},
		{Kind: Alarm, Time: at, Alarm: "journal", Detail: "journal full"},
	}
}

func TestExecEachEvent(t *testing.T) {
	t.Setenv("HOLDUP_CANARY", "daemon secret")
	dir := t.TempDir()
	h, out := start(t, Config{Exec: script(t, dir, recorder)})
	events := sampleEvents()
	for _, e := range events {
		h.Emit(e)
	}
	for i, e := range events {
		t.Run(string(e.Kind), func(t *testing.T) {
			o := next(t, out)
			seq := uint64(i + 1)
			if o.Err != nil || o.Sink != "exec" || o.Event.Seq != seq || o.Event.Kind != e.Kind {
				t.Fatalf("outcome %+v, want %s seq %d delivered", o, e.Kind, seq)
			}
			argv, err := os.ReadFile(filepath.Join(dir, fmt.Sprint(seq)+".argv"))
			if err != nil {
				t.Fatal(err)
			}
			if want := "1\n" + string(e.Kind) + "\n"; string(argv) != want {
				t.Errorf("argv = %q, want %q", argv, want)
			}
			got := readEvent(t, filepath.Join(dir, fmt.Sprint(seq)+".json"))
			want := e
			want.Seq = seq
			if want.MainsV == nil {
				want.MainsV = []float64{}
			}
			gb, _ := json.Marshal(got)
			wb, _ := json.Marshal(want)
			if string(gb) != string(wb) {
				t.Errorf("stdin event\n got %s\nwant %s", gb, wb)
			}
			env, err := os.ReadFile(filepath.Join(dir, fmt.Sprint(seq)+".env"))
			if err != nil {
				t.Fatal(err)
			}
			vars := strings.Split(strings.TrimSpace(string(env)), "\n")
			for _, w := range []string{"PATH=" + hookPath, "HOLDUP_EVENT=" + string(e.Kind), fmt.Sprintf("HOLDUP_SEQ=%d", seq)} {
				if !slices.Contains(vars, w) {
					t.Errorf("environment lacks %s: %q", w, vars)
				}
			}
			for _, v := range vars {
				if strings.HasPrefix(v, "HOLDUP_CANARY") || strings.HasPrefix(v, "HOME=") {
					t.Errorf("the daemon's environment leaked into the hook: %s", v)
				}
			}
		})
	}
	st := h.Stats()
	if st.Emitted != uint64(len(events)) || st.Exec == nil || st.Exec.Delivered != uint64(len(events)) || st.Exec.Failed != 0 || st.MQTT != nil {
		t.Errorf("stats = %+v (exec %+v)", st, st.Exec)
	}
}

// procGone reports whether pid has exited (gone or a zombie nobody reaped).
func procGone(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || strings.HasPrefix(s[i+1:], " Z") || strings.HasPrefix(s[i+1:], " X")
}

func TestExecTimeoutKillsTheGroup(t *testing.T) {
	dir := t.TempDir()
	// A blip hangs in a child of the script (same process group); every
	// other event is recorded.
	body := `if [ "$1" = blip ]; then sleep 600 & echo $! > "$d/child"; wait; fi
` + recorder
	h, out := start(t, Config{Exec: script(t, dir, body), Timeout: 300 * time.Millisecond})
	h.Emit(Event{Kind: Blip})
	h.Emit(Event{Kind: Alarm, Alarm: "journal"})
	o := next(t, out)
	if o.Event.Kind != Blip || !errors.Is(o.Err, ErrTimeout) {
		t.Fatalf("hanging hook: outcome %+v, want a timeout", o)
	}
	o = next(t, out)
	if o.Event.Kind != Alarm || o.Err != nil {
		t.Fatalf("the hook after the hanging one: outcome %+v, want delivered", o)
	}
	if e := readEvent(t, filepath.Join(dir, "2.json")); e.Kind != Alarm || e.Alarm != "journal" {
		t.Errorf("second hook read %+v", e)
	}
	st := h.Stats().Exec
	if st.Failed != 1 || st.TimedOut != 1 || st.Delivered != 1 {
		t.Errorf("exec stats = %+v, want 1 failed (timed out), 1 delivered", st)
	}
	b, err := os.ReadFile(filepath.Join(dir, "child"))
	if err != nil {
		t.Fatal(err)
	}
	var pid int
	if _, err := fmt.Sscan(string(b), &pid); err != nil {
		t.Fatal(err)
	}
	// SIGKILL went to the group before the script's wait returned; the
	// kernel finishes the child off at once.
	deadline := time.Now().Add(wait)
	for !procGone(pid) {
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("the hook's child %d survived the timeout", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestExecFailuresCounted(t *testing.T) {
	dir := t.TempDir()
	notExec := filepath.Join(dir, "plain.sh")
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		path  string
		want  error
		field func(*SinkStats) uint64
	}{
		{"missing program", filepath.Join(dir, "missing"), ErrSpawn, func(s *SinkStats) uint64 { return s.SpawnErrors }},
		{"not executable", notExec, ErrSpawn, func(s *SinkStats) uint64 { return s.SpawnErrors }},
		{"exit status", script(t, dir, "cat >/dev/null; echo broken >&2; exit 3\n"), ErrExit, func(s *SinkStats) uint64 { return s.ExitErrors }},
		{"killed by a signal", script(t, dir, "kill -TERM $$\n"), ErrExit, func(s *SinkStats) uint64 { return s.ExitErrors }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h, out := start(t, Config{Exec: c.path})
			h.Emit(Event{Kind: PowerFail})
			h.Emit(Event{Kind: Blip})
			for _, k := range []Kind{PowerFail, Blip} {
				o := next(t, out)
				if o.Event.Kind != k || !errors.Is(o.Err, c.want) {
					t.Errorf("%s: outcome %+v, want %v", k, o, c.want)
				}
			}
			st := h.Stats().Exec
			if st.Failed != 2 || c.field(st) != 2 || st.Delivered != 0 || st.TimedOut != 0 {
				t.Errorf("stats = %+v", st)
			}
		})
	}
	h, out := start(t, Config{Exec: script(t, dir, "echo broken >&2; exit 3\n")})
	h.Emit(Event{Kind: Blip})
	if o := next(t, out); !strings.Contains(o.Err.Error(), "exit status 3") || !strings.Contains(o.Err.Error(), "broken") {
		t.Errorf("error %q should name the status and the output", o.Err)
	}
}

func TestExecQueueFullDropsOldest(t *testing.T) {
	dir := t.TempDir()
	started, gate := filepath.Join(dir, "started"), filepath.Join(dir, "gate")
	for _, f := range []string{started, gate} {
		if err := syscall.Mkfifo(f, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// The first hook says it started, then waits for the gate.
	body := `if [ "$HOLDUP_SEQ" = 1 ]; then echo started > "$d/started"; read x < "$d/gate"; fi
` + recorder
	h, out := start(t, Config{Exec: script(t, dir, body), QueueLen: 2})
	h.Emit(Event{Kind: PowerFail})
	r, err := os.Open(started) // blocks until the hook opens it
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bufio.NewReader(r).ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	r.Close()
	// The first event is out of the queue; four more fit two places.
	for _, k := range []Kind{OutageConfirmed, BudgetLow, Shutdown, PowerRestored} {
		h.Emit(Event{Kind: k})
	}
	if st := h.Stats().Exec; st.Dropped != 2 || st.Queued != 2 {
		t.Errorf("with the first hook running: stats %+v, want 2 dropped, 2 queued", st)
	}
	w, err := os.OpenFile(gate, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(w, "go")
	w.Close()
	var ran []Kind
	for range 3 {
		o := next(t, out)
		if o.Err != nil {
			t.Errorf("%s: %v", o.Event.Kind, o.Err)
		}
		ran = append(ran, o.Event.Kind)
	}
	// The oldest were dropped: the newest say what is happening now.
	if want := []Kind{PowerFail, Shutdown, PowerRestored}; !slices.Equal(ran, want) {
		t.Errorf("ran %v, want %v", ran, want)
	}
	if e := readEvent(t, filepath.Join(dir, "4.json")); e.Kind != Shutdown || e.Dropped != 2 {
		t.Errorf("first event after the drop: %+v, want shutdown with dropped 2", e)
	}
	if e := readEvent(t, filepath.Join(dir, "5.json")); e.Dropped != 0 {
		t.Errorf("dropped counted twice: %+v", e)
	}
	if st := h.Stats(); st.Emitted != 5 || st.Exec.Delivered != 3 || st.Exec.Dropped != 2 || st.Exec.Queued != 0 {
		t.Errorf("stats %+v exec %+v", st, st.Exec)
	}
}

func TestExecStopKillsRunningHook(t *testing.T) {
	dir := t.TempDir()
	started := filepath.Join(dir, "started")
	if err := syscall.Mkfifo(started, 0o600); err != nil {
		t.Fatal(err)
	}
	out := make(chan Outcome, 4)
	h, err := New(Config{Exec: script(t, dir, `echo started > "$d/started"; exec sleep 600`+"\n"), Timeout: time.Hour,
		Observe: func(o Outcome) { out <- o }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- h.Run(ctx) }()
	h.Emit(Event{Kind: Shutdown})
	b, err := os.ReadFile(started)
	if err != nil || string(b) != "started\n" {
		t.Fatalf("hook did not start: %q %v", b, err)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(wait):
		t.Fatal("Run did not return while a hook ran")
	}
	if o := next(t, out); !errors.Is(o.Err, ErrStopped) {
		t.Errorf("outcome %+v, want stopped", o)
	}
	if st := h.Stats().Exec; st.Failed != 0 || st.Delivered != 0 {
		t.Errorf("a stop is no failure: %+v", st)
	}
}
