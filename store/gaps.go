package store

import "fmt"

// SeqRange is a run of sequence numbers above the consume mark that the
// journal should hold but does not: the records (and possibly consume
// markers, which draw from the same counter) that were there were lost to
// damage on the chip. Mount finds them from the sequence numbers of the
// frames that did verify and the damaged bytes between them; see
// Journal.LostRanges.
type SeqRange struct {
	// First and Last bound the missing sequence numbers (inclusive).
	First uint64 `json:"first"`
	Last  uint64 `json:"last"`
	// FirstPage and Offset locate the first damaged byte where the run
	// should have been, LastPage the page of the last one. The region
	// runs in ring order, so FirstPage is above LastPage when it wraps
	// past the end of the chip.
	FirstPage int `json:"first_page"`
	Offset    int `json:"offset"`
	LastPage  int `json:"last_page"`
}

// Count returns how many sequence numbers the range holds: an upper bound
// on the records lost in it.
func (r SeqRange) Count() uint64 { return r.Last - r.First + 1 }

// Contains reports whether seq lies in the range.
func (r SeqRange) Contains(seq uint64) bool { return seq >= r.First && seq <= r.Last }

// String formats the range for logs and the journal dump, as in
// "seq 12..15 (4 sequence numbers) where pages 3..4 are damaged from offset 17".
func (r SeqRange) String() string {
	seqs := fmt.Sprintf("seq %d (1 sequence number)", r.First)
	if r.Last != r.First {
		seqs = fmt.Sprintf("seq %d..%d (%d sequence numbers)", r.First, r.Last, r.Count())
	}
	pages := fmt.Sprintf("page %d is", r.FirstPage)
	if r.LastPage != r.FirstPage {
		pages = fmt.Sprintf("pages %d..%d are", r.FirstPage, r.LastPage)
	}
	return fmt.Sprintf("%s where %s damaged from offset %d", seqs, pages, r.Offset)
}

// lostSeqs sums the sequence numbers in rs.
func lostSeqs(rs []SeqRange) uint64 {
	var n uint64
	for _, r := range rs {
		n += r.Count()
	}
	return n
}

// Byte classes of a chip image for lostRanges.
const (
	covHole  uint8 = iota // not accounted for: damaged, torn or stale
	covFrame              // part of a frame whose CRC verified
	covPad                // blank padding after a page's last frame
	covBlank              // a never-programmed page at the end of the chip
	covTorn               // a hole right after the tail: a write cut short
)

// lostRanges checks sequence continuity from the consume mark to the tail.
//
// Sequence numbers strictly increase along the stream, and the writer
// never programs a page holding anything unconsumed, so every frame above
// the mark that was ever committed lies, in ring order, between the frames
// with the neighbouring sequence numbers that did verify. A missing run is
// therefore lost if damaged bytes (not a verified frame, not blank
// padding) lie just before the frame that follows it; if none do, the run
// left the chip legitimately (a superseded consume marker whose page was
// reused, or sequence numbers burnt by a failed page write) and is not
// reported. Bytes right after the tail, up to the first verified frame and
// at most one frame's worth of pages, are a write cut short by power loss
// (never acknowledged) unless the whole page is erased or zeroed.
//
// It also returns, as damaged regions, pages wholly erased (0xFF) or
// zeroed (0x00) where the writer never leaves such a page. The pages it
// has never programmed are the ones at the end of the chip, so an erased
// page before a page in which a verified frame starts is damage; it never
// programs an all-zero page, so a zeroed page followed by programmed pages
// other than zeroed ones, or by the blank end of the chip, is damage (a
// chip zeroed before the journal began is not reported). An erased page
// holding the newest records of a journal that has not yet wrapped looks
// exactly like a page never written: that loss alone cannot be seen.
func lostRanges(s scanResult, st *mountState, g geometry, maxPayload int) ([]SeqRange, []Region) {
	ps, size := g.pageSize, g.pages*g.pageSize
	cov := make([]uint8, size)
	lastAt := make(map[int]*frameInfo, len(s.frames))
	lastFramePage := -1
	for i := range s.frames {
		f := &s.frames[i]
		lastFramePage = max(lastFramePage, f.firstPage)
		pos := f.start
		for k, n := 0, frameSize(f.seq, len(f.payload)); k < n && pos >= 0; k++ {
			cov[pos] = covFrame
			if k == n-1 {
				lastAt[pos] = f
			}
			pos = g.next(pos)
		}
	}
	for p, off := range s.pad {
		if off > 0 {
			for i := p*ps + off; i < (p+1)*ps; i++ {
				if cov[i] == covHole {
					cov[i] = covPad
				}
			}
		}
	}
	lastProgrammed := -1
	for p, e := range s.erased {
		if !e {
			lastProgrammed = p
		}
	}
	for i := (lastProgrammed + 1) * ps; i < size; i++ {
		cov[i] = covBlank
	}
	hasHole := func(p int) bool {
		for i := p*ps + 1; i < (p+1)*ps; i++ {
			if cov[i] == covHole {
				return true
			}
		}
		return false
	}
	lastOther := -1 // the last page neither erased nor zeroed
	for p := range s.erased {
		if !s.erased[p] && !s.zeroed[p] {
			lastOther = p
		}
	}
	var damaged []Region
	for p := 0; p < g.pages; p++ {
		switch {
		case s.erased[p] && p < lastFramePage:
			damaged = append(damaged, Region{Page: p, Offset: 0, Reason: fmt.Sprintf(
				"page erased (all 0xFF) although journal frames start in page %d after it: whatever it held is lost", lastFramePage)})
		case s.zeroed[p] && hasHole(p) && (p < lastOther || p == lastProgrammed && p < g.pages-1):
			// The writer never leaves a zeroed page, and programmed or
			// blank pages follow: the chip was not zeroed before the
			// journal began.
			damaged = append(damaged, Region{Page: p, Offset: 0,
				Reason: "page zeroed (all 0x00) amid the journal or where it ends: whatever it held is lost"})
		}
	}
	if st.tail != nil {
		pos := st.tail.start
		for k := 1; k < frameSize(st.tail.seq, len(st.tail.payload)) && pos >= 0; k++ {
			pos = g.next(pos)
		}
		if pos >= 0 {
			pos = g.next(pos)
		}
		if pos < 0 {
			pos = 1 // the writer resumes at page 0
		}
		// A write cut short holds unacknowledged frames: at most one
		// frame's pages plus the page a group of frames was filling.
		maxPages := 2 + g.span(1, frameSize(^uint64(0), maxPayload))
		page, pages := g.page(pos), 1
		for n := 0; n < size && pages <= maxPages && (cov[pos] == covHole || cov[pos] == covPad); n++ {
			if cov[pos] == covHole && !s.erased[page] && !s.zeroed[page] {
				cov[pos] = covTorn
			}
			if pos = g.next(pos); pos < 0 {
				pos = 1
			}
			if g.page(pos) != page {
				page = g.page(pos)
				pages++
			}
		}
	}
	prevPos := func(pos int) int {
		pos--
		if pos%ps == 0 {
			pos--
		}
		if pos < 0 {
			pos = size - 1
		}
		return pos
	}
	// holeBefore walks back from b's tag byte to the frame before it
	// (passing stale frames older than below, as the writer leaves at the
	// end of the chip when a frame does not fit) and returns the damaged
	// bytes on the way, if any.
	holeBefore := func(b, below *frameInfo) (SeqRange, bool) {
		first, last := -1, -1
		pos := prevPos(b.start)
	walk:
		for n := 0; n < size; n++ {
			switch cov[pos] {
			case covHole:
				if last < 0 {
					last = pos
				}
				first = pos
			case covFrame:
				f := lastAt[pos]
				if f == nil || below == nil || f.seq >= below.seq {
					break walk
				}
				pos = f.start
			}
			pos = prevPos(pos)
		}
		if first < 0 {
			return SeqRange{}, false
		}
		return SeqRange{FirstPage: g.page(first), Offset: first % ps, LastPage: g.page(last)}, true
	}
	var lost []SeqRange
	prev := st.consumed
	for i, f := range st.unique {
		if f.seq <= st.consumed {
			continue
		}
		if f.seq > prev+1 {
			var below *frameInfo
			if i > 0 {
				below = st.unique[i-1]
			}
			if r, ok := holeBefore(f, below); ok {
				r.First, r.Last = prev+1, f.seq-1
				lost = append(lost, r)
			}
		}
		prev = f.seq
	}
	return lost, damaged
}
