package store

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"sort"
)

// frameInfo is one frame found on the chip whose CRC verified.
type frameInfo struct {
	tag       byte
	seq       uint64
	start     int // chip offset of the tag byte
	firstPage int
	lastPage  int
	payload   []byte
}

// Region is a part of the chip that a mount skipped: a frame that failed
// its checks (a torn tail after a power cut, or corruption).
type Region struct {
	Page   int    `json:"page"`
	Offset int    `json:"offset"`
	Reason string `json:"reason"`
}

// String formats the region for logs.
func (r Region) String() string {
	return fmt.Sprintf("page %d offset %d: %s", r.Page, r.Offset, r.Reason)
}

// scanResult is what one pass over a chip image found.
type scanResult struct {
	frames  []frameInfo
	skipped []Region
	// pad is, per page, the in-page offset at which blank padding (a pad
	// tag and zeros to the end of the page) begins; 0: none found.
	pad []int
	// erased and zeroed mark pages that hold only 0xFF or only 0x00.
	erased, zeroed []bool
}

// scanImage finds every frame whose CRC verifies. It starts a parse at each
// page's header offset and follows frames while they start in that page.
//
// The page header is not covered by a CRC, so it is cross-checked against
// the frames around it: a verified frame that continues into a page says
// where the page's first frame must start (where it ends, or nowhere if it
// covers the page or padding follows it), and a page no verified frame
// continues into is also parsed from offset 1, where the writer places the
// first frame of a fresh page. Frames found that way are kept (their CRC
// verified) and the disagreeing header is reported as a skipped region, so
// a damaged header can neither hide frames nor make them up.
func scanImage(img []byte, g geometry, maxPayload int) scanResult {
	ps := g.pageSize
	s := scanResult{pad: make([]int, g.pages), erased: make([]bool, g.pages), zeroed: make([]bool, g.pages)}
	tried := make(map[int]bool)
	// For each page: where a verified frame from an earlier page ends in it
	// (in-page offset, 0: none) and which frame that is; covered: a
	// verified frame runs through the page to its end.
	contEnd := make([]int, g.pages)
	contBy := make([]*frameInfo, g.pages)
	covered := make([]*frameInfo, g.pages)
	for p := 0; p < g.pages; p++ {
		page := img[p*ps : (p+1)*ps]
		if allFF(page) {
			s.erased[p] = true
			continue // erased, never programmed (or erased by damage: see lostRanges)
		}
		s.zeroed[p] = allZero(page)
		// chain parses frames from in-page offset off while they start in
		// page p; speculative chains report nothing and mark no padding.
		// It returns the first frame it found, if any.
		chain := func(off int, speculative bool) *frameInfo {
			var first *frameInfo
			for pos := p*ps + off; pos >= 0 && g.page(pos) == p && !tried[pos]; {
				tried[pos] = true
				f, end, err := parseFrame(img, g, pos, maxPayload)
				if err != nil {
					if !speculative {
						s.skipped = append(s.skipped, Region{Page: p, Offset: pos % ps, Reason: err.Error()})
					}
					return first
				}
				if f.tag == tagPad {
					if speculative {
						return first
					}
					if !allZero(img[pos : (p+1)*ps]) {
						s.skipped = append(s.skipped, Region{Page: p, Offset: pos % ps,
							Reason: "padding is not blank: page header or frame chain corrupt"})
					} else if s.pad[p] == 0 || pos%ps < s.pad[p] {
						s.pad[p] = pos % ps
					}
					return first
				}
				s.frames = append(s.frames, f)
				fp := &s.frames[len(s.frames)-1]
				if first == nil {
					first = fp
				}
				for q := p + 1; q < f.lastPage; q++ {
					covered[q] = fp
				}
				if f.lastPage > p {
					if end >= 0 && g.page(end) == f.lastPage {
						contEnd[f.lastPage], contBy[f.lastPage] = end%ps, fp
					} else {
						covered[f.lastPage] = fp
					}
				}
				pos = end
			}
			return first
		}
		h := int(page[0])
		switch {
		case contEnd[p] > 0:
			ce, by := contEnd[p], contBy[p]
			want := ce
			if page[ce] == tagPad {
				want = 0
			}
			if h != want {
				s.skipped = append(s.skipped, Region{Page: p, Offset: 0, Reason: fmt.Sprintf(
					"page header %d, but frame seq %d from page %d ends at offset %d (header should be %d): header corrupt, frames parsed from offset %d",
					h, by.seq, by.firstPage, ce, want, ce)})
			}
			chain(ce, false)
		case covered[p] != nil:
			if h != 0 {
				by := covered[p]
				s.skipped = append(s.skipped, Region{Page: p, Offset: 0, Reason: fmt.Sprintf(
					"page header %d, but frame seq %d from page %d runs through the whole page (header should be 0): header corrupt",
					h, by.seq, by.firstPage)})
			}
		default:
			if h >= ps {
				s.skipped = append(s.skipped, Region{Page: p, Offset: 0, Reason: fmt.Sprintf("page header %d out of range", h)})
			} else if h > 0 {
				chain(h, false)
			}
			if h != 1 {
				if f := chain(1, true); f != nil {
					s.skipped = append(s.skipped, Region{Page: p, Offset: 0, Reason: fmt.Sprintf(
						"page header %d, but frame seq %d starts at offset 1: header corrupt, frames parsed from offset 1", h, f.seq)})
				}
			}
		}
	}
	return s
}

func allFF(b []byte) bool {
	for _, x := range b {
		if x != 0xFF {
			return false
		}
	}
	return true
}

func allZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}

// parseFrame parses the frame whose tag is at pos. It returns the position
// after the frame (-1 at the end of the chip).
func parseFrame(img []byte, g geometry, pos, maxPayload int) (frameInfo, int, error) {
	f := frameInfo{start: pos, firstPage: g.page(pos)}
	var hdr [1 + 2*binary.MaxVarintLen64]byte
	n := 0
	cur := pos
	read := func() (byte, bool) {
		if cur < 0 {
			return 0, false
		}
		b := img[cur]
		f.lastPage = g.page(cur)
		cur = g.next(cur)
		return b, true
	}
	tag, _ := read()
	f.tag = tag
	switch tag {
	case tagPad:
		return f, cur, nil
	case tagRecord, tagMarker, tagRecord2, tagDict:
	default:
		return f, -1, fmt.Errorf("bad frame tag 0x%02x", tag)
	}
	hdr[n] = tag
	n++
	uv := func(what string) (uint64, error) {
		var x uint64
		for i := 0; i < binary.MaxVarintLen64; i++ {
			b, ok := read()
			if !ok {
				return 0, fmt.Errorf("frame %s runs past the end of the chip", what)
			}
			hdr[n] = b
			n++
			x |= uint64(b&0x7f) << (7 * i)
			if b < 0x80 {
				if i > 0 && b == 0 {
					return 0, fmt.Errorf("frame %s is not minimally encoded", what)
				}
				return x, nil
			}
		}
		return 0, fmt.Errorf("frame %s overflows", what)
	}
	length, err := uv("length")
	if err != nil {
		return f, -1, err
	}
	if length == 0 || length > uint64(maxPayload) {
		return f, -1, fmt.Errorf("frame length %d outside 1..%d", length, maxPayload)
	}
	if f.seq, err = uv("sequence"); err != nil {
		return f, -1, err
	}
	if f.seq == 0 {
		return f, -1, fmt.Errorf("frame sequence 0")
	}
	f.payload = make([]byte, length)
	for i := range f.payload {
		b, ok := read()
		if !ok {
			return f, -1, fmt.Errorf("frame seq %d runs past the end of the chip", f.seq)
		}
		f.payload[i] = b
	}
	var c [crcLen]byte
	for i := range c {
		b, ok := read()
		if !ok {
			return f, -1, fmt.Errorf("frame seq %d CRC runs past the end of the chip", f.seq)
		}
		c[i] = b
	}
	crc := crc32.Update(crc32.Checksum(hdr[:n], castagnoli), castagnoli, f.payload)
	if got := binary.BigEndian.Uint32(c[:]); got != crc {
		return f, -1, fmt.Errorf("frame seq %d: CRC-32C mismatch (stored %08x, computed %08x): torn or corrupt", f.seq, got, crc)
	}
	return f, cur, nil
}

// mountState is what a scan tells about the journal.
type mountState struct {
	id         []byte
	consumed   uint64
	maxSeq     uint64
	tail       *frameInfo
	markerPage int // first page of the newest marker, -1 if none
	records    []frameInfo
	pageMax    []uint64
	skipped    []Region
	// unique holds every verified frame once per sequence, in sequence
	// order (records and markers).
	unique []*frameInfo
	// lost lists the sequence ranges above the consume mark that the chip
	// should hold but does not (see lostRanges).
	lost []SeqRange
}

// analyze interprets the frames a scan found.
func analyze(s scanResult, g geometry, c codec, maxPayload int) mountState {
	frames := s.frames
	st := mountState{markerPage: -1, pageMax: make([]uint64, g.pages), skipped: s.skipped}
	seen := make(map[uint64]bool, len(frames))
	var newestMarker uint64
	for i := range frames {
		f := &frames[i]
		if seen[f.seq] {
			st.skipped = append(st.skipped, Region{Page: f.firstPage, Offset: f.start % g.pageSize,
				Reason: fmt.Sprintf("duplicate sequence %d ignored", f.seq)})
			continue
		}
		seen[f.seq] = true
		st.unique = append(st.unique, f)
		if f.seq > st.maxSeq {
			st.maxSeq = f.seq
			st.tail = f
		}
		switch f.tag {
		case tagMarker:
			m, err := c.decodeMarker(f.payload)
			if err != nil {
				st.skipped = append(st.skipped, Region{Page: f.firstPage, Offset: f.start % g.pageSize, Reason: err.Error()})
				continue
			}
			if f.seq > newestMarker {
				newestMarker = f.seq
				st.id = m.ID
				st.markerPage = f.firstPage
			}
		case tagRecord, tagRecord2:
			st.records = append(st.records, *f)
			for p := f.firstPage; p <= f.lastPage; p++ {
				st.pageMax[p] = max(st.pageMax[p], f.seq)
			}
		}
	}
	// The consumed mark is the highest among markers of the newest identity.
	for i := range frames {
		f := &frames[i]
		if f.tag != tagMarker {
			continue
		}
		if m, err := c.decodeMarker(f.payload); err == nil && string(m.ID) == string(st.id) {
			st.consumed = max(st.consumed, m.Consumed)
		}
	}
	sort.Slice(st.records, func(i, j int) bool { return st.records[i].seq < st.records[j].seq })
	sort.Slice(st.unique, func(i, j int) bool { return st.unique[i].seq < st.unique[j].seq })
	lost, damaged := lostRanges(s, &st, g, maxPayload)
	st.lost = lost
	st.skipped = append(st.skipped, damaged...)
	return st
}
