package console

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/crypto/bcrypt"
)

func TestHashPWOnTerminal(t *testing.T) {
	master, slave, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminals: %v", err)
	}
	defer master.Close()
	defer slave.Close()
	seen := make(chan string, 1)
	go func() {
		var all bytes.Buffer
		buf := make([]byte, 256)
		answered := 0
		for !strings.Contains(all.String(), "END") {
			n, err := master.Read(buf)
			all.Write(buf[:n])
			if err != nil {
				break
			}
			// Answer each prompt once it has appeared.
			if prompts := strings.Count(all.String(), ": "); prompts > answered {
				answered = prompts
				master.Write([]byte("pump-house-7\n"))
			}
		}
		seen <- all.String()
	}()
	var out bytes.Buffer
	if err := HashPW(slave, &out, slave); err != nil {
		t.Fatal(err)
	}
	// Any echo of the typed lines is queued before this marker.
	slave.Write([]byte("END"))
	h := strings.TrimSpace(out.String())
	if bcrypt.CompareHashAndPassword([]byte(h), []byte("pump-house-7")) != nil {
		t.Errorf("printed %q, not a hash of the password", h)
	}
	got := <-seen
	if strings.Contains(got, "pump-house") {
		t.Errorf("password echoed on the terminal: %q", got)
	}
	if !strings.Contains(got, "password: ") || !strings.Contains(got, "again: ") {
		t.Errorf("prompts missing: %q", got)
	}
}

func TestHashPWMismatch(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	fmt.Fprint(w, "first-password\nsecond-password\n")
	w.Close()
	if err := HashPW(r, io.Discard, io.Discard); !errors.Is(err, ErrPasswordMismatch) {
		t.Errorf("err = %v", err)
	}
}

// Serve on the stdio stream stops when cancelled, though nothing is typed.
func TestStdioCancel(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	out := chanWriter(make(chan string, 100))
	rw := openStdio(fmt.Sprintf("/proc/self/fd/%d", r.Fd()), out)
	fd := &fakeDaemon{log: NewLogRing(4)}
	c, _ := New(Options{State: fd, Actions: fd, PasswordHash: testHash(t)})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- c.Serve(ctx, rw) }()
	fmt.Fprint(w, "login\n"+testPassword+"\nconfig\n")
	var got strings.Builder
	for !strings.Contains(got.String(), "eeprom    at24c256") {
		select {
		case s := <-out:
			got.WriteString(s)
		case <-time.After(5 * time.Second):
			t.Fatalf("no config output: %q", got.String())
		}
	}
	// Nothing more is typed: Serve sits in Read until cancelled.
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve still blocked in Read after cancel")
	}
}

// chanWriter hands each write to the test goroutine.
type chanWriter chan string

func (c chanWriter) Write(p []byte) (int, error) {
	c <- string(p)
	return len(p), nil
}
