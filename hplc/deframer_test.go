package hplc

import (
	"bytes"
	"testing"
)

func TestDeframerResync(t *testing.T) {
	vs := loadVectors(t)
	a, b := vs[0].raw, vs[len(vs)-1].raw
	// garbage, a false start claiming 0x0400 bytes, a frame, a corrupt copy, a frame split in two writes
	corrupt := bytes.Clone(a)
	corrupt[len(corrupt)-2]++
	stream := append([]byte{0x00, 0xFE, 0x68, 0x00, 0x04, 0x11}, a...)
	stream = append(stream, corrupt...)
	var d Deframer
	d.Write(stream)
	d.Write(b[:7])
	got, skipped, ok := d.Next()
	if !ok || !bytes.Equal(got, a) || skipped != 6 {
		t.Fatalf("first: ok=%v skipped=%d frame=%X", ok, skipped, got)
	}
	if _, _, ok := d.Next(); ok {
		t.Fatal("frame returned from an incomplete tail")
	}
	d.Write(b[7:])
	got, skipped, ok = d.Next()
	if !ok || !bytes.Equal(got, b) || skipped != len(corrupt) {
		t.Fatalf("second: ok=%v skipped=%d (want %d) frame=%X", ok, skipped, len(corrupt), got)
	}
	if _, _, ok := d.Next(); ok {
		t.Fatal("extra frame")
	}
}
