package proto698

// Deframer finds DL/T 698.45 frames in a byte stream (serial line or TCP)
// and resynchronises after garbage: a candidate start byte is accepted only
// when its header checksum (HCS) matches, and a frame only when its FCS and
// end byte are right; otherwise the deframer drops that start byte and scans
// on. FE preamble bytes are dropped silently; every other dropped byte is
// counted and reported with the next frame.
//
// Feed bytes with Write and take frames with Next. The zero value is ready.
// A Deframer is owned by one goroutine (the link's reader).
type Deframer struct {
	// MaxFrame bounds a frame's size (0x68..0x16); a start byte whose length
	// field exceeds it is treated as garbage. 0 means MaxFrameLen.
	MaxFrame int

	buf     []byte
	off     int // start of unconsumed bytes in buf
	skipped int // non-FE bytes dropped since the last frame
}

// Write appends stream bytes. It never fails.
func (d *Deframer) Write(p []byte) (int, error) {
	if d.off > 0 && d.off == len(d.buf) {
		d.buf, d.off = d.buf[:0], 0
	} else if d.off > 4096 && d.off > len(d.buf)/2 {
		n := copy(d.buf, d.buf[d.off:])
		d.buf, d.off = d.buf[:n], 0
	}
	d.buf = append(d.buf, p...)
	return len(p), nil
}

// Buffered returns how many bytes wait for the rest of a frame.
func (d *Deframer) Buffered() int { return len(d.buf) - d.off }

// Skipped returns the non-preamble bytes dropped since the last frame
// returned (useful at end of stream to report trailing garbage).
func (d *Deframer) Skipped() int { return d.skipped }

// Reset drops all buffered bytes and the skipped count.
func (d *Deframer) Reset() { d.buf, d.off, d.skipped = d.buf[:0], 0, 0 }

// Next returns the next complete, checksum-valid frame (from 0x68 to 0x16,
// without preamble) and the number of non-preamble bytes dropped before it.
// The frame aliases the deframer's buffer and is valid until the next Write.
// ok is false when more bytes are needed.
func (d *Deframer) Next() (frame []byte, skipped int, ok bool) {
	max := d.MaxFrame
	if max <= 0 || max > MaxFrameLen {
		max = MaxFrameLen
	}
	for d.off < len(d.buf) {
		b := d.buf[d.off:]
		if b[0] != StartByte {
			if b[0] != Preamble {
				d.skipped++
			}
			d.off++
			continue
		}
		var f Frame
		hdr, st := decodeHeader(&f, b, 0)
		if st == headerShort {
			return nil, 0, false
		}
		if st != headerOK {
			d.drop()
			continue
		}
		total := int(f.Length) + 2
		if total > max {
			d.drop()
			continue
		}
		if len(b) < total {
			return nil, 0, false
		}
		fcs := uint16(b[total-3]) | uint16(b[total-2])<<8
		if b[total-1] != EndByte || CRC16(b[1:total-3]) != fcs || hdr > total-3 {
			d.drop()
			continue
		}
		frame = b[:total:total]
		skipped = d.skipped
		d.skipped = 0
		d.off += total
		return frame, skipped, true
	}
	return nil, 0, false
}

// drop discards the start byte at d.off as garbage.
func (d *Deframer) drop() {
	d.off++
	d.skipped++
}

// Expire gives up on the partial frame the deframer waits for: the line
// has been silent for the link's inter-byte timeout, so the rest of that
// frame is not coming (a header announcing 16 KB must not hold the link
// until 16,384 bytes arrive). The partial frame's start byte is dropped as
// garbage and the bytes after it are scanned again, so complete frames a
// false header had swallowed are still found; what cannot form a frame is
// dropped. It calls yield for each frame found, in order (the frame
// aliases the deframer's buffer, valid during the call), and returns the
// number of non-preamble bytes dropped, skipped bytes counted before
// included. Afterwards the deframer is empty.
func (d *Deframer) Expire(yield func(frame []byte)) (dropped int) {
	for d.off < len(d.buf) {
		d.drop()
		for {
			raw, skipped, ok := d.Next()
			if !ok {
				break
			}
			dropped += skipped
			yield(raw)
		}
	}
	dropped += d.skipped
	d.Reset()
	return dropped
}
