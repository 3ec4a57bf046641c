package sdnotify

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fakeSystemd is a notify socket like the one systemd listens on.
type fakeSystemd struct {
	t    *testing.T
	conn *net.UnixConn
}

func newFakeSystemd(t *testing.T, watchdog time.Duration) *fakeSystemd {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	t.Setenv("NOTIFY_SOCKET", path)
	if watchdog > 0 {
		t.Setenv("WATCHDOG_USEC", strconv.FormatInt(watchdog.Microseconds(), 10))
		t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()))
	} else {
		t.Setenv("WATCHDOG_USEC", "")
		os.Unsetenv("WATCHDOG_USEC")
	}
	return &fakeSystemd{t: t, conn: conn}
}

// next returns the next datagram, or "" when none arrives in time.
func (f *fakeSystemd) next(wait time.Duration) string {
	f.t.Helper()
	buf := make([]byte, 4096)
	if err := f.conn.SetReadDeadline(time.Now().Add(wait)); err != nil {
		f.t.Fatal(err)
	}
	n, err := f.conn.Read(buf)
	if err != nil {
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			return ""
		}
		f.t.Fatal(err)
	}
	return string(buf[:n])
}

func TestLifecycle(t *testing.T) {
	sd := newFakeSystemd(t, 10*time.Second)
	n, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	clock := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	n.now = func() time.Time { return clock }
	if n.WatchdogInterval() != 10*time.Second || n.PetInterval() != 5*time.Second {
		t.Fatalf("intervals %v %v", n.WatchdogInterval(), n.PetInterval())
	}

	steps := []struct {
		do   func() error
		want string // "" = nothing sent
	}{
		{n.Ready, "READY=1"},
		{func() error { return n.Status("replaying 3 records") }, "STATUS=replaying 3 records"},
		{n.Pet, "WATCHDOG=1"},
		// The main loop spins: pets within a quarter interval are skipped.
		{func() error { clock = clock.Add(time.Second); return n.Pet() }, ""},
		{func() error { clock = clock.Add(4 * time.Second); return n.Pet() }, "WATCHDOG=1"},
		{func() error { clock = clock.Add(5 * time.Second); return n.Pet() }, "WATCHDOG=1"},
		{n.Stopping, "STOPPING=1"},
	}
	for i, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		wait := time.Second
		if s.want == "" {
			wait = 50 * time.Millisecond
		}
		if got := sd.next(wait); got != s.want {
			t.Fatalf("step %d: systemd got %q, want %q", i, got, s.want)
		}
	}
}

func TestWatchdogOff(t *testing.T) {
	sd := newFakeSystemd(t, 0)
	n, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	if n.PetInterval() != 0 {
		t.Fatalf("PetInterval = %v with the watchdog off", n.PetInterval())
	}
	if err := n.Pet(); err != nil {
		t.Fatal(err)
	}
	if err := n.Ready(); err != nil {
		t.Fatal(err)
	}
	if got := sd.next(time.Second); got != "READY=1" {
		t.Fatalf("first message %q, want READY=1 (no WATCHDOG=1 with the watchdog off)", got)
	}
}

func TestWatchdogForAnotherPID(t *testing.T) {
	newFakeSystemd(t, 10*time.Second)
	t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()+1))
	n, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	if n.WatchdogInterval() != 0 {
		t.Fatalf("watchdog meant for another process enabled: %v", n.WatchdogInterval())
	}
}

func TestBadWatchdogEnv(t *testing.T) {
	newFakeSystemd(t, 0)
	for _, env := range [][2]string{
		{"soon", ""},
		{"0", ""},
		{"-5000000", ""},
		{"99999999999999999999", ""},
		{"10000000", "init"},
	} {
		t.Setenv("WATCHDOG_USEC", env[0])
		t.Setenv("WATCHDOG_PID", env[1])
		if _, err := New(nil); err == nil || !strings.HasPrefix(err.Error(), "sdnotify: watchdog settings: WATCHDOG_") {
			t.Errorf("WATCHDOG_USEC=%q WATCHDOG_PID=%q: err = %v", env[0], env[1], err)
		}
	}
}

func TestWatchdogFromEnv(t *testing.T) {
	const pid = 4242
	for _, c := range []struct {
		usec, pid string
		want      time.Duration
		bad       bool
	}{
		{usec: "", want: 0},
		{usec: "", pid: "4242", want: 0},
		{usec: "30000000", want: 30 * time.Second},
		{usec: "30000000", pid: "4242", want: 30 * time.Second},
		{usec: "1", want: time.Microsecond},
		{usec: "9223372036854775", want: 9223372036854775 * time.Microsecond},
		{usec: "30000000", pid: "4243", want: 0}, // another process's watchdog
		{usec: "30000000", pid: "1", want: 0},
		{usec: "0", bad: true},
		{usec: "-1", bad: true},
		{usec: "1.5", bad: true},
		{usec: "30s", bad: true},
		{usec: " 30000000", bad: true},
		{usec: "9223372036854776", bad: true}, // overflows time.Duration
		{usec: "99999999999999999999", bad: true},
		{usec: "30000000", pid: "init", bad: true},
		{usec: "30000000", pid: "-", bad: true},
	} {
		got, err := watchdogFromEnv(c.usec, c.pid, pid)
		if c.bad {
			if err == nil {
				t.Errorf("WATCHDOG_USEC=%q WATCHDOG_PID=%q: %v, want an error", c.usec, c.pid, got)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("WATCHDOG_USEC=%q WATCHDOG_PID=%q: %v, %v; want %v", c.usec, c.pid, got, err, c.want)
		}
	}
}

// A NOTIFY_SOCKET starting with '@' names a socket in the abstract
// namespace, as systemd passes it to services in some containers.
func TestAbstractSocket(t *testing.T) {
	name := fmt.Sprintf("holdup-sdnotify-test-%d-%d", os.Getpid(), time.Now().UnixNano())
	// Listen with the kernel's own spelling (a leading NUL byte), so the
	// test does not lean on the '@' translation it checks.
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: "\x00" + name, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	t.Setenv("NOTIFY_SOCKET", "@"+name)
	t.Setenv("WATCHDOG_USEC", "")
	n, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Status("cold replay"); err != nil {
		t.Fatal(err)
	}
	if err := n.Ready(); err != nil {
		t.Fatal(err)
	}
	sd := &fakeSystemd{t: t, conn: conn}
	for _, want := range []string{"STATUS=cold replay", "READY=1"} {
		if got := sd.next(time.Second); got != want {
			t.Fatalf("systemd got %q, want %q", got, want)
		}
	}
}

func TestBadNotifySocket(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "notify.sock") // neither a path nor '@'
	n, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Ready(); err == nil || !strings.Contains(err.Error(), `sdnotify: send "READY=1": NOTIFY_SOCKET="notify.sock"`) {
		t.Fatalf("err = %v", err)
	}
}

func TestOutsideSystemd(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	os.Unsetenv("NOTIFY_SOCKET")
	n, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []func() error{n.Ready, n.Pet, n.Stopping} {
		if err := f(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestSocketGone(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", filepath.Join(t.TempDir(), "missing.sock"))
	n, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Ready(); err == nil || !strings.Contains(err.Error(), `sdnotify: send "READY=1"`) {
		t.Fatalf("err = %v", err)
	}
}
