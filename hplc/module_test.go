package hplc

import (
	"context"
	"errors"
	"io"
	"sync"
	"testing"
	"time"
)

// heldPort is a Port whose Read blocks until Close, as a serial port's
// does; it records closes and the Reads in progress, and fails the test on
// a Write (nothing is sent in these tests).
type heldPort struct {
	t      *testing.T
	closed chan struct{}
	once   sync.Once
	mu     sync.Mutex
	closes int
	reads  int           // in progress
	began  chan struct{} // a Read began
	idle   chan struct{} // no Read in progress any more
}

func newHeldPort(t *testing.T) *heldPort {
	return &heldPort{t: t, closed: make(chan struct{}), began: make(chan struct{}, 1), idle: make(chan struct{}, 1)}
}

func (p *heldPort) Read([]byte) (int, error) {
	p.mu.Lock()
	p.reads++
	p.mu.Unlock()
	select {
	case p.began <- struct{}{}:
	default:
	}
	<-p.closed
	p.mu.Lock()
	p.reads--
	if p.reads == 0 {
		select {
		case p.idle <- struct{}{}:
		default:
		}
	}
	p.mu.Unlock()
	return 0, io.ErrClosedPipe
}

func (p *heldPort) Write(b []byte) (int, error) {
	p.t.Errorf("unexpected write of % X", b)
	return 0, errors.New("heldPort: no writes expected")
}

func (p *heldPort) Close() error {
	p.mu.Lock()
	p.closes++
	p.mu.Unlock()
	p.once.Do(func() { close(p.closed) })
	return nil
}

func (p *heldPort) state() (closes, reads int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closes, p.reads
}

// TestRunLeavesPortOpen: the port belongs to the caller. Run returns on
// cancellation without closing it, even with its reader blocked in Read;
// the caller's Close ends that Read.
func TestRunLeavesPortOpen(t *testing.T) {
	port := newHeldPort(t)
	m := NewModule(port, Config{}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	<-port.began // the reader is blocked in Read
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return on cancellation while its Read was blocked")
	}
	if closes, reads := port.state(); closes != 0 || reads != 1 {
		t.Fatalf("after Run: %d closes, %d reads in progress; want 0 and the reader's 1", closes, reads)
	}
	if _, err := m.Do(context.Background(), QueryVendor); !errors.Is(err, ErrClosed) {
		t.Errorf("command after Run returned: %v, want ErrClosed", err)
	}
	port.Close() // the owner's close ends the reader's Read
	select {
	case <-port.idle:
	case <-time.After(5 * time.Second):
		t.Fatal("the reader's Read did not end when the port was closed")
	}
	if closes, _ := port.state(); closes != 1 {
		t.Fatalf("%d closes, want only the owner's", closes)
	}
}

// TestRunReturnsWhenPortClosed: the owner closing the port under a running
// Module ends Run with the read error; the port is closed once, by it.
func TestRunReturnsWhenPortClosed(t *testing.T) {
	port := newHeldPort(t)
	m := NewModule(port, Config{}, nil)
	done := make(chan error, 1)
	go func() { done <- m.Run(context.Background()) }()
	port.Close()
	select {
	case err := <-done:
		if !errors.Is(err, io.ErrClosedPipe) {
			t.Fatalf("Run: %v, want the read error", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return when the port was closed")
	}
	if closes, _ := port.state(); closes != 1 {
		t.Fatalf("%d closes, want only the owner's", closes)
	}
}
