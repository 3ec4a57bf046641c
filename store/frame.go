package store

import (
	"encoding/binary"
	"hash/crc32"
)

// On-chip layout (see the package doc for the CDDL and prose).
const (
	tagPad    = 0x00 // rest of the page is padding
	tagRecord = 0x52 // 'R': a record frame
	tagMarker = 0x4D // 'M': a consume marker frame
	// Version 2 (the compact format).
	tagRecord2 = 0x72 // 'r': a compact record frame
	tagDict    = 0x44 // 'D': a dictionary frame
	idLen      = 8    // journal identity length
	crcLen     = 4
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// appendFrame appends the frame for payload to dst.
func appendFrame(dst []byte, tag byte, seq uint64, payload []byte) []byte {
	start := len(dst)
	dst = append(dst, tag)
	dst = binary.AppendUvarint(dst, uint64(len(payload)))
	dst = binary.AppendUvarint(dst, seq)
	dst = append(dst, payload...)
	return binary.BigEndian.AppendUint32(dst, crc32.Checksum(dst[start:], castagnoli))
}

// geometry maps stream positions onto the chip. Byte 0 of every page is
// the page header; a stream position is an absolute chip offset whose
// in-page offset is never 0.
type geometry struct {
	pageSize int
	pages    int
}

func (g geometry) page(pos int) int { return pos / g.pageSize }

// next returns the position after pos, skipping the next page's header;
// it returns -1 past the end of the chip.
func (g geometry) next(pos int) int {
	pos++
	if pos%g.pageSize == 0 {
		pos++
	}
	if pos >= g.pages*g.pageSize {
		return -1
	}
	return pos
}

// span returns how many pages after the first a frame of n bytes starting
// at in-page offset off (1 ≤ off < pageSize) reaches into.
func (g geometry) span(off, n int) int {
	room := g.pageSize - off
	if n <= room {
		return 0
	}
	per := g.pageSize - 1
	return (n - room + per - 1) / per
}

// isRecordTag reports whether tag is a record frame's (either version).
func isRecordTag(tag byte) bool { return tag == tagRecord || tag == tagRecord2 }
