package sched

import (
	"math/rand/v2"
	"testing"
	"time"
)

// The heap pops in exactly the order a full sort by before gives, also
// after removeIf.
func TestQueueOrderRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	base := time.Unix(1700000000, 0)
	for round := range 200 {
		var q queue
		n := 1 + rng.IntN(40)
		for i := range n {
			var dl time.Time
			if rng.IntN(4) > 0 {
				dl = base.Add(time.Duration(rng.IntN(5)) * time.Second)
			}
			q.push(&job{seq: uint64(i), op: Op{Class: Class(rng.IntN(2)), Integrity: Integrity(rng.IntN(2)), Deadline: dl}})
		}
		removed := 0
		if round%2 == 1 {
			q.removeIf(func(j *job) bool { return j.seq%3 == 0 }, func(*job) { removed++ })
		}
		var prev *job
		got := 0
		for q.len() > 0 {
			j := q.pop()
			if round%2 == 1 && j.seq%3 == 0 {
				t.Fatalf("round %d: removed job %d popped", round, j.seq)
			}
			if prev != nil && before(j, prev) {
				t.Fatalf("round %d: %+v popped after %+v", round, j.op, prev.op)
			}
			prev = j
			got++
		}
		if got+removed != n {
			t.Fatalf("round %d: %d popped + %d removed of %d", round, got, removed, n)
		}
	}
}

func TestWindow(t *testing.T) {
	w := newWindow(3)
	seq := []struct {
		o    Outcome
		want int
	}{{Timeout, 1}, {OK, 1}, {Exception, 1}, {ChecksumMismatch, 1}, {LengthMismatch, 2}, {Other, 3}, {OK, 2}}
	for i, s := range seq {
		if got := w.add(s.o); got != s.want {
			t.Fatalf("step %d (%v): %d errors, want %d", i, s.o, got, s.want)
		}
	}
}
