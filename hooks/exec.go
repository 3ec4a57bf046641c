package hooks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"strconv"
	"sync"
	"time"
)

// hookPath is the PATH the program gets: the system's directories, nothing
// of the daemon's own environment.
const hookPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// outputTail is how much of the program's output (stdout and stderr
// together) is kept for the log.
const outputTail = 512

// waitDelay bounds the wait for the program's output pipes after it exited
// or was killed (a child outside its process group may hold them).
const waitDelay = time.Second

// execSink runs the program once per event.
type execSink struct {
	path    string
	timeout time.Duration
	log     *slog.Logger
}

func newExecSink(path string, timeout time.Duration, log *slog.Logger) *execSink {
	return &execSink{path: path, timeout: timeout, log: log}
}

func (x *execSink) name() string                        { return "exec" }
func (x *execSink) start(context.Context) (stop func()) { return func() {} }
func (x *execSink) connected() *bool                    { return nil }

// deliver runs `path KIND` with the event on stdin, in a process group of
// its own that is killed whole at the timeout or when ctx ends.
func (x *execSink) deliver(ctx context.Context, e Event) error {
	rctx, cancel := context.WithTimeout(ctx, x.timeout)
	defer cancel()
	cmd := exec.CommandContext(rctx, x.path, string(e.Kind))
	cmd.Env = []string{"PATH=" + hookPath, "HOLDUP_EVENT=" + string(e.Kind), "HOLDUP_SEQ=" + strconv.FormatUint(e.Seq, 10)}
	cmd.Dir = "/"
	cmd.Stdin = bytes.NewReader(e.encode())
	out := &tail{max: outputTail}
	cmd.Stdout, cmd.Stderr = out, out
	ownGroup(cmd)
	cmd.WaitDelay = waitDelay
	started := time.Now()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%w: %s %s: %w", ErrSpawn, x.path, e.Kind, err)
	}
	err := cmd.Wait()
	took := time.Since(started)
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("%w: %s %s (seq %d) killed after %v", ErrStopped, x.path, e.Kind, e.Seq, took.Round(time.Millisecond))
	case errors.Is(rctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("%w: %s %s (seq %d) ran past %v and was killed with its process group; output: %q",
			ErrTimeout, x.path, e.Kind, e.Seq, x.timeout, out.String())
	case err != nil:
		return fmt.Errorf("%w: %s %s (seq %d): %w; output: %q", ErrExit, x.path, e.Kind, e.Seq, err, out.String())
	}
	x.log.Debug("hook ran", "event", e.Kind, "seq", e.Seq, "took", took, "output", out.String())
	return nil
}

// tail keeps the last max bytes written to it.
type tail struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if over := len(t.b) - t.max; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(bytes.TrimSpace(t.b))
}
