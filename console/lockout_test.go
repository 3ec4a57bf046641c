package console

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockConsole returns a Console on the fake daemon with the test password,
// clock and state file, logging into log (nil: discarded).
func lockConsole(t *testing.T, clock *fakeClock, path string, log *bytes.Buffer, opts Options) *Console {
	t.Helper()
	fd := &fakeDaemon{log: NewLogRing(4)}
	opts.State, opts.Actions = fd, fd
	opts.PasswordHash, opts.Now, opts.StatePath = testHash(t), clock.Now, path
	if log != nil {
		opts.Logger = slog.New(slog.NewTextHandler(log, nil))
	}
	c, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// session serves one stdio-style session typing lines and returns what the
// console printed.
func session(t *testing.T, c *Console, lines ...string) string {
	t.Helper()
	rw := &pipeRW{in: strings.NewReader(strings.Join(lines, "\n") + "\n")}
	if err := c.Serve(context.Background(), rw); err != nil {
		t.Fatalf("Serve: %v", err)
	}
	return rw.out.String()
}

// try makes one login attempt with password and returns the console's
// answer: "logged in", "login failed", "login failed; login locked for 1m0s"
// or "error: login locked for …".
func try(t *testing.T, c *Console, password string) string {
	t.Helper()
	out := strings.TrimPrefix(session(t, c, "login", password), "holdup console; type help\n"+prompt)
	out = strings.TrimPrefix(out, "password: ")
	out, _, _ = strings.Cut(out, "\n") // a refused login: the password follows as a command
	return out
}

func stateFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestLockoutBackoff: after LockoutFailures failures each failure locks
// login twice as long as the one before, up to LockoutMax; a success
// resets the count.
func TestLockoutBackoff(t *testing.T) {
	for _, stored := range []bool{false, true} {
		name := "in memory"
		path := ""
		if stored {
			name, path = "state file", filepath.Join(t.TempDir(), "console.state")
		}
		t.Run(name, func(t *testing.T) {
			clock := &fakeClock{now: t0}
			c := lockConsole(t, clock, path, nil, Options{LockoutFailures: 2, LockoutPeriod: time.Minute, LockoutMax: 4 * time.Minute})
			steps := []struct {
				wait     time.Duration
				password string
				want     string
			}{
				{0, "guess", "login failed"},
				{0, "guess", "login failed; login locked for 1m0s"},
				{59 * time.Second, testPassword, "error: login locked for 1s after repeated failures"},
				{time.Second, "guess", "login failed; login locked for 2m0s"},
				{2 * time.Minute, "guess", "login failed; login locked for 4m0s"},
				{4 * time.Minute, "guess", "login failed; login locked for 4m0s"}, // the cap
				{3 * time.Minute, testPassword, "error: login locked for 1m0s after repeated failures"},
				{time.Minute, testPassword, "logged in"},
				// The success reset it: two more failures before a lock,
				// and the lock starts again at one period.
				{0, "guess", "login failed"},
				{0, "guess", "login failed; login locked for 1m0s"},
			}
			for i, s := range steps {
				clock.Add(s.wait)
				c.auth.loggedIn = false // each step a fresh session
				if got := try(t, c, s.password); got != s.want {
					t.Fatalf("step %d (+%v, %q): %q, want %q", i, s.wait, s.password, got, s.want)
				}
			}
		})
	}
}

func TestLockoutDefaults(t *testing.T) {
	c := lockConsole(t, &fakeClock{now: t0}, "", nil, Options{})
	l := c.auth.lock
	if l.maxFailures != 5 || l.period != 5*time.Minute || l.max != 80*time.Minute {
		t.Fatalf("defaults %d %v %v, want 5, 5m, 80m (16 periods)", l.maxFailures, l.period, l.max)
	}
	for f, want := range map[int]time.Duration{0: 0, 4: 0, 5: 5 * time.Minute, 6: 10 * time.Minute,
		9: 80 * time.Minute, 10: 80 * time.Minute, 1 << 30: 80 * time.Minute} {
		if got := l.backoff(f); got != want {
			t.Errorf("backoff(%d) = %v, want %v", f, got, want)
		}
	}
	// A cap below the period is the period.
	c = lockConsole(t, &fakeClock{now: t0}, "", nil, Options{LockoutPeriod: time.Minute, LockoutMax: time.Second})
	if c.auth.lock.max != time.Minute {
		t.Errorf("max %v, want the period", c.auth.lock.max)
	}
}

// TestLockoutSurvivesRestart: a new Console on the same state file (the
// daemon restarted) keeps the lock and the failure count.
func TestLockoutSurvivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "console.state")
	clock := &fakeClock{now: t0}
	opts := Options{LockoutFailures: 3, LockoutPeriod: 5 * time.Minute}
	c := lockConsole(t, clock, path, nil, opts)
	for range 2 {
		try(t, c, "guess")
	}
	if got := try(t, c, "guess"); got != "login failed; login locked for 5m0s" {
		t.Fatalf("third failure: %q", got)
	}
	want := "holdup-console-lockout 1\nfailures 3\nlocked-until 2026-11-26T21:05:00Z\ncrc32 "
	if got := stateFile(t, path); !strings.HasPrefix(got, want) {
		t.Fatalf("state file:\n%s\nwant it to start\n%s", got, want)
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 2 {
		t.Errorf("state directory holds %v, want the state file and its lock file", entries)
	}

	clock.Add(2 * time.Minute)
	c = lockConsole(t, clock, path, nil, opts) // restarted
	if got := try(t, c, testPassword); got != "error: login locked for 3m0s after repeated failures" {
		t.Fatalf("after restart: %q", got)
	}
	clock.Add(3 * time.Minute)
	c = lockConsole(t, clock, path, nil, opts)
	// The count survived too: the next failure doubles the lock.
	if got := try(t, c, "guess"); got != "login failed; login locked for 10m0s" {
		t.Fatalf("fourth failure after restarts: %q", got)
	}
	clock.Add(10 * time.Minute)
	c = lockConsole(t, clock, path, nil, opts)
	if got := try(t, c, testPassword); got != "logged in" {
		t.Fatalf("login after the lock: %q", got)
	}
	if got := stateFile(t, path); !strings.Contains(got, "failures 0\n") {
		t.Errorf("state file after a success:\n%s", got)
	}
	c = lockConsole(t, clock, path, nil, opts)
	if got := try(t, c, "guess"); got != "login failed" {
		t.Errorf("first failure after a success and a restart: %q", got)
	}
}

// TestLockoutStateCorrupt: a state file that cannot be used is logged and
// locks login for one period, not longer; then it is replaced.
func TestLockoutStateCorrupt(t *testing.T) {
	good := string(encodeLockState(lockState{failures: 2}))
	for _, tc := range []struct {
		name    string
		content string // "dir": a directory where the file should be
	}{
		{"garbage", "\x00\xff\x13 not a state file"},
		{"empty", ""},
		{"truncated", good[:len(good)-5]},
		{"bit flipped", strings.Replace(good, "failures 2", "failures 0", 1)},
		{"crc of other content", "holdup-console-lockout 1\nfailures 0\nlocked-until -\n" + good[strings.Index(good, "crc32"):]},
		{"other version", strings.Replace(good, "lockout 1", "lockout 2", 1)},
		{"negative", string(encodeLockState(lockState{failures: -1}))},
		{"huge", strings.Repeat("x", 1<<20)},
		{"unreadable", "dir"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "console.state")
			var err error
			if tc.content == "dir" {
				err = os.Mkdir(path, 0o700)
			} else {
				err = os.WriteFile(path, []byte(tc.content), 0o600)
			}
			if err != nil {
				t.Fatal(err)
			}
			clock := &fakeClock{now: t0}
			var log bytes.Buffer
			c := lockConsole(t, clock, path, &log, Options{LockoutFailures: 3, LockoutPeriod: time.Minute})
			if !strings.Contains(log.String(), "lockout state unusable; login locked for one lockout period") {
				t.Errorf("not reported; log:\n%s", log.String())
			}
			if got := try(t, c, testPassword); got != "error: login locked for 1m0s after repeated failures" {
				t.Fatalf("login with a corrupt state file: %q", got)
			}
			if tc.content != "dir" {
				if _, err := readLockState(path); err != nil {
					t.Errorf("state file not replaced: %v", err)
				}
			} else if !strings.Contains(log.String(), "write lockout state") {
				t.Errorf("failed write not reported; log:\n%s", log.String())
			}
			// Not forever: after one period the password works.
			clock.Add(time.Minute)
			if got := try(t, c, testPassword); got != "logged in" {
				t.Fatalf("login one period later: %q", got)
			}
		})
	}
}

// TestLockoutClockSetBack: a lock that ends further away than LockoutMax
// (the clock went back, or the file says so) ends LockoutMax from now.
func TestLockoutClockSetBack(t *testing.T) {
	path := filepath.Join(t.TempDir(), "console.state")
	if err := writeLockState(path, lockState{failures: 9, lockedUntil: t0.AddDate(1, 0, 0)}); err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{now: t0}
	c := lockConsole(t, clock, path, nil, Options{LockoutFailures: 3, LockoutPeriod: time.Minute, LockoutMax: 8 * time.Minute})
	if got := try(t, c, testPassword); got != "error: login locked for 8m0s after repeated failures" {
		t.Fatalf("far lock: %q", got)
	}
	clock.Add(4 * time.Minute)
	if got := try(t, c, testPassword); got != "error: login locked for 4m0s after repeated failures" {
		t.Fatalf("far lock 4 minutes on: %q", got)
	}
	clock.Add(4 * time.Minute)
	if got := try(t, c, testPassword); got != "logged in" {
		t.Fatalf("after the cap: %q", got)
	}
}

// TestLockoutConcurrentConsoles: Consoles sharing a state file share the
// lockout; guessing on several at once gets no more attempts than on one.
func TestLockoutConcurrentConsoles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "console.state")
	clock := &fakeClock{now: t0}
	opts := Options{LockoutFailures: 3, LockoutPeriod: time.Minute}
	const consoles, guesses = 6, 5
	cs := make([]*Console, consoles)
	for i := range cs {
		cs[i] = lockConsole(t, clock, path, nil, opts)
	}
	outs := make([]string, consoles)
	var wg sync.WaitGroup
	for i, c := range cs {
		wg.Go(func() {
			rw := &pipeRW{in: strings.NewReader(strings.Repeat("login\nguess\n", guesses))}
			if err := c.Serve(context.Background(), rw); err != nil {
				t.Errorf("Serve: %v", err)
			}
			outs[i] = rw.out.String()
		})
	}
	wg.Wait()
	all := strings.Join(outs, "")
	if n := strings.Count(all, "login failed"); n != opts.LockoutFailures {
		t.Errorf("%d passwords checked across %d consoles, want %d:\n%s", n, consoles, opts.LockoutFailures, all)
	}
	if n := strings.Count(all, "login failed; login locked for 1m0s"); n != 1 {
		t.Errorf("%d lock messages, want one:\n%s", n, all)
	}
	// Every console sees the lock.
	for i, c := range cs {
		if got := try(t, c, testPassword); !strings.HasPrefix(got, "error: login locked") {
			t.Errorf("console %d: %q", i, got)
		}
	}
}

// TestLockoutAttemptCountsFirst: an attempt counts as a failure while its
// password is checked, so a second session cannot slip attempts in during
// the check; a success undoes it.
func TestLockoutAttemptCountsFirst(t *testing.T) {
	path := filepath.Join(t.TempDir(), "console.state")
	clock := &fakeClock{now: t0}
	log := slog.New(slog.DiscardHandler)
	a := newLockout(path, 3, time.Minute, 16*time.Minute, clock.Now, log)
	b := newLockout(path, 3, time.Minute, 16*time.Minute, clock.Now, log)
	for range 2 {
		if at := b.begin(); at.refused != 0 {
			t.Fatalf("refused: %+v", at)
		}
	}
	if at := a.begin(); at.refused != 0 || at.failures != 3 || at.ifFailed != time.Minute {
		t.Fatalf("third attempt: %+v", at)
	}
	// While a's password is checked, b is locked out.
	if at := b.begin(); at.refused != time.Minute {
		t.Fatalf("b during a's check: %+v", at)
	}
	a.succeed()
	if d := b.lockedFor(); d != 0 {
		t.Errorf("b locked for %v after a's success", d)
	}
	if at := b.begin(); at.failures != 1 {
		t.Errorf("b after a's success: %+v, want the first failure", at)
	}
}

func TestLockStateFormat(t *testing.T) {
	for _, st := range []lockState{
		{},
		{failures: 7, lockedUntil: t0.Add(90 * time.Second)},
		{failures: 1, lockedUntil: time.Date(2026, 11, 26, 21, 0, 0, 5, time.FixedZone("UTC+8", 8*3600))},
	} {
		b := encodeLockState(st)
		got, err := decodeLockState(b)
		if err != nil || got.failures != st.failures || !got.lockedUntil.Equal(st.lockedUntil) {
			t.Errorf("%+v: decoded %+v, %v from\n%s", st, got, err, b)
		}
	}
	want := "holdup-console-lockout 1\nfailures 0\nlocked-until -\ncrc32 "
	if got := string(encodeLockState(lockState{})); !strings.HasPrefix(got, want) || len(got) != len(want)+9 {
		t.Errorf("encoded %q", got)
	}
}

func FuzzDecodeLockState(f *testing.F) {
	f.Add(encodeLockState(lockState{}))
	f.Add(encodeLockState(lockState{failures: 7, lockedUntil: t0}))
	f.Add([]byte("holdup-console-lockout 1\nfailures x\ncrc32 0\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := decodeLockState(b)
		if err != nil {
			return
		}
		if st.failures < 0 {
			t.Fatalf("negative failures from %q", b)
		}
		again, err := decodeLockState(encodeLockState(st))
		if err != nil || again.failures != st.failures || !again.lockedUntil.Equal(st.lockedUntil) {
			t.Fatalf("%+v re-encoded decodes to %+v, %v", st, again, err)
		}
	})
}
