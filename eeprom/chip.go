package eeprom

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"
)

// PollTimeout is how long a Chip polls for the acknowledge that ends a
// write cycle, and for a busy part before any transaction, like the Linux
// at24 driver's write_timeout.
const PollTimeout = 25 * time.Millisecond

// maxReadChunk bounds one read transaction: Linux i2c-dev serves at most
// 8192 bytes per read(2).
const maxReadChunk = 8192

// ChipStats counts a Chip's bus work.
type ChipStats struct {
	PageWrites   uint64 // page program operations issued
	BytesWritten uint64 // data bytes programmed
	BytesRead    uint64 // data bytes read
	Polls        uint64 // NAKed acknowledge polls
}

// Chip drives one AT24-family EEPROM on a Bus. Its ReadAt and WriteAt have
// the io.ReaderAt and io.WriterAt shape. Writes are split on page
// boundaries (the driver never relies on in-page rollover) and each page
// write returns only after the part acknowledges again, i.e. after its
// write cycle has completed: ACK polling with a deadline, never a fixed
// sleep. A Chip is safe for concurrent use; transactions are serialised.
type Chip struct {
	mu    sync.Mutex
	bus   Bus
	part  Part
	addr  uint16
	clock func() time.Duration
	wbuf  []byte
	stats ChipStats
}

// NewChip returns a driver for part at 7-bit base address addr on bus.
func NewChip(bus Bus, part Part, addr uint16) (*Chip, error) {
	if bus == nil {
		return nil, errors.New("eeprom: nil bus")
	}
	if part.Size <= 0 || part.PageSize <= 0 || part.Size%part.PageSize != 0 || part.AddrBytes < 1 || part.AddrBytes > 2 {
		return nil, fmt.Errorf("eeprom: part %q has an invalid geometry", part.Name)
	}
	mask := uint16(1)<<part.FoldedBits - 1
	if addr < 0x08 || addr > 0x77 || addr&mask != 0 {
		return nil, fmt.Errorf("eeprom: device address 0x%02x is not a valid base address for %s", addr, part.Name)
	}
	c := &Chip{bus: bus, part: part, addr: addr, wbuf: make([]byte, part.AddrBytes+part.PageSize)}
	if clk, ok := bus.(Clock); ok {
		c.clock = clk.Elapsed
	} else {
		t0 := time.Now()
		c.clock = func() time.Duration { return time.Since(t0) }
	}
	return c, nil
}

// Part returns the part the chip was configured as.
func (c *Chip) Part() Part { return c.part }

// Size returns the memory size in bytes.
func (c *Chip) Size() int64 { return int64(c.part.Size) }

// PageSize returns the page size in bytes.
func (c *Chip) PageSize() int { return c.part.PageSize }

// Bus returns the bus the chip is on.
func (c *Chip) Bus() Bus { return c.bus }

// Stats returns the chip's counters.
func (c *Chip) Stats() ChipStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

// Elapsed returns the time on the chip's clock (the bus's virtual clock for
// a simulated part, else monotonic time since NewChip).
func (c *Chip) Elapsed() time.Duration { return c.clock() }

func (c *Chip) check(n int, off int64, op string) error {
	if off < 0 || off > int64(c.part.Size) || int64(n) > int64(c.part.Size)-off {
		return fmt.Errorf("eeprom: %s of %d bytes at 0x%05x on %s (%d bytes): %w", op, n, off, c.part.Name, c.part.Size, ErrRange)
	}
	return nil
}

// target returns the device address and memory-address bytes for off.
func (c *Chip) target(off int, buf []byte) uint16 {
	ab := c.part.AddrBytes
	for i := 0; i < ab; i++ {
		buf[i] = byte(off >> (8 * (ab - 1 - i)))
	}
	return c.addr | uint16(off>>(8*ab))
}

// ReadAt reads len(p) bytes at off.
func (c *Chip) ReadAt(p []byte, off int64) (int, error) {
	if err := c.check(len(p), off, "read"); err != nil {
		return 0, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var ab [2]byte
	done := 0
	for done < len(p) {
		o := int(off) + done
		n := len(p) - done
		if rest := c.part.BlockSize() - o%c.part.BlockSize(); n > rest {
			n = rest
		}
		if n > maxReadChunk {
			n = maxReadChunk
		}
		dev := c.target(o, ab[:])
		if err := c.txBusyRetry(dev, ab[:c.part.AddrBytes], p[done:done+n]); err != nil {
			return done, fmt.Errorf("eeprom: read %d bytes at 0x%05x on %s addr 0x%02x: %w", n, o, c.bus, dev, err)
		}
		c.stats.BytesRead += uint64(n)
		done += n
	}
	return done, nil
}

// WriteAt programs p at off, page by page. It returns after the last page's
// write cycle has completed. On error, n counts the bytes whose pages were
// fully programmed.
func (c *Chip) WriteAt(p []byte, off int64) (int, error) {
	if err := c.check(len(p), off, "write"); err != nil {
		return 0, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	ps := c.part.PageSize
	ab := c.part.AddrBytes
	done := 0
	for done < len(p) {
		o := int(off) + done
		n := ps - o%ps
		if n > len(p)-done {
			n = len(p) - done
		}
		buf := c.wbuf[:ab+n]
		dev := c.target(o, buf)
		copy(buf[ab:], p[done:done+n])
		if err := c.txBusyRetry(dev, buf, nil); err != nil {
			return done, fmt.Errorf("eeprom: page write at 0x%05x on %s addr 0x%02x: %w", o, c.bus, dev, err)
		}
		c.stats.PageWrites++
		c.stats.BytesWritten += uint64(n)
		if err := c.waitReady(dev, buf[:ab]); err != nil {
			return done, fmt.Errorf("eeprom: page write at 0x%05x on %s addr 0x%02x: %w", o, c.bus, dev, err)
		}
		done += n
	}
	return done, nil
}

// txBusyRetry runs one transaction, retrying while the device NAKs (it may
// still be in a write cycle) until the poll deadline.
func (c *Chip) txBusyRetry(dev uint16, w, r []byte) error {
	err := c.poll(dev, w, r)
	if errors.Is(err, ErrTimeout) {
		return fmt.Errorf("%w (still none after %v: device absent or wrong address?)", errors.Unwrap(err), PollTimeout)
	}
	return err
}

// waitReady polls with a dummy write of the memory address (no data, so no
// write cycle) until the part acknowledges, i.e. its write cycle is over.
func (c *Chip) waitReady(dev uint16, addr []byte) error {
	err := c.poll(dev, addr, nil)
	if errors.Is(err, ErrTimeout) {
		return fmt.Errorf("%w after %v: %v", ErrTimeout, PollTimeout, errors.Unwrap(err))
	}
	return err
}

// poll repeats one transaction while the device NAKs, until it succeeds,
// fails otherwise, or the deadline passes on the chip's clock; the timeout
// error wraps ErrTimeout around the last NAK.
func (c *Chip) poll(dev uint16, w, r []byte) error {
	start := c.clock()
	for {
		err := c.bus.Tx(dev, w, r)
		if err == nil || !errors.Is(err, ErrNAK) {
			return err
		}
		c.stats.Polls++
		if c.clock()-start > PollTimeout {
			return &timeoutError{nak: err}
		}
		runtime.Gosched()
	}
}

// timeoutError is poll's deadline error: Is ErrTimeout, Unwrap the NAK.
type timeoutError struct{ nak error }

func (e *timeoutError) Error() string        { return e.nak.Error() }
func (e *timeoutError) Is(target error) bool { return target == ErrTimeout }
func (e *timeoutError) Unwrap() error        { return e.nak }
