package console

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
	"go.bug.st/serial"
)

// term is the operator's end of a pseudo-terminal whose other end is a
// serial port (opened with go.bug.st/serial, as the daemon opens its
// console port) served by a Console.
type term struct {
	t      *testing.T
	master *os.File
	chunks chan []byte
	buf    bytes.Buffer // received, not yet consumed
	total  int          // bytes received in all
}

const prompt = "holdup> "

func startConsole(t *testing.T, opts Options) (*term, *fakeDaemon) {
	t.Helper()
	master, slave, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	port, err := serial.Open(slave.Name(), &serial.Mode{BaudRate: 115200})
	slave.Close()
	if err != nil {
		master.Close()
		t.Fatalf("serial.Open(%s): %v", slave.Name(), err)
	}
	fd := &fakeDaemon{log: NewLogRing(100)}
	opts.State, opts.Actions = fd, fd
	opts.Echo, opts.CRLF = true, true
	con, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- con.Serve(ctx, port) }()

	tm := &term{t: t, master: master, chunks: make(chan []byte, 64)}
	go func() {
		defer close(tm.chunks)
		for {
			b := make([]byte, 4096)
			n, err := master.Read(b)
			if n > 0 {
				tm.chunks <- b[:n]
			}
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-served:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("Serve did not return after cancel")
		}
		master.Close()
		for range tm.chunks {
		}
	})
	tm.expect("holdup console; type help\r\n" + prompt)
	return tm, fd
}

func (tm *term) send(s string) {
	tm.t.Helper()
	if _, err := tm.master.Write([]byte(s)); err != nil {
		tm.t.Fatalf("write: %v", err)
	}
}

// expect reads until want has arrived and returns everything up to and
// including it.
func (tm *term) expect(want string) string {
	tm.t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		if i := strings.Index(tm.buf.String(), want); i >= 0 {
			out := string(tm.buf.Next(i + len(want)))
			return out
		}
		select {
		case b, ok := <-tm.chunks:
			if !ok {
				tm.t.Fatalf("terminal closed waiting for %q; have %q", want, tm.buf.String())
			}
			tm.total += len(b)
			tm.buf.Write(b)
		case <-deadline:
			tm.t.Fatalf("timed out waiting for %q; have %q", want, tm.buf.String())
		}
	}
}

// login logs in with testPassword.
func (tm *term) login() {
	tm.t.Helper()
	tm.send("login\r")
	tm.expect("password: ")
	tm.send(testPassword + "\r")
	tm.expect("logged in\r\n" + prompt)
}

// run types a command and returns its output lines (without the echo and
// the next prompt), checking each fits the 80-column screen.
func (tm *term) run(cmd string) []string {
	tm.t.Helper()
	tm.send(cmd + "\r")
	tm.expect(cmd + "\r\n") // the console echoes a raw line
	out := strings.TrimSuffix(tm.expect(prompt), prompt)
	if out == "" {
		return nil
	}
	if !strings.HasSuffix(out, "\r\n") {
		tm.t.Errorf("%s: prompt not at the start of a line: %q", cmd, out)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\r\n"), "\r\n")
	for _, l := range lines {
		if len(l) > Width {
			tm.t.Errorf("%s: line of %d columns: %q", cmd, len(l), l)
		}
		for i := 0; i < len(l); i++ {
			if l[i] < 0x20 || l[i] > 0x7e {
				tm.t.Errorf("%s: control byte 0x%02X in %q", cmd, l[i], l)
			}
		}
	}
	return lines
}

// has fails unless some line contains each of wants, in order.
func has(t *testing.T, cmd string, lines []string, wants ...string) {
	t.Helper()
	i := 0
	for _, l := range lines {
		if i < len(wants) && strings.Contains(l, wants[i]) {
			i++
		}
	}
	if i < len(wants) {
		t.Errorf("%s: no line with %q in:\n%s", cmd, wants[i], strings.Join(lines, "\n"))
	}
}
