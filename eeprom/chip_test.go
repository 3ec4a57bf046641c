package eeprom

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// recorder is a Bus that forwards to a Sim and records each transaction, so
// tests can check exactly what a driver put on the wire.
type recorder struct {
	*Sim
	txs []string
}

func (r *recorder) Tx(addr uint16, w, rd []byte) error {
	err := r.Sim.Tx(addr, w, rd)
	res := "ok"
	if err != nil {
		res = "nak"
		if !errors.Is(err, ErrNAK) {
			res = "err"
		}
	}
	r.txs = append(r.txs, fmt.Sprintf("%02x w%d r%d %s", addr, len(w), len(rd), res))
	return err
}

func TestChipSplitsWritesOnPageBoundaries(t *testing.T) {
	sim := NewSim(SimConfig{Part: mustPart(t, "at24c256")})
	rec := &recorder{Sim: sim}
	c, err := NewChip(rec, sim.Part(), 0x50)
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 150)
	for i := range data {
		data[i] = byte(i)
	}
	// 150 bytes at 0x3A: 6 bytes to the end of page 0, 64 + 64, then 16.
	n, err := c.WriteAt(data, 0x3A)
	if err != nil || n != 150 {
		t.Fatalf("WriteAt = %d, %v", n, err)
	}
	var writes []int
	for _, tx := range rec.txs {
		var a, w, r int
		var res string
		fmt.Sscanf(tx, "%x w%d r%d %s", &a, &w, &r, &res)
		if w > 2 {
			writes = append(writes, w-2)
			if res != "ok" {
				t.Fatalf("a data write was NAKed: the driver did not wait for the write cycle: %v", rec.txs)
			}
		}
	}
	if fmt.Sprint(writes) != "[6 64 64 16]" {
		t.Fatalf("page writes carried %v data bytes, want [6 64 64 16]", writes)
	}
	if sim.Programs() != 4 {
		t.Fatalf("%d program ops, want 4", sim.Programs())
	}
	// WriteAt returned only after the last write cycle: the part is idle.
	if err := sim.Tx(0x50, []byte{0, 0}, nil); err != nil {
		t.Fatalf("part still busy after WriteAt returned: %v", err)
	}
	got := make([]byte, 150)
	if _, err := c.ReadAt(got, 0x3A); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatal("read back differs")
	}
	if !strings.HasSuffix(rec.txs[1], "nak") {
		t.Fatalf("no ACK polling after the first page write: %v", rec.txs[:3])
	}
}

func TestChipPhysicalPageRate(t *testing.T) {
	p := mustPart(t, "at24c256")
	sim := NewSim(SimConfig{Part: p, BusHz: 400_000})
	c, _ := NewChip(sim, p, 0x50)
	pages := 32
	if _, err := c.WriteAt(make([]byte, pages*64), 0); err != nil {
		t.Fatal(err)
	}
	// Physical limit: 605 bit times plus tWR per page; polling adds at most
	// one poll (11 bits) plus the final ACKed poll (29 bits) per page.
	lo := time.Duration(pages) * (605*2500*time.Nanosecond + p.WriteCycle)
	hi := lo + time.Duration(pages)*(11+29)*2500*time.Nanosecond
	if el := sim.Elapsed(); el < lo || el > hi {
		t.Fatalf("%d pages took %v of bus time, want within [%v, %v]", pages, el, lo, hi)
	}
}

func TestChipFoldedAddressBits(t *testing.T) {
	p := mustPart(t, "at24cm01")
	sim := NewSim(SimConfig{Part: p, Addr: 0x52})
	c, err := NewChip(sim, p, 0x52)
	if err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte{0xC3}, 512)
	// Straddles the 64 KiB block boundary: two device addresses.
	if _, err := c.WriteAt(data, 0x10000-256); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 512)
	if _, err := c.ReadAt(got, 0x10000-256); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatal("read across the block boundary differs")
	}
	if _, err := NewChip(sim, p, 0x53); err == nil {
		t.Fatal("odd base address accepted for a part with one folded address bit")
	}
}

func TestChipErrors(t *testing.T) {
	p := mustPart(t, "at24c256")
	sim := NewSim(SimConfig{Part: p, Addr: 0x50})
	// Wrong address: the device never acknowledges.
	c, _ := NewChip(sim, p, 0x57)
	_, err := c.ReadAt(make([]byte, 4), 0)
	if !errors.Is(err, ErrNAK) || !strings.Contains(err.Error(), "0x57") || !strings.Contains(err.Error(), "device absent") {
		t.Fatalf("read from absent device: %v", err)
	}
	c, _ = NewChip(sim, p, 0x50)
	if _, err := c.WriteAt(make([]byte, 2), int64(p.Size-1)); !errors.Is(err, ErrRange) {
		t.Fatalf("write past the end: %v", err)
	}
	if _, err := c.ReadAt(make([]byte, 1), -1); !errors.Is(err, ErrRange) {
		t.Fatalf("read at -1: %v", err)
	}
	// A part that never finishes its write cycle: the deadline fires on the
	// bus's (virtual) clock.
	sim.InjectFault(func(addr uint16, w, r []byte) error {
		if len(w) == 2 && len(r) == 0 {
			sim.charge(11)
			return fmt.Errorf("stuck: %w", ErrNAK)
		}
		return nil
	})
	_, err = c.WriteAt([]byte{1}, 0)
	if !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "0x00000") {
		t.Fatalf("stuck write cycle: %v", err)
	}
	// A bus error is reported as such and not retried as a NAK.
	boom := errors.New("arbitration lost")
	sim.InjectFault(func(uint16, []byte, []byte) error { return boom })
	if _, err := c.WriteAt([]byte{1}, 64); !errors.Is(err, boom) {
		t.Fatalf("bus error: %v", err)
	}
	sim.InjectFault(nil)
	if _, err := LookupPart("at24c1024"); err == nil || !strings.Contains(err.Error(), "at24c256") {
		t.Fatalf("unknown part: %v", err)
	}
}

func TestChipRandomWritesMatchModel(t *testing.T) {
	for _, name := range []string{"at24c32", "at24c512", "m24m02"} {
		t.Run(name, func(t *testing.T) {
			p := mustPart(t, name)
			sim := NewSim(SimConfig{Part: p})
			c, _ := NewChip(sim, p, 0x50)
			model := bytes.Repeat([]byte{0xFF}, p.Size)
			rng := rand.New(rand.NewPCG(1, 2))
			for i := 0; i < 200; i++ {
				n := 1 + rng.IntN(3*p.PageSize)
				off := rng.IntN(p.Size - n)
				buf := make([]byte, n)
				for j := range buf {
					buf[j] = byte(rng.Uint32())
				}
				if _, err := c.WriteAt(buf, int64(off)); err != nil {
					t.Fatal(err)
				}
				copy(model[off:], buf)
			}
			got := make([]byte, p.Size)
			if _, err := c.ReadAt(got, 0); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, model) {
				t.Fatal("chip contents differ from the model")
			}
		})
	}
}
