//go:build linux

package store

import (
	"context"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"holdup/eeprom"
)

// tidDevice records the OS thread of every page write.
type tidDevice struct {
	Device
	mu   sync.Mutex
	tids map[int]int // thread → page writes
}

func (d *tidDevice) WriteAt(p []byte, off int64) (int, error) {
	d.mu.Lock()
	d.tids[unix.Gettid()]++
	d.mu.Unlock()
	return d.Device.WriteAt(p, off)
}

// TestWriterThread: the hook runs once, on the thread that then programs
// every page after Open returned — so an IO priority it sets applies to the
// journal's writes and to nothing else.
func TestWriterThread(t *testing.T) {
	_, chip := simChip(t, "at24c64", eeprom.TornOld, 1) // room for 40 control records
	dev := &tidDevice{Device: chip, tids: map[int]int{}}
	var (
		mu    sync.Mutex
		calls []int
	)
	j, err := Open(dev, Options{WriterThread: func() {
		mu.Lock()
		calls = append(calls, unix.Gettid())
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	// Open formats the blank chip on the caller's thread; from its return
	// on, the writer does every page write.
	dev.mu.Lock()
	clear(dev.tids)
	dev.mu.Unlock()
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Go(func() {
			if _, err := j.Append(context.Background(), typicalRecord(i)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	st, err := j.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Consume(context.Background(), st.NextSeq-1); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(calls) != 1 {
		t.Fatalf("hook called %d times, want once", len(calls))
	}
	dev.mu.Lock()
	defer dev.mu.Unlock()
	for tid, n := range dev.tids {
		if tid != calls[0] && n > 0 {
			t.Errorf("%d page writes from thread %d, not the writer's thread %d (all: %v)", n, tid, calls[0], dev.tids)
		}
	}
	if dev.tids[calls[0]] == 0 {
		t.Error("no page write from the writer's thread")
	}
}
