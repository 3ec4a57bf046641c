package sched

import "context"

// job is one queued op with its caller's context and reply channel.
type job struct {
	op    Op
	ctx   context.Context
	seq   uint64
	reply chan reply // capacity 1: the owner never blocks on it
	// every is set for the job of a periodic collection: nobody waits for
	// it; its result goes to the readings (and journal).
	every *periodic
	// ack is set by the owner when a Durable op's record went to the
	// journal writer: Do waits on it after the reply.
	ack chan error
}

type reply struct {
	res Result
	err error
	// ack, if set, receives the outcome of the op's journal Append.
	ack <-chan error
}

// before reports whether a is served before b: control before collection,
// checked before unchecked, earlier deadline (zero last), then arrival.
func before(a, b *job) bool {
	if a.op.Class != b.op.Class {
		return a.op.Class < b.op.Class
	}
	if a.op.Integrity != b.op.Integrity {
		return a.op.Integrity < b.op.Integrity
	}
	ad, bd := a.op.Deadline, b.op.Deadline
	if !ad.Equal(bd) {
		if ad.IsZero() {
			return false
		}
		if bd.IsZero() {
			return true
		}
		return ad.Before(bd)
	}
	return a.seq < b.seq
}

// queue is a binary min-heap of jobs ordered by before. It is owned by one
// interface owner goroutine and reuses its backing array.
type queue struct{ h []*job }

func (q *queue) len() int { return len(q.h) }

func (q *queue) peek() *job { return q.h[0] }

func (q *queue) push(j *job) {
	q.h = append(q.h, j)
	i := len(q.h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !before(q.h[i], q.h[p]) {
			break
		}
		q.h[i], q.h[p] = q.h[p], q.h[i]
		i = p
	}
}

func (q *queue) pop() *job {
	n := len(q.h) - 1
	top := q.h[0]
	q.h[0] = q.h[n]
	q.h[n] = nil
	q.h = q.h[:n]
	q.down(0)
	return top
}

func (q *queue) down(i int) {
	n := len(q.h)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && before(q.h[r], q.h[l]) {
			m = r
		}
		if !before(q.h[m], q.h[i]) {
			return
		}
		q.h[i], q.h[m] = q.h[m], q.h[i]
		i = m
	}
}

// removeIf takes out every job for which drop returns true, calling fail
// on each, and restores the heap order.
func (q *queue) removeIf(drop func(*job) bool, fail func(*job)) {
	kept := q.h[:0]
	for _, j := range q.h {
		if drop(j) {
			fail(j)
		} else {
			kept = append(kept, j)
		}
	}
	for i := len(kept); i < len(q.h); i++ {
		q.h[i] = nil
	}
	q.h = kept
	for i := len(q.h)/2 - 1; i >= 0; i-- {
		q.down(i)
	}
}
