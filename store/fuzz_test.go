package store

import (
	"bytes"
	"context"
	"hash/crc32"
	"testing"

	"holdup/eeprom"
)

// FuzzOpen mounts arbitrary chip images: Open never panics, and Replay
// never hands out a record whose frame CRC fails or whose CBOR does not
// verify.
func FuzzOpen(f *testing.F) {
	part, _ := eeprom.LookupPart("at24c32")
	// Seed with a real journal image, a blank chip and a torn one.
	sim := eeprom.NewSim(eeprom.SimConfig{Part: part, Seed: 3})
	chip, _ := eeprom.NewChip(sim, part, 0x50)
	j, err := Open(chip, Options{})
	if err != nil {
		f.Fatal(err)
	}
	// 24 control records: what a 4 KiB part admits, its admission reserve
	// (Journal.Reserve) left for the outage lifecycle records.
	for i := 0; i < 24; i++ {
		if _, err := j.Append(context.Background(), typicalRecord(i)); err != nil {
			f.Fatal(err)
		}
	}
	j.Close()
	img := sim.Image()
	f.Add(img)
	f.Add(make([]byte, part.Size))
	torn := append([]byte(nil), img...)
	for i := 300; i < 340; i++ {
		torn[i] ^= byte(i)
	}
	f.Add(torn)
	f.Fuzz(func(t *testing.T, data []byte) {
		img := make([]byte, part.Size)
		for i := range img {
			img[i] = 0xFF
		}
		copy(img, data)
		sim := eeprom.NewSim(eeprom.SimConfig{Part: part})
		if err := sim.Load(img); err != nil {
			t.Fatal(err)
		}
		chip, _ := eeprom.NewChip(sim, part, 0x50)
		j, err := Open(chip, Options{})
		if err != nil {
			return // a clear error is fine; a panic is not
		}
		defer j.Close()
		c := newCodec()
		// What the image holds, found independently of the writer: a
		// CRC-valid record frame of either version that verifies.
		onImage := map[uint64][]byte{}
		if in, err := Inspect(img, chip.PageSize()); err == nil {
			for _, r := range in.Records {
				if r.Err == nil {
					onImage[r.Seq] = r.Raw
				}
			}
		}
		_, err = j.Replay(context.Background(), func(e Entry) error {
			want := frameCRC(tagRecord, e.Seq, e.Raw)
			if !onChip(img, chip.PageSize(), e.Seq, e.Raw, want) && !bytes.Equal(onImage[e.Seq], e.Raw) {
				t.Fatalf("replayed record %d is not a CRC-valid frame of the image", e.Seq)
			}
			if _, err := c.decode(e.Raw); err != nil {
				t.Fatalf("replayed record %d does not verify: %v", e.Seq, err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

// onChip reports whether the image holds a frame for seq with this payload
// and a matching stored CRC (checked independently of the scanner).
func onChip(img []byte, pageSize int, seq uint64, payload []byte, crc uint32) bool {
	frame := appendFrame(nil, tagRecord, seq, payload)
	if crc32.Checksum(frame[:len(frame)-4], castagnoli) != crc {
		return false
	}
	// Strip page headers to get the stream, then search for the frame.
	stream := make([]byte, 0, len(img))
	for p := 0; p+pageSize <= len(img); p += pageSize {
		stream = append(stream, img[p+1:p+pageSize]...)
	}
	for i := 0; i+len(frame) <= len(stream); i++ {
		if string(stream[i:i+len(frame)]) == string(frame) {
			return true
		}
	}
	return false
}
