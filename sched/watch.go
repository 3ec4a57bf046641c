package sched

// window is the error-rate watch of one interface: the outcomes of the
// last n exchanges in a ring, and how many of them count as errors.
type window struct {
	ring   []bool
	next   int
	filled int
	errors int
}

func newWindow(n int) window { return window{ring: make([]bool, n)} }

// add records one outcome and returns the error count in the window.
func (w *window) add(o Outcome) int {
	bad := o.countsAsError()
	if w.filled == len(w.ring) {
		if w.ring[w.next] {
			w.errors--
		}
	} else {
		w.filled++
	}
	w.ring[w.next] = bad
	if bad {
		w.errors++
	}
	w.next = (w.next + 1) % len(w.ring)
	return w.errors
}

func (w *window) reset() {
	clear(w.ring)
	w.next, w.filled, w.errors = 0, 0, 0
}
