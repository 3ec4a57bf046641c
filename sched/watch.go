package sched

// window is the error-rate watch of one interface: the outcomes of the
// last n exchanges in a ring, which device each was with, and how many of
// them count as errors.
type window struct {
	ring   []entry
	next   int
	filled int
	errors int
}

type entry struct {
	dev *devInfo // nil: an empty slot
	bad bool
	ans bool // the device answered (ok or exception)
}

func newWindow(n int) window { return window{ring: make([]entry, n)} }

// add records one outcome of an exchange with dev and returns the error
// count in the window.
func (w *window) add(dev *devInfo, o Outcome) int {
	bad := o.countsAsError()
	if w.filled == len(w.ring) {
		if w.ring[w.next].bad {
			w.errors--
		}
	} else {
		w.filled++
	}
	w.ring[w.next] = entry{dev: dev, bad: bad, ans: o == OK || o == Exception}
	if bad {
		w.errors++
	}
	w.next = (w.next + 1) % len(w.ring)
	return w.errors
}

// culprit returns the one device every error in the window came from,
// provided another device on the interface answered within the window:
// then the line works and that device does not. Otherwise nil.
func (w *window) culprit() *devInfo {
	var bad *devInfo
	answered := false
	for _, e := range w.ring {
		switch {
		case e.dev == nil:
		case e.bad && bad == nil:
			bad = e.dev
		case e.bad && e.dev != bad:
			return nil // errors from two devices: the line itself
		}
	}
	for _, e := range w.ring {
		if e.ans && e.dev != bad {
			answered = true
		}
	}
	if !answered {
		return nil
	}
	return bad
}

// forget takes dev's errors out of the window (it is suspended: its
// failures are its own, not the interface's).
func (w *window) forget(dev *devInfo) {
	for i, e := range w.ring {
		if e.dev == dev && e.bad {
			w.ring[i].bad = false
			w.errors--
		}
	}
}

func (w *window) reset() {
	clear(w.ring)
	w.next, w.filled, w.errors = 0, 0, 0
}
