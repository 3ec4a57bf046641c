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

// scanImage finds every frame whose CRC verifies. It starts a parse at each
// page's header offset and follows frames while they start in that page.
func scanImage(img []byte, g geometry, maxPayload int) ([]frameInfo, []Region) {
	var frames []frameInfo
	var skipped []Region
	for p := 0; p < g.pages; p++ {
		page := img[p*g.pageSize : (p+1)*g.pageSize]
		if allFF(page) {
			continue // erased, never programmed
		}
		off := int(page[0])
		if off == 0 {
			continue // no frame starts in this page
		}
		if off >= g.pageSize {
			skipped = append(skipped, Region{Page: p, Offset: 0, Reason: fmt.Sprintf("page header %d out of range", off)})
			continue
		}
		pos := p*g.pageSize + off
		for pos >= 0 && g.page(pos) == p {
			f, end, err := parseFrame(img, g, pos, maxPayload)
			if err != nil {
				skipped = append(skipped, Region{Page: p, Offset: pos % g.pageSize, Reason: err.Error()})
				break
			}
			if f.tag == tagPad {
				break
			}
			frames = append(frames, f)
			pos = end
		}
	}
	return frames, skipped
}

func allFF(b []byte) bool {
	for _, x := range b {
		if x != 0xFF {
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
	case tagRecord, tagMarker:
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
}

// analyze interprets the frames a scan found.
func analyze(frames []frameInfo, skipped []Region, g geometry, c codec) mountState {
	st := mountState{markerPage: -1, pageMax: make([]uint64, g.pages), skipped: skipped}
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
		case tagRecord:
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
	return st
}
