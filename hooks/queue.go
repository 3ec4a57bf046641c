package hooks

import "sync"

// queue is a sink's bounded FIFO of events. push never blocks: when the
// queue is full it drops the oldest event (see the package doc for why).
// One goroutine pops; wake tells it that something was pushed.
type queue struct {
	mu      sync.Mutex
	buf     []Event // ring of cap events
	head, n int
	since   uint64 // dropped since the last pop
	dropped uint64 // dropped in all
	wake    chan struct{}
}

func newQueue(capacity int) *queue {
	return &queue{buf: make([]Event, capacity), wake: make(chan struct{}, 1)}
}

// push appends e, dropping the oldest event when full; it reports whether
// it dropped one.
func (q *queue) push(e Event) bool {
	q.mu.Lock()
	drop := q.n == len(q.buf)
	if drop {
		q.buf[q.head] = Event{}
		q.head = (q.head + 1) % len(q.buf)
		q.n--
		q.since++
		q.dropped++
	}
	q.buf[(q.head+q.n)%len(q.buf)] = e
	q.n++
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
	return drop
}

// pop takes the oldest event, with the number dropped since the previous
// pop in its Dropped; ok is false when the queue is empty.
func (q *queue) pop() (e Event, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.n == 0 {
		return Event{}, false
	}
	e = q.buf[q.head]
	q.buf[q.head] = Event{}
	q.head = (q.head + 1) % len(q.buf)
	q.n--
	e.Dropped, q.since = q.since, 0
	return e, true
}

// counts returns the events waiting and the events dropped in all.
func (q *queue) counts() (waiting int, dropped uint64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.n, q.dropped
}
