package console

import (
	"bytes"
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

func TestLogRing(t *testing.T) {
	r := NewLogRing(3)
	if got := r.Lines(5); len(got) != 0 {
		t.Fatalf("empty ring: %q", got)
	}
	r.Write([]byte("one\ntwo\nthr"))
	if got := r.Lines(5); !slices.Equal(got, []string{"one", "two"}) {
		t.Fatalf("got %q", got)
	}
	r.Write([]byte("ee\nfour\nfive\n"))
	if got := r.Lines(5); !slices.Equal(got, []string{"three", "four", "five"}) {
		t.Fatalf("got %q", got)
	}
	if got := r.Lines(2); !slices.Equal(got, []string{"four", "five"}) {
		t.Fatalf("got %q", got)
	}
	r.Write(append(bytes.Repeat([]byte("x"), 3*MaxLineLen), '\n'))
	if got := r.Lines(1); len(got[0]) != MaxLineLen {
		t.Fatalf("long line kept %d bytes", len(got[0]))
	}
}

func TestHashPassword(t *testing.T) {
	h, err := HashPassword("s3cret-pass")
	if err != nil {
		t.Fatal(err)
	}
	if bcrypt.CompareHashAndPassword([]byte(h), []byte("s3cret-pass")) != nil {
		t.Error("hash does not verify")
	}
	if cost, _ := bcrypt.Cost([]byte(h)); cost != HashCost {
		t.Errorf("cost %d", cost)
	}
	for _, bad := range []string{"short", strings.Repeat("x", 73), "tab\there!"} {
		if _, err := HashPassword(bad); !errors.Is(err, ErrBadPassword) {
			t.Errorf("%q: err = %v", bad, err)
		}
	}
}

// pipeRW is an io.ReadWriter over an in-memory script, for Serve on a
// plain stream (the stdio case: no echo, LF line ends).
type pipeRW struct {
	in  io.Reader
	out bytes.Buffer
}

func (p *pipeRW) Read(b []byte) (int, error)  { return p.in.Read(b) }
func (p *pipeRW) Write(b []byte) (int, error) { return p.out.Write(b) }

func TestServeStdioStyle(t *testing.T) {
	fd := &fakeDaemon{log: NewLogRing(4)}
	c, err := New(Options{State: fd, Actions: fd, PasswordHash: testHash(t)})
	if err != nil {
		t.Fatal(err)
	}
	rw := &pipeRW{in: strings.NewReader("status\nlogin\n" + testPassword + "\nstatus\njournal consume\nbogus\n")}
	if err := c.Serve(context.Background(), rw); err != nil {
		t.Fatalf("Serve at EOF: %v", err)
	}
	out := rw.out.String()
	for _, want := range []string{"holdup console; type help\nholdup> error: status: log in first (login)\n",
		"holdup> password: logged in\nholdup> power     outage", "consumed 7", `unknown command "bogus"`} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\r") || strings.Contains(out, "status\n") || strings.Contains(out, testPassword) {
		t.Errorf("stdio mode echoed or used CR:\n%q", out)
	}
}

type blockingRW struct{ reading, release chan struct{} }

func (b *blockingRW) Read([]byte) (int, error) {
	close(b.reading)
	<-b.release
	return 0, io.EOF
}
func (b *blockingRW) Write(p []byte) (int, error) { return len(p), nil }

func TestServeOneAtATime(t *testing.T) {
	fd := &fakeDaemon{log: NewLogRing(4)}
	c, _ := New(Options{State: fd, Actions: fd})
	rw := &blockingRW{reading: make(chan struct{}), release: make(chan struct{})}
	done := make(chan error)
	go func() { done <- c.Serve(context.Background(), rw) }()
	select {
	case <-rw.reading: // the first Serve is in its read
	case err := <-done:
		t.Fatalf("Serve returned %v", err)
	}
	if err := c.Serve(context.Background(), rw); !errors.Is(err, ErrBusy) {
		t.Errorf("second Serve: %v", err)
	}
	close(rw.release)
	if err := <-done; err != nil {
		t.Errorf("first Serve: %v", err)
	}
}

func TestNewRequiresState(t *testing.T) {
	if _, err := New(Options{}); err == nil {
		t.Error("New without State accepted")
	}
}

// TestPointFormats: points prints a value in its 10 columns with as many
// significant digits as fit, and a time of day on today's date, else
// month-day and minute.
func TestPointFormats(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		want string
	}{
		{5.21, "5.21"}, {0, "0"}, {-231.4, "-231.4"}, {131074001, "1.3107e+08"}, {-131074001, "-1.311e+08"},
		{1234567.8, "1234568"}, {-1e-300, "-1e-300"},
	} {
		if got := num(tc.v, 10); got != tc.want || len(got) > 10 {
			t.Errorf("num(%v) = %q, want %q", tc.v, got, tc.want)
		}
	}
	now := time.Date(2026, 11, 26, 0, 30, 0, 0, time.UTC)
	for _, tc := range []struct {
		t    time.Time
		want string
	}{
		{time.Time{}, "-"},
		{now.Add(-20 * time.Minute), "00:10:00"},
		{now.Add(-40 * time.Minute), "11-25 23:50"},
		{now.In(time.FixedZone("UTC+8", 8*3600)), "00:30:00"}, // shown in now's zone
	} {
		if got := clock(tc.t, now); got != tc.want {
			t.Errorf("clock(%v) = %q, want %q", tc.t, got, tc.want)
		}
	}
}

// TestBanner: the daemon's state line comes under the greeting on every
// connection, before login, as it is at that moment; an empty one prints
// nothing.
func TestBanner(t *testing.T) {
	fd := &fakeDaemon{log: NewLogRing(4)}
	line := "DEGRADED: protecting without line (see the alarms)"
	c, err := New(Options{State: fd, Actions: fd, PasswordHash: testHash(t), Banner: func() string { return line }})
	if err != nil {
		t.Fatal(err)
	}
	if out := session(t, c, "help"); !strings.HasPrefix(out, "holdup console; type help\n"+line+"\n"+prompt) {
		t.Fatalf("first connection:\n%s", out)
	}
	line = ""
	if out := session(t, c, "help"); !strings.HasPrefix(out, "holdup console; type help\n"+prompt) {
		t.Fatalf("with an empty state line:\n%s", out)
	}
}
