package eeprom

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func mustPart(t testing.TB, name string) Part {
	t.Helper()
	p, err := LookupPart(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSimPageRolloverInsidePage(t *testing.T) {
	s := NewSim(SimConfig{Part: mustPart(t, "at24c256")})
	// 70 bytes starting 10 bytes before the end of page 1 (offset 118):
	// the part keeps writing inside page 1, wrapping to its start.
	data := make([]byte, 70)
	for i := range data {
		data[i] = byte(i + 1)
	}
	w := append([]byte{0x00, 118}, data...)
	if err := s.Tx(0x50, w, nil); err != nil {
		t.Fatal(err)
	}
	img := s.Image()
	page1 := img[64:128]
	// Bytes 0..9 went to offsets 54..63; bytes 10..63 to 0..53; bytes 64..69
	// wrapped again onto offsets 54..59, overwriting bytes 0..5.
	for off := 0; off < 64; off++ {
		var want byte
		switch {
		case off >= 54 && off < 60:
			want = data[64+off-54]
		case off >= 60:
			want = data[off-54]
		default:
			want = data[10+off]
		}
		if page1[off] != want {
			t.Fatalf("page 1 offset %d = %d, want %d", off, page1[off], want)
		}
	}
	for i, b := range img[128:192] {
		if b != 0xFF {
			t.Fatalf("page 2 byte %d changed to %#x: write crossed the page boundary", i, b)
		}
	}
	if got := s.Wear()[1]; got != 1 {
		t.Fatalf("page 1 wear = %d, want 1", got)
	}
}

func TestSimNAKsDuringWriteCycleAndChargesBusTime(t *testing.T) {
	p := mustPart(t, "at24c256")
	s := NewSim(SimConfig{Part: p, BusHz: 400_000})
	w := append([]byte{0, 0}, make([]byte, 64)...)
	if err := s.Tx(0x50, w, nil); err != nil {
		t.Fatal(err)
	}
	// start + (1 address + 2 memory address + 64 data) × 9 + stop = 605 bits.
	if got, want := s.Elapsed(), 605*2500*time.Nanosecond; got != want {
		t.Fatalf("page write took %v of bus time, want %v", got, want)
	}
	err := s.Tx(0x50, []byte{0, 0}, nil)
	if !errors.Is(err, ErrNAK) {
		t.Fatalf("Tx during write cycle: %v, want ErrNAK", err)
	}
	polls := 1
	for errors.Is(s.Tx(0x50, []byte{0, 0}, nil), ErrNAK) {
		polls++
	}
	end := s.Elapsed()
	// The part must stay busy for tWR and not much longer than tWR plus one poll.
	busy := end - 605*2500*time.Nanosecond
	if busy < p.WriteCycle || busy > p.WriteCycle+2*29*2500*time.Nanosecond {
		t.Fatalf("busy for %v (%d polls), want tWR %v", busy, polls, p.WriteCycle)
	}
	r := make([]byte, 4)
	if err := s.Tx(0x50, []byte{0, 0}, r); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(r, []byte{0, 0, 0, 0}) {
		t.Fatalf("read back %x", r)
	}
}

func TestSimAddressing(t *testing.T) {
	s := NewSim(SimConfig{Part: mustPart(t, "m24m02"), Addr: 0x50})
	for _, a := range []uint16{0x4f, 0x54, 0x57} {
		if err := s.Tx(a, []byte{0, 0}, make([]byte, 1)); !errors.Is(err, ErrNAK) {
			t.Errorf("address 0x%02x: %v, want ErrNAK", a, err)
		}
	}
	// Block 3 (device address 0x53) is memory 0x30000..0x3FFFF.
	if err := s.Tx(0x53, []byte{0x12, 0x34, 0xAB}, nil); err != nil {
		t.Fatal(err)
	}
	if got := s.Image()[0x31234]; got != 0xAB {
		t.Fatalf("byte at 0x31234 = %#x, want 0xab", got)
	}
	if err := s.Tx(0x50, []byte{0x12}, nil); err == nil {
		t.Fatal("a one-byte address on a two-address-byte part was accepted")
	}
}

func TestSimSequentialReadRollsOverArray(t *testing.T) {
	s := NewSim(SimConfig{Part: mustPart(t, "at24c32")})
	img := s.Image()
	img[0] = 0x11
	img[len(img)-1] = 0x22
	if err := s.Load(img); err != nil {
		t.Fatal(err)
	}
	r := make([]byte, 2)
	if err := s.Tx(0x50, []byte{0x0F, 0xFF}, r); err != nil {
		t.Fatal(err)
	}
	if r[0] != 0x22 || r[1] != 0x11 {
		t.Fatalf("read across the end = %x, want 2211", r)
	}
}

func TestSimTornPageModes(t *testing.T) {
	old := bytes.Repeat([]byte{0xAA}, 64)
	nw := bytes.Repeat([]byte{0x55}, 64)
	for _, mode := range []TornMode{TornOld, TornNew, TornRandom} {
		t.Run(mode.String(), func(t *testing.T) {
			s := NewSim(SimConfig{Part: mustPart(t, "at24c256"), Torn: mode, Seed: 7})
			if err := s.Tx(0x50, append([]byte{0, 64}, old...), nil); err != nil {
				t.Fatal(err)
			}
			s.PowerOn() // end the write cycle at once
			s.CutAt(1)
			err := s.Tx(0x50, append([]byte{0, 64}, nw...), nil)
			if !errors.Is(err, ErrPowerCut) {
				t.Fatalf("program during cut: %v, want ErrPowerCut", err)
			}
			if err := s.Tx(0x50, []byte{0, 0}, make([]byte, 1)); !errors.Is(err, ErrPowerCut) {
				t.Fatalf("Tx after cut: %v, want ErrPowerCut", err)
			}
			page := s.Image()[64:128]
			var nOld, nNew, nOther int
			for _, b := range page {
				switch b {
				case 0xAA:
					nOld++
				case 0x55:
					nNew++
				default:
					nOther++
				}
			}
			switch mode {
			case TornOld:
				if nOld != 64 {
					t.Fatalf("old mode left %d old bytes", nOld)
				}
			case TornNew:
				if nNew != 64 {
					t.Fatalf("new mode left %d new bytes", nNew)
				}
			case TornRandom:
				if nOld == 0 || nNew == 0 || nOther == 0 {
					t.Fatalf("random mode: old %d new %d garbage %d; want a mix", nOld, nNew, nOther)
				}
			}
			for i, b := range s.Image()[128:] {
				if b != 0xFF {
					t.Fatalf("byte %d outside the torn page changed", 128+i)
				}
			}
			s.PowerOn()
			if err := s.Tx(0x50, []byte{0, 0}, make([]byte, 1)); err != nil {
				t.Fatalf("after PowerOn: %v", err)
			}
		})
	}
}

func TestSimPowerCutDuringWriteCycleTears(t *testing.T) {
	s := NewSim(SimConfig{Part: mustPart(t, "at24c256"), Torn: TornOld})
	if err := s.Tx(0x50, append([]byte{0, 0}, bytes.Repeat([]byte{1}, 64)...), nil); err != nil {
		t.Fatal(err)
	}
	s.PowerCut() // still inside tWR
	if b := s.Image()[0]; b != 0xFF {
		t.Fatalf("page written then cut within tWR kept %#x, want old 0xff", b)
	}
}

func TestSimImagePersistence(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ee.bin")
	p := mustPart(t, "at24c64")
	s, err := OpenSimImage(path, SimConfig{Part: p})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Tx(0x50, []byte{0x01, 0x00, 9, 8, 7}, nil); err != nil {
		t.Fatal(err)
	}
	// Killed without Close: the page is already in the file.
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) != p.Size || !bytes.Equal(raw[0x100:0x103], []byte{9, 8, 7}) {
		t.Fatalf("image holds %x at 0x100 (len %d)", raw[0x100:0x103], len(raw))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := OpenSimImage(path, SimConfig{Part: p})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if w := s2.Wear()[8]; w != 1 {
		t.Fatalf("wear of page 8 after reopen = %d, want 1", w)
	}
	if _, err := OpenSimImage(path, SimConfig{Part: mustPart(t, "at24c256")}); err == nil {
		t.Fatal("an 8 KiB image opened as an AT24C256")
	}
}
