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
		if got := w.add(&devInfo{}, s.o); got != s.want {
			t.Fatalf("step %d (%v): %d errors, want %d", i, s.o, got, s.want)
		}
	}
}

// TestWindowCulprit: a device is to blame only when every error is its
// own and another device answered within the window.
func TestWindowCulprit(t *testing.T) {
	a, b, c := &devInfo{Device: Device{Name: "a"}}, &devInfo{Device: Device{Name: "b"}}, &devInfo{Device: Device{Name: "c"}}
	type step struct {
		d *devInfo
		o Outcome
	}
	cases := []struct {
		name  string
		steps []step
		want  *devInfo
	}{
		{"one device failing, another answering", []step{{a, OK}, {b, Timeout}, {b, Timeout}, {a, Exception}}, b},
		{"errors from two devices", []step{{a, OK}, {b, Timeout}, {c, ChecksumMismatch}}, nil},
		{"only the failing device", []step{{b, Timeout}, {b, Timeout}}, nil},
		{"the other one only cancelled", []step{{a, Cancelled}, {b, Timeout}}, nil},
		{"the answer fell out of the window", []step{{a, OK}, {b, Timeout}, {b, Timeout}, {b, Timeout}, {b, Timeout}}, nil},
		{"no errors", []step{{a, OK}, {b, OK}}, nil},
	}
	for _, tc := range cases {
		w := newWindow(4)
		for _, st := range tc.steps {
			w.add(st.d, st.o)
		}
		if got := w.culprit(); got != tc.want {
			t.Errorf("%s: culprit %v, want %v", tc.name, got, tc.want)
		}
	}
	w := newWindow(4)
	for _, st := range []step{{a, OK}, {b, Timeout}, {a, LengthMismatch}, {b, Timeout}} {
		w.add(st.d, st.o)
	}
	w.forget(b)
	if w.errors != 1 {
		t.Errorf("after forgetting b: %d errors, want a's 1", w.errors)
	}
}
