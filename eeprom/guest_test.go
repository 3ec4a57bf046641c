//go:build guest && linux

package eeprom_test

// Hardware-in-the-loop tests: run inside test/guest/run-guest.sh (a Debian
// armmp kernel on QEMU's AST2600 with i2c-aspeed, i2c-dev and an
// AT24C256-style EEPROM at /dev/i2c-5 address 0x50), never on the host.
// .ci/guest-test builds them with -tags guest and runs them with
// -test.run '^TestGuest'.
//
// What the emulated EEPROM does not model (QEMU's at24c-eeprom): it never
// NAKs during a write cycle (there is none: bytes land at once), and it
// writes straight across page boundaries. Page rollover, busy NAKs and torn
// pages are covered by the simulator tests on the host; these tests prove
// the real kernel adapter and driver path, and its errno for a NAK.

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"holdup/eeprom"
)

var (
	guestBus  = flag.String("guest.bus", "/dev/i2c-5", "i2c-dev adapter of the guest's EEPROM")
	guestAddr = flag.Uint("guest.addr", 0x50, "7-bit address of the guest's EEPROM")
	guestPart = flag.String("guest.part", "at24c256", "part of the guest's EEPROM")
)

func openGuestChip(t *testing.T, addr uint16) (*eeprom.DevBus, *eeprom.Chip) {
	t.Helper()
	bus, err := eeprom.OpenDevBus(*guestBus)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bus.Close() })
	part, err := eeprom.LookupPart(*guestPart)
	if err != nil {
		t.Fatal(err)
	}
	c, err := eeprom.NewChip(bus, part, addr)
	if err != nil {
		t.Fatal(err)
	}
	return bus, c
}

// pattern fills p with bytes derived from seed, so a read-back that lands
// on the wrong address or page is caught.
func pattern(seed uint64, p []byte) {
	rng := rand.New(rand.NewPCG(seed, 0x68_6f_6c_64))
	for i := range p {
		p[i] = byte(rng.Uint32())
	}
}

// TestGuestChipPageBoundaries writes runs that start and end inside pages
// and straddle 1, 2 and many page boundaries, then reads back through the
// real adapter: what the driver split into page writes must land at the
// right addresses.
func TestGuestChipPageBoundaries(t *testing.T) {
	_, c := openGuestChip(t, uint16(*guestAddr))
	ps := c.PageSize()
	size := int(c.Size())
	cases := []struct {
		name string
		off  int
		n    int
	}{
		{"one byte", 0x1000, 1},
		{"exactly one page", 0x1040, ps},
		{"end of a page into the next", 0x2000 - 6, 16},
		{"mid page across two boundaries", 0x203A, 150},
		{"sixteen pages unaligned", 0x3005, 16*ps + 3},
		{"last bytes of the chip", size - 70, 70},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// Guard bytes either side must survive the write.
			lo, hi := max(tc.off-8, 0), min(tc.off+tc.n+8, size)
			before := make([]byte, hi-lo)
			if _, err := c.ReadAt(before, int64(lo)); err != nil {
				t.Fatal(err)
			}
			data := make([]byte, tc.n)
			pattern(uint64(i+1), data)
			st0 := c.Stats()
			n, err := c.WriteAt(data, int64(tc.off))
			if err != nil || n != tc.n {
				t.Fatalf("WriteAt(%d bytes at 0x%04x) = %d, %v", tc.n, tc.off, n, err)
			}
			wantPages := (tc.off+tc.n-1)/ps - tc.off/ps + 1
			if got := c.Stats().PageWrites - st0.PageWrites; got != uint64(wantPages) {
				t.Fatalf("%d page writes for %d bytes at 0x%04x, want %d", got, tc.n, tc.off, wantPages)
			}
			after := make([]byte, hi-lo)
			if _, err := c.ReadAt(after, int64(lo)); err != nil {
				t.Fatal(err)
			}
			want := slices.Clone(before)
			copy(want[tc.off-lo:], data)
			if !bytes.Equal(after, want) {
				i := 0
				for i < len(after) && after[i] == want[i] {
					i++
				}
				t.Fatalf("read back differs first at 0x%04x: got %02x, want %02x", lo+i, after[i], want[i])
			}
		})
	}
}

// TestGuestChipACKPolling checks the acknowledge path the driver's ACK
// polling relies on: after a page write the address-only dummy write is
// accepted by the real adapter and changes nothing, and a device that does
// not acknowledge comes back from i2c-aspeed as an errno the bus maps to
// ErrNAK (what polling retries on). QEMU's EEPROM finishes a page write at
// once, so it never NAKs a poll: the driver sees 0 NAKed polls here, where
// a real AT24C256 NAKs for up to tWR = 5 ms.
func TestGuestChipACKPolling(t *testing.T) {
	bus, c := openGuestChip(t, uint16(*guestAddr))
	data := make([]byte, 4*c.PageSize())
	pattern(7, data)
	st0 := c.Stats()
	if _, err := c.WriteAt(data, 0x4000); err != nil {
		t.Fatal(err)
	}
	st := c.Stats()
	if st.PageWrites-st0.PageWrites != 4 {
		t.Fatalf("%d page writes, want 4", st.PageWrites-st0.PageWrites)
	}
	t.Logf("emulation: %d NAKed polls after 4 page writes (QEMU's EEPROM has no write cycle; a real part NAKs until tWR ends)",
		st.Polls-st0.Polls)
	// A dummy write (memory address only) is what the driver polls with:
	// the adapter must carry a 2-byte write that programs nothing.
	for i := 0; i < 3; i++ {
		if err := bus.Tx(uint16(*guestAddr), []byte{0x40, 0x00}, nil); err != nil {
			t.Fatalf("address-only poll write %d: %v", i, err)
		}
	}
	got := make([]byte, len(data))
	if _, err := c.ReadAt(got, 0x4000); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatal("poll writes changed the memory")
	}
	// The NAK path through the real adapter, as a busy part would give it:
	// an address nobody answers.
	err := bus.Tx(0x57, []byte{0x40, 0x00}, nil)
	if !errors.Is(err, eeprom.ErrNAK) {
		t.Fatalf("poll of a silent address: %v, want an error wrapping eeprom.ErrNAK (kernel errno not mapped?)", err)
	}
	t.Logf("i2c-aspeed NAK: %v", err)
}

// TestGuestChipWrongAddress: a chip configured at an address where no
// device answers fails within the poll deadline with an error that names
// the address and the bus, for reads and for writes; it does not hang.
func TestGuestChipWrongAddress(t *testing.T) {
	for _, addr := range []uint16{0x57, 0x54} {
		_, c := openGuestChip(t, addr)
		type res struct {
			err error
			d   time.Duration
		}
		ops := map[string]func() error{
			"read":  func() error { _, err := c.ReadAt(make([]byte, 16), 0); return err },
			"write": func() error { _, err := c.WriteAt([]byte{1, 2, 3}, 0x10); return err },
		}
		for _, op := range []string{"read", "write"} {
			ch := make(chan res, 1)
			go func() {
				start := time.Now()
				err := ops[op]()
				ch <- res{err, time.Since(start)}
			}()
			var r res
			select {
			case r = <-ch:
			case <-time.After(10 * time.Second):
				t.Fatalf("%s at absent address 0x%02x hung for 10 s", op, addr)
			}
			if r.err == nil {
				t.Fatalf("%s at absent address 0x%02x succeeded", op, addr)
			}
			msg := r.err.Error()
			if !errors.Is(r.err, eeprom.ErrNAK) || !strings.Contains(msg, fmt.Sprintf("0x%02x", addr)) ||
				!strings.Contains(msg, *guestBus) || !strings.Contains(msg, "device absent or wrong address") {
				t.Fatalf("%s at absent address 0x%02x: %q: want ErrNAK naming the address, the bus and the likely cause", op, addr, msg)
			}
			t.Logf("%s at 0x%02x failed after %v: %v", op, addr, r.d.Round(time.Millisecond), r.err)
		}
	}
}

// TestGuestPageWriteLatency measures one page write (data transfer plus
// the acknowledge poll) and a one-page read on the emulated adapter and
// prints p50/p99. These are emulation figures (QEMU TCG, i2c-aspeed
// interrupts, no write cycle): they show the kernel path's overhead, not a
// real part's 5 ms tWR.
func TestGuestPageWriteLatency(t *testing.T) {
	_, c := openGuestChip(t, uint16(*guestAddr))
	ps := c.PageSize()
	const n = 200
	page := make([]byte, ps)
	wr := make([]time.Duration, 0, n)
	rd := make([]time.Duration, 0, n)
	for i := 0; i < n; i++ {
		pattern(uint64(1000+i), page)
		off := int64((i % c.Part().Pages()) * ps)
		start := time.Now()
		if _, err := c.WriteAt(page, off); err != nil {
			t.Fatal(err)
		}
		wr = append(wr, time.Since(start))
		back := make([]byte, ps)
		start = time.Now()
		if _, err := c.ReadAt(back, off); err != nil {
			t.Fatal(err)
		}
		rd = append(rd, time.Since(start))
		if !bytes.Equal(back, page) {
			t.Fatalf("page at 0x%04x reads back differently", off)
		}
	}
	q := func(d []time.Duration, p float64) time.Duration {
		s := slices.Clone(d)
		slices.Sort(s)
		return s[min(len(s)-1, int(p*float64(len(s))))]
	}
	fmt.Printf("\nGUEST-METRIC eeprom page-write (emulation, %d-byte page + ACK poll, n=%d): p50 %v p99 %v max %v\n",
		ps, n, q(wr, 0.5).Round(time.Microsecond), q(wr, 0.99).Round(time.Microsecond), slices.Max(wr).Round(time.Microsecond))
	fmt.Printf("GUEST-METRIC eeprom page-read (emulation, %d bytes, n=%d): p50 %v p99 %v\n",
		ps, n, q(rd, 0.5).Round(time.Microsecond), q(rd, 0.99).Round(time.Microsecond))
}

// TestGuestChipWholeImage (last in the file, so it runs last) programs the whole chip with a pattern, reads it
// back in one ReadAt (the driver splits it into i2c-dev-sized reads) and
// prints its SHA-256, which .ci/guest-test compares with the host's
// EEPROM_FILE: the bytes reached QEMU's backing store, which is what
// survives a power cut.
func TestGuestChipWholeImage(t *testing.T) {
	_, c := openGuestChip(t, uint16(*guestAddr))
	img := make([]byte, c.Size())
	pattern(0xEE, img)
	start := time.Now()
	if _, err := c.WriteAt(img, 0); err != nil {
		t.Fatal(err)
	}
	wr := time.Since(start)
	got := make([]byte, len(img))
	start = time.Now()
	if _, err := c.ReadAt(got, 0); err != nil {
		t.Fatal(err)
	}
	rd := time.Since(start)
	if !bytes.Equal(got, img) {
		t.Fatal("whole-chip read back differs from what was written")
	}
	st := c.Stats()
	t.Logf("emulation: %d bytes written in %d page writes in %v (%.0f B/s), read in %v (%.0f B/s)",
		len(img), st.PageWrites, wr.Round(time.Millisecond), float64(len(img))/wr.Seconds(),
		rd.Round(time.Millisecond), float64(len(img))/rd.Seconds())
	// On a line of its own for the host script to compare with the image file.
	fmt.Printf("\nGUEST-EEPROM-SHA256 %x\n", sha256.Sum256(img))
}
