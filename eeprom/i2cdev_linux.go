package eeprom

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"

	i2c "github.com/d2r2/go-i2c"
	logger "github.com/d2r2/go-logger"
)

// DevBus is a Bus on a Linux i2c-dev adapter (/dev/i2c-N), driven through
// github.com/d2r2/go-i2c with plain read(2)/write(2): a transaction with
// both w and r is a write, a stop, then a read, which AT24 parts accept as
// a random read (the address pointer survives the stop).
type DevBus struct {
	path string
	n    int
	mu   sync.Mutex
	devs map[uint16]*i2c.I2C
}

// OpenDevBus opens the adapter at path ("/dev/i2c-5") or bus number ("5").
func OpenDevBus(path string) (*DevBus, error) {
	num := strings.TrimPrefix(filepath.Base(path), "i2c-")
	n, err := strconv.Atoi(num)
	if err != nil || n < 0 {
		return nil, fmt.Errorf("eeprom: bus %q is not /dev/i2c-N", path)
	}
	dev := fmt.Sprintf("/dev/i2c-%d", n)
	if _, err := os.Stat(dev); err != nil {
		return nil, fmt.Errorf("eeprom: open %s: %w (is the i2c-dev module loaded?)", dev, err)
	}
	// go-i2c logs every transfer at debug level; keep it quiet.
	_ = logger.ChangePackageLogLevel("i2c", logger.InfoLevel)
	return &DevBus{path: dev, n: n, devs: map[uint16]*i2c.I2C{}}, nil
}

// String returns the adapter's device path.
func (b *DevBus) String() string { return b.path }

func (b *DevBus) dev(addr uint16) (*i2c.I2C, error) {
	if d, ok := b.devs[addr]; ok {
		return d, nil
	}
	if addr > 0x7f {
		return nil, fmt.Errorf("eeprom: %s: 10-bit address 0x%x not supported", b.path, addr)
	}
	d, err := i2c.NewI2C(uint8(addr), b.n)
	if err != nil {
		hint := ""
		if errors.Is(err, os.ErrPermission) {
			hint = " (is the user in the i2c group?)"
		} else if errors.Is(err, syscall.EBUSY) {
			hint = " (a kernel driver such as at24 is bound to this address)"
		}
		return nil, fmt.Errorf("eeprom: open %s addr 0x%02x: %w%s", b.path, addr, err, hint)
	}
	b.devs[addr] = d
	return d, nil
}

// Tx writes w (if any) and then reads r (if any) at addr. A device that
// does not acknowledge yields an error wrapping ErrNAK.
func (b *DevBus) Tx(addr uint16, w, r []byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	d, err := b.dev(addr)
	if err != nil {
		return err
	}
	if len(w) > 0 || len(r) == 0 {
		n, err := d.WriteBytes(w)
		if err != nil {
			return classify(err)
		}
		if n != len(w) {
			return fmt.Errorf("eeprom: %s addr 0x%02x: short write %d of %d bytes", b.path, addr, n, len(w))
		}
	}
	if len(r) > 0 {
		n, err := d.ReadBytes(r)
		if err != nil {
			return classify(err)
		}
		if n != len(r) {
			return fmt.Errorf("eeprom: %s addr 0x%02x: short read %d of %d bytes", b.path, addr, n, len(r))
		}
	}
	return nil
}

// classify maps the errno an adapter returns for a missing acknowledge onto
// ErrNAK (ENXIO and EREMOTEIO by the kernel's convention; some adapters
// return EIO). The error from the os package already names the device
// file and the operation; the Chip adds the address and offset.
func classify(err error) error {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		switch errno {
		case syscall.ENXIO, syscall.EREMOTEIO, syscall.EIO:
			return fmt.Errorf("%v: %w", err, ErrNAK)
		}
	}
	return err
}

// Close closes every device handle.
func (b *DevBus) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	var errs []error
	for a, d := range b.devs {
		if err := d.Close(); err != nil {
			errs = append(errs, err)
		}
		delete(b.devs, a)
	}
	return errors.Join(errs...)
}
