package eeprom

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"sync"
	"time"
)

// TornMode says what a page being programmed at the instant of a power cut
// holds afterwards. Datasheets warn that an interrupted write cycle leaves
// the whole page undefined (CAT24C512: "the entire page will be
// reprogrammed"), so the journal must survive every mode.
type TornMode int

const (
	// TornRandom leaves each byte of the page old, new or garbage, chosen
	// by the simulator's seeded generator.
	TornRandom TornMode = iota
	// TornOld leaves the page as it was before the write.
	TornOld
	// TornNew leaves the page fully programmed (the cut came just after).
	TornNew
)

// String returns the mode's name.
func (m TornMode) String() string {
	switch m {
	case TornOld:
		return "old"
	case TornNew:
		return "new"
	case TornRandom:
		return "random"
	}
	return fmt.Sprintf("TornMode(%d)", int(m))
}

// ParseTornMode parses "old", "new" or "random".
func ParseTornMode(s string) (TornMode, error) {
	for _, m := range []TornMode{TornOld, TornNew, TornRandom} {
		if m.String() == s {
			return m, nil
		}
	}
	return 0, fmt.Errorf("eeprom: unknown torn-page mode %q (want old, new or random)", s)
}

// SimConfig configures a simulated part.
type SimConfig struct {
	// Part is the simulated part number.
	Part Part
	// Addr is the base 7-bit device address (0x50 when A2..A0 are tied low).
	Addr uint16
	// BusHz is the SCL frequency the virtual clock charges bit times at
	// (default 400 kHz).
	BusHz int
	// Seed seeds the generator used for torn pages in TornRandom mode.
	Seed uint64
	// Torn selects what a page interrupted by a power cut holds.
	Torn TornMode
}

// Sim is a simulated AT24-family EEPROM on its own I2C bus. It models the
// rules a driver must respect on the real part:
//
//   - a write transaction loads the page latch; bytes past the end of the
//     page roll over to the start of the same page;
//   - at the stop condition the part programs the page and NAKs its
//     address for tWR (the datasheet maximum);
//   - a virtual clock charges every transaction its bit time on the bus
//     (start, 9 clocks per byte with its ACK, repeated start, stop) at the
//     configured SCL rate, so benchmarks measure simulated time and never
//     sleep;
//   - each page counts its program operations (wear);
//   - a power cut during a write cycle tears the page being programmed
//     (see TornMode); afterwards every transaction fails with ErrPowerCut
//     until PowerOn.
//
// A Sim may persist its memory to an image file, page by page as each
// program operation completes, so a killed process leaves the image a real
// part would hold.
type Sim struct {
	mu        sync.Mutex
	part      Part
	base      uint16
	bit       time.Duration
	torn      TornMode
	rng       *rand.Rand
	now       time.Duration
	busyUntil time.Duration
	mem       []byte
	wear      []uint32
	ptr       int
	programs  uint64
	cutAt     uint64 // absolute program number to interrupt; 0 = none
	dead      bool
	last      struct {
		page     int
		old, new []byte
	}
	fault      func(addr uint16, w, r []byte) error
	file       *os.File
	path       string
	persistErr error
}

// NewSim returns a simulated part whose memory starts erased (0xFF), as
// parts leave the factory.
func NewSim(cfg SimConfig) *Sim {
	if cfg.Part.Size == 0 {
		cfg.Part, _ = LookupPart("at24c256")
	}
	if cfg.Addr == 0 {
		cfg.Addr = 0x50
	}
	if cfg.BusHz <= 0 {
		cfg.BusHz = 400_000
	}
	s := &Sim{
		part: cfg.Part,
		base: cfg.Addr,
		bit:  time.Second / time.Duration(cfg.BusHz),
		torn: cfg.Torn,
		rng:  rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
		mem:  make([]byte, cfg.Part.Size),
		wear: make([]uint32, cfg.Part.Pages()),
	}
	for i := range s.mem {
		s.mem[i] = 0xFF
	}
	s.last.old = make([]byte, cfg.Part.PageSize)
	s.last.new = make([]byte, cfg.Part.PageSize)
	s.last.page = -1
	return s
}

// OpenSimImage returns a simulated part backed by the image file at path.
// A missing file is created erased; an existing file must be exactly the
// part's size. Every completed program operation is written through to the
// file; wear counters are kept in path+".wear" and saved by Close.
func OpenSimImage(path string, cfg SimConfig) (*Sim, error) {
	s := NewSim(cfg)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		f, err = os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return nil, fmt.Errorf("eeprom: create image: %w", err)
		}
		if _, err := f.WriteAt(s.mem, 0); err != nil {
			f.Close()
			return nil, fmt.Errorf("eeprom: create image %s: %w", path, err)
		}
	case err != nil:
		return nil, fmt.Errorf("eeprom: open image: %w", err)
	default:
		st, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("eeprom: image %s: %w", path, err)
		}
		if st.Size() != int64(s.part.Size) {
			f.Close()
			return nil, fmt.Errorf("eeprom: image %s is %d bytes but part %s holds %d: wrong part or not an image",
				path, st.Size(), s.part.Name, s.part.Size)
		}
		if _, err := f.ReadAt(s.mem, 0); err != nil {
			f.Close()
			return nil, fmt.Errorf("eeprom: read image %s: %w", path, err)
		}
		if w, err := os.ReadFile(path + ".wear"); err == nil && len(w) == 4*len(s.wear) {
			for i := range s.wear {
				s.wear[i] = binary.LittleEndian.Uint32(w[4*i:])
			}
		}
	}
	s.file, s.path = f, path
	return s, nil
}

// Close saves the wear counters and closes the image file, if any.
func (s *Sim) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.file == nil {
		return nil
	}
	w := make([]byte, 4*len(s.wear))
	for i, c := range s.wear {
		binary.LittleEndian.PutUint32(w[4*i:], c)
	}
	werr := os.WriteFile(s.path+".wear", w, 0o644)
	cerr := s.file.Close()
	s.file = nil
	if cerr != nil {
		return fmt.Errorf("eeprom: close image %s: %w", s.path, cerr)
	}
	if werr != nil {
		return fmt.Errorf("eeprom: save wear counters: %w", werr)
	}
	return s.persistErr
}

// String names the bus.
func (s *Sim) String() string { return "sim:" + s.part.Name }

// Part returns the simulated part.
func (s *Sim) Part() Part { return s.part }

// Elapsed returns the virtual time the bus has spent so far.
func (s *Sim) Elapsed() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now
}

// Programs returns the number of page program operations so far.
func (s *Sim) Programs() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.programs
}

// Wear returns a copy of the per-page program counters.
func (s *Sim) Wear() []uint32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]uint32(nil), s.wear...)
}

// Image returns a copy of the memory contents.
func (s *Sim) Image() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]byte(nil), s.mem...)
}

// Load replaces the memory contents (for tests and tools); len(img) must
// equal the part size.
func (s *Sim) Load(img []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(img) != len(s.mem) {
		return fmt.Errorf("eeprom: image is %d bytes but part %s holds %d", len(img), s.part.Name, len(s.mem))
	}
	copy(s.mem, img)
	if s.file != nil {
		if _, err := s.file.WriteAt(s.mem, 0); err != nil {
			return fmt.Errorf("eeprom: write image %s: %w", s.path, err)
		}
	}
	return nil
}

// CutAt arms a power cut during the n-th program operation from now
// (n ≥ 1): that page is torn and the part then loses power. n = 0 disarms.
func (s *Sim) CutAt(n uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n == 0 {
		s.cutAt = 0
		return
	}
	s.cutAt = s.programs + n
}

// PowerCut cuts power now. A write cycle still in progress tears its page.
func (s *Sim) PowerCut() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dead {
		return
	}
	if s.now < s.busyUntil && s.last.page >= 0 {
		s.tearLocked()
	}
	s.dead = true
}

// PowerOn restores power: the part is idle, its address pointer at zero.
func (s *Sim) PowerOn() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dead = false
	s.cutAt = 0
	s.busyUntil = s.now
	s.ptr = 0
}

// Dead reports whether the part is without power.
func (s *Sim) Dead() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dead
}

// InjectFault installs a hook consulted before every transaction; a non-nil
// error fails the transaction with no effect on the part (a bus error).
// nil removes the hook.
func (s *Sim) InjectFault(f func(addr uint16, w, r []byte) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fault = f
}

// charge advances the virtual clock by n bit times.
func (s *Sim) charge(bits int) { s.now += time.Duration(bits) * s.bit }

// Tx performs one I2C transaction against the simulated part.
func (s *Sim) Tx(addr uint16, w, r []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dead {
		return fmt.Errorf("eeprom sim: %w", ErrPowerCut)
	}
	if s.fault != nil {
		if err := s.fault(addr, w, r); err != nil {
			return err
		}
	}
	blocks := uint16(1) << s.part.FoldedBits
	if addr < s.base || addr >= s.base+blocks {
		s.charge(11) // start, address byte, NAK, stop
		return fmt.Errorf("eeprom sim: address 0x%02x: %w", addr, ErrNAK)
	}
	if s.now < s.busyUntil {
		s.charge(11)
		return fmt.Errorf("eeprom sim: address 0x%02x busy in write cycle: %w", addr, ErrNAK)
	}
	block := int(addr-s.base) * s.part.BlockSize()
	ab := s.part.AddrBytes
	switch {
	case len(w) == 0 && len(r) == 0:
		s.charge(11) // address probe
		return nil
	case len(w) > 0 && len(w) < ab:
		s.charge(2 + 9*(1+len(w)))
		return fmt.Errorf("eeprom sim: %d address bytes, part %s needs %d", len(w), s.part.Name, ab)
	case len(w) > ab && len(r) > 0:
		s.charge(2 + 9*(1+len(w)))
		return fmt.Errorf("eeprom sim: write data followed by a read is not an AT24 transaction")
	}
	if len(w) >= ab {
		a := 0
		for _, b := range w[:ab] {
			a = a<<8 | int(b)
		}
		s.ptr = (block + a) % len(s.mem)
	}
	if len(r) > 0 {
		bits := 2 + 9*(1+len(r))
		if len(w) > 0 {
			bits += 1 + 9*(1+len(w)) // write phase and repeated start
		}
		s.charge(bits)
		for i := range r {
			r[i] = s.mem[s.ptr]
			s.ptr = (s.ptr + 1) % len(s.mem) // sequential reads roll over the whole array
		}
		return nil
	}
	data := w[ab:]
	s.charge(2 + 9*(1+len(w)))
	if len(data) == 0 {
		return nil // dummy write: sets the address pointer, no write cycle
	}
	return s.programLocked(data)
}

// programLocked loads data into the page latch at the address pointer (with
// in-page rollover) and runs the write cycle.
func (s *Sim) programLocked(data []byte) error {
	ps := s.part.PageSize
	page := s.ptr / ps
	start := page * ps
	off := s.ptr - start
	copy(s.last.old, s.mem[start:start+ps])
	copy(s.last.new, s.last.old)
	for i, b := range data {
		s.last.new[(off+i)%ps] = b
	}
	s.last.page = page
	s.programs++
	s.wear[page]++
	s.ptr = start + (off+len(data))%ps
	s.busyUntil = s.now + s.part.WriteCycle
	if s.cutAt != 0 && s.programs == s.cutAt {
		s.tearLocked()
		s.dead = true
		return fmt.Errorf("eeprom sim: program op %d on page %d: %w", s.programs, page, ErrPowerCut)
	}
	copy(s.mem[start:start+ps], s.last.new)
	s.persistLocked(page)
	return nil
}

// tearLocked leaves the last programmed page as the torn mode says.
func (s *Sim) tearLocked() {
	ps := s.part.PageSize
	page := s.last.page
	dst := s.mem[page*ps : (page+1)*ps]
	for i := range dst {
		switch s.torn {
		case TornOld:
			dst[i] = s.last.old[i]
		case TornNew:
			dst[i] = s.last.new[i]
		default:
			switch s.rng.IntN(3) {
			case 0:
				dst[i] = s.last.old[i]
			case 1:
				dst[i] = s.last.new[i]
			default:
				dst[i] = byte(s.rng.Uint32())
			}
		}
	}
	s.busyUntil = s.now
	s.persistLocked(page)
}

func (s *Sim) persistLocked(page int) {
	if s.file == nil {
		return
	}
	ps := s.part.PageSize
	// A failed write-through leaves the image stale; the in-memory part
	// stays authoritative for this process and Close reports the error.
	if _, err := s.file.WriteAt(s.mem[page*ps:(page+1)*ps], int64(page*ps)); err != nil && s.persistErr == nil {
		s.persistErr = fmt.Errorf("eeprom: write page %d to image %s: %w", page, s.path, err)
	}
}
