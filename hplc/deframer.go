package hplc

import (
	"bytes"
	"encoding/binary"
)

// Deframer splits a byte stream (a serial line) into 1376.2 frames. It
// resynchronises after garbage and counts the bytes it skipped. It is not
// safe for concurrent use; one reader goroutine owns it.
type Deframer struct {
	buf     []byte
	skipped int
}

// Write appends received bytes. It never fails.
func (d *Deframer) Write(p []byte) (int, error) {
	d.buf = append(d.buf, p...)
	return len(p), nil
}

// Reset drops buffered bytes (e.g. after the module rebooted mid-frame).
func (d *Deframer) Reset() {
	d.skipped += len(d.buf)
	d.buf = d.buf[:0]
}

// Next returns the next complete frame that passes Decode, with the number of
// bytes skipped before it since the last frame. The frame is a copy. ok is
// false when more bytes are needed.
func (d *Deframer) Next() (frame []byte, skipped int, ok bool) {
	for {
		i := bytes.IndexByte(d.buf, Start)
		if i < 0 {
			d.drop(len(d.buf))
			return nil, 0, false
		}
		d.drop(i)
		if len(d.buf) < 3 {
			return nil, 0, false
		}
		n := int(binary.LittleEndian.Uint16(d.buf[1:]))
		if n < MinFrameLen || n > MaxFrameLen {
			d.drop(1)
			continue
		}
		if len(d.buf) < n {
			// A false start may claim a long length; if a complete frame
			// already starts later in the buffer, the start was garbage.
			if j := d.laterFrame(); j > 0 {
				d.drop(j)
				continue
			}
			return nil, 0, false
		}
		if _, _, err := Decode(d.buf[:n]); err != nil {
			d.drop(1)
			continue
		}
		frame = bytes.Clone(d.buf[:n])
		skipped = d.skipped
		d.skipped = 0
		d.buf = append(d.buf[:0], d.buf[n:]...)
		return frame, skipped, true
	}
}

func (d *Deframer) laterFrame() int {
	for j := 1; j < len(d.buf); j++ {
		if d.buf[j] != Start {
			continue
		}
		if _, _, err := Decode(d.buf[j:]); err == nil {
			return j
		}
	}
	return 0
}

func (d *Deframer) drop(n int) {
	d.skipped += n
	d.buf = append(d.buf[:0], d.buf[n:]...)
}
