//go:build linux

package sched

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// threadIOPriority reads the calling thread's IO priority (ioprio_get(2)).
func threadIOPriority() (IOPriority, error) {
	r, _, e := unix.Syscall(unix.SYS_IOPRIO_GET, ioprioWhoProcess, 0, 0)
	if e != 0 {
		return IOPriority{}, e
	}
	return IOPriority{Class: IOClass(r >> 13), Level: uint8(r & 7)}, nil
}

// threadNice reads a thread's nice value from /proc/self/task/TID/stat
// (field 19, the 17th after the parenthesised command name).
func threadNice(tid int) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/self/task/%d/stat", tid))
	if err != nil {
		return 0, err
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 17 {
		return 0, fmt.Errorf("task %d stat: %d fields after the name", tid, len(f))
	}
	return strconv.Atoi(f[16])
}

// onThread runs fn on a new goroutine locked to a new OS thread that exits
// with it (never unlocked), so nothing fn sets reaches another goroutine.
func onThread(fn func() error) error {
	res := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		res <- fn()
	}()
	return <-res
}

// dropThreadPrivileges makes the calling (locked) thread an unprivileged
// user's: the raw setresuid changes this thread's credentials only (Go's
// syscall.Setresuid would change every thread's), and leaving uid 0 clears
// its capabilities. Already unprivileged: nothing to do.
func dropThreadPrivileges() error {
	if os.Geteuid() != 0 {
		return nil
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESUID, 65534, 65534, 65534); e != 0 {
		return fmt.Errorf("setresuid: %w", e)
	}
	return nil
}

// notPermitted: the kernel refused for want of privilege or support.
func notPermitted(err error) bool {
	return errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.ENOSYS)
}

func TestIOPriorityTable(t *testing.T) {
	for _, c := range []struct {
		c     Class
		i     Integrity
		want  IOPriority
		value int
		s     string
	}{
		{Control, Checked, IOPriority{IOClassBestEffort, 0}, 2 << 13, "best-effort/0"},
		{Control, Unchecked, IOPriority{IOClassBestEffort, 0}, 2 << 13, "best-effort/0"},
		{Collection, Checked, IOPriority{IOClassBestEffort, 2}, 2<<13 | 2, "best-effort/2"},
		{Collection, Unchecked, IOPriority{IOClassBestEffort, 6}, 2<<13 | 6, "best-effort/6"},
	} {
		p := IOPriorityFor(c.c, c.i)
		if p != c.want || p.value() != c.value || p.String() != c.s {
			t.Errorf("%v %v: %v (%#x), want %v (%#x %q)", c.c, c.i, p, p.value(), c.want, c.value, c.s)
		}
	}
	if (IOPriority{IOClassIdle, 0}).String() != "idle/0" || (IOPriority{IOClassRealtime, 3}).value() != 1<<13|3 {
		t.Error("encoding of idle/realtime")
	}
}

// The table's priorities are what an unprivileged thread may set (every
// best-effort level): applied on such a thread, ioprio_get reads each back,
// and no other thread is touched.
func TestThreadIOPriorityUnprivileged(t *testing.T) {
	var before IOPriority
	if err := onThread(func() (err error) { before, err = threadIOPriority(); return err }); err != nil {
		t.Skipf("ioprio_get unavailable here: %v", err)
	}
	for _, c := range []Class{Control, Collection} {
		for _, i := range []Integrity{Checked, Unchecked} {
			want := IOPriorityFor(c, i)
			var got IOPriority
			err := onThread(func() error {
				if err := dropThreadPrivileges(); err != nil {
					return err
				}
				if err := setThreadIOPriority(want); err != nil {
					return err
				}
				var err error
				got, err = threadIOPriority()
				return err
			})
			if notPermitted(err) {
				t.Skipf("ioprio_set refused here: %v", err)
			}
			if err != nil || got != want {
				t.Fatalf("%v %v: ioprio_get = %v, %v; want %v", c, i, got, err, want)
			}
		}
	}
	var after IOPriority
	if err := onThread(func() (err error) { after, err = threadIOPriority(); return err }); err != nil || after != before {
		t.Errorf("a fresh thread reads %v, %v; before %v: a priority leaked", after, err, before)
	}
}

// ApplyThreadIOPriority applies and logs; a refused priority is a warning.
func TestApplyThreadIOPriorityLogs(t *testing.T) {
	var rec recorder
	var got IOPriority
	want := IOPriorityFor(Collection, Checked)
	err := onThread(func() (err error) {
		ApplyThreadIOPriority(want, "test", rec.logger())
		got, err = threadIOPriority()
		return err
	})
	if err != nil {
		t.Skipf("ioprio_get unavailable: %v", err)
	}
	if got != want || rec.count("IO priority applied") != 1 {
		t.Errorf("got %v, log %q; want %v applied and logged", got, rec.msgs(), want)
	}
	// Realtime without privilege is refused and logged, not fatal.
	rec = recorder{}
	err = onThread(func() error {
		if err := dropThreadPrivileges(); err != nil {
			return err
		}
		ApplyThreadIOPriority(IOPriority{IOClassRealtime, 0}, "test", rec.logger())
		return nil
	})
	if err != nil {
		t.Skip(err)
	}
	if rec.count("IO priority not applied") != 1 {
		t.Errorf("realtime on an unprivileged thread: log %q, want one warning", rec.msgs())
	}
}

// An unprivileged thread may raise its nice value (lower its priority), not
// lower it below the process's RLIMIT_NICE; /proc/self/task/TID/stat reads
// back what was set.
func TestThreadNiceUnprivileged(t *testing.T) {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NICE, &lim); err != nil {
		t.Fatal(err)
	}
	var base, raised int
	var lowerErr error
	err := onThread(func() error {
		tid := unix.Gettid()
		var err error
		if base, err = threadNice(tid); err != nil {
			return err
		}
		if err := dropThreadPrivileges(); err != nil {
			return err
		}
		if err := setThreadNice(base + 3); err != nil {
			return err
		}
		if raised, err = threadNice(tid); err != nil {
			return err
		}
		lowerErr = setThreadNice(ControlNice)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if raised != base+3 {
		t.Errorf("nice %d after setting %d", raised, base+3)
	}
	// Without CAP_SYS_NICE the floor is 20 - RLIMIT_NICE.
	floor := 20 - int(lim.Cur)
	if floor > ControlNice && lowerErr == nil {
		t.Errorf("nice %d set with RLIMIT_NICE %d (floor %d) and no privilege", ControlNice, lim.Cur, floor)
	}
	if floor <= ControlNice && lowerErr != nil {
		t.Errorf("nice %d refused within RLIMIT_NICE %d: %v", ControlNice, lim.Cur, lowerErr)
	}
}

// ApplyThreadNice at ControlNice reads back when permitted (CAP_SYS_NICE or
// the unit's LimitNICE); other threads keep theirs.
func TestApplyThreadNice(t *testing.T) {
	var rec recorder
	var got, tid int
	err := onThread(func() (err error) {
		tid = unix.Gettid()
		ApplyThreadNice(ControlNice, "test", rec.logger())
		got, err = threadNice(tid)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if rec.count("CPU priority not applied") == 1 {
		t.Skipf("nice %d not permitted here (no CAP_SYS_NICE, RLIMIT_NICE too low): %q", ControlNice, rec.msgs())
	}
	if got != ControlNice || rec.count("CPU priority applied") != 1 {
		t.Errorf("nice %d, log %q; want %d applied", got, rec.msgs(), ControlNice)
	}
	if n, err := threadNice(unix.Getpid()); err != nil || n == ControlNice {
		t.Errorf("main thread nice %d, %v: the priority leaked", n, err)
	}
}

// Functions given to an IOThread all run on its one thread, which carries
// the priority; Do honours ctx and Close.
func TestIOThread(t *testing.T) {
	want := IOPriorityFor(Collection, Checked)
	var rec recorder
	th := StartIOThread(want, "test writer", rec.logger())
	tids := map[int]bool{}
	for range 3 {
		var got IOPriority
		var err error
		if derr := th.Do(context.Background(), func() {
			tids[unix.Gettid()] = true
			got, err = threadIOPriority()
		}); derr != nil {
			t.Fatal(derr)
		}
		if err != nil || got != want {
			t.Errorf("IO thread priority %v, %v; want %v (log %q)", got, err, want, rec.msgs())
		}
	}
	if len(tids) != 1 {
		t.Errorf("Do ran on threads %v, want one", tids)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ran := false
	// The thread may take fn or see ctx first: either fn ran or ctx's error.
	if err := th.Do(ctx, func() { ran = true }); err != nil && (!errors.Is(err, context.Canceled) || ran) {
		t.Errorf("Do with a cancelled ctx: %v (ran %v)", err, ran)
	}
	if err := th.Close(); err != nil {
		t.Fatal(err)
	}
	_ = th.Close() // twice is fine
	if err := th.Do(context.Background(), func() { t.Error("ran after Close") }); !errors.Is(err, ErrStopped) {
		t.Errorf("Do after Close: %v, want ErrStopped", err)
	}
}

// The owner of an interface with control points runs on its own thread at
// ControlNice (when permitted; logged once for all owners either way); an
// interface without runs at the process's nice value.
func TestControlOwnersNice(t *testing.T) {
	permitted := onThread(func() error { return setThreadNice(ControlNice) }) == nil
	var base int
	if err := onThread(func() (err error) { base, err = threadNice(unix.Gettid()); return err }); err != nil {
		t.Fatal(err)
	}
	var rec recorder
	s, err := New(Config{Devices: []Device{
		{Name: "breaker", Interface: "/dev/ttyS1", Control: true},
		{Name: "relay", Interface: "gpiochip0", Control: true},
		{Name: "meter", Interface: "/dev/ttyS2"},
	}, Logger: rec.logger()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = s.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	nice := func(dev string, c Class) (tid, n int) {
		t.Helper()
		var err error
		if _, derr := s.Do(ctx, Op{Device: dev, Class: c, Run: func(context.Context) (Result, error) {
			tid = unix.Gettid()
			n, err = threadNice(tid)
			return Result{}, nil
		}}); derr != nil || err != nil {
			t.Fatal(derr, err)
		}
		return tid, n
	}
	wantCtl := base
	if permitted {
		wantCtl = ControlNice
	}
	tid1, n1 := nice("breaker", Control)
	tid1b, n1b := nice("breaker", Collection)
	_, n2 := nice("relay", Control)
	_, n3 := nice("meter", Collection)
	if n1 != wantCtl || n1b != wantCtl || n2 != wantCtl || tid1 != tid1b {
		t.Errorf("control owners: nice %d %d %d (threads %d %d), want %d on one thread each (permitted %v)", n1, n1b, n2, tid1, tid1b, wantCtl, permitted)
	}
	if n3 != base {
		t.Errorf("collection-only owner: nice %d, want %d", n3, base)
	}
	if c := rec.count("CPU priority"); c != 1 {
		t.Errorf("%d CPU priority log lines (%q), want 1", c, rec.msgs())
	}
}

// recorder collects log messages.
type recorder struct {
	mu   sync.Mutex
	list []string
}

func (r *recorder) logger() *slog.Logger { return slog.New(recHandler{r}) }

func (r *recorder) msgs() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.list...)
}

func (r *recorder) count(prefix string) int {
	n := 0
	for _, m := range r.msgs() {
		if strings.HasPrefix(m, prefix) {
			n++
		}
	}
	return n
}

type recHandler struct{ r *recorder }

func (h recHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h recHandler) Handle(_ context.Context, rec slog.Record) error {
	h.r.mu.Lock()
	defer h.r.mu.Unlock()
	h.r.list = append(h.r.list, rec.Message)
	return nil
}
func (h recHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h recHandler) WithGroup(string) slog.Handler      { return h }
