package devices

// The DL/T 698.45 client the dlt698 driver runs on: proto698's
// AC-sampling client bound to one meter address, on a serial bus port
// shared by every meter on the same RS-485 line.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"
	"time"

	"holdup/proto698"
)

// DLT698Port is the serial line of a DL/T 698.45 bus: what proto698's
// client drives, and Close. A go.bug.st/serial port (proto698.OpenSerial)
// satisfies it.
type DLT698Port interface {
	proto698.Port
	io.Closer
}

// DLT698Bus is the serial port of one DL/T 698.45 RS-485 bus, shared by
// the clients of every meter on it. It implements proto698.Port, so each
// meter's proto698.ACClient is built on it, and serialises the clients'
// exchanges: one request and its answer at a time on the line, whichever
// meter it is for. Reopen closes and re-opens the port between exchanges.
type DLT698Bus struct {
	name string
	open func() (DLT698Port, error)
	xch  chan struct{} // holds one token while an exchange or a re-open runs

	mu sync.Mutex
	p  DLT698Port // nil while closed
}

// NewDLT698Bus opens the bus port with open and returns the bus. name (the
// port's path) names it in errors; open is kept for Reopen.
func NewDLT698Bus(name string, open func() (DLT698Port, error)) (*DLT698Bus, error) {
	p, err := open()
	if err != nil {
		return nil, fmt.Errorf("devices: DL/T 698.45 bus %s: %w", name, err)
	}
	return &DLT698Bus{name: name, open: open, xch: make(chan struct{}, 1), p: p}, nil
}

// Name returns the name the bus was opened with.
func (b *DLT698Bus) Name() string { return b.name }

// lock waits for the bus (for the end of another meter's exchange or of a
// re-open) or for ctx to end.
func (b *DLT698Bus) lock(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case b.xch <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (b *DLT698Bus) unlock() { <-b.xch }

func (b *DLT698Bus) port() (DLT698Port, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.p == nil {
		return nil, fmt.Errorf("devices: DL/T 698.45 bus %s: port closed (re-opened at the interface's next re-initialisation)", b.name)
	}
	return b.p, nil
}

// Read implements proto698.Port.
func (b *DLT698Bus) Read(p []byte) (int, error) {
	port, err := b.port()
	if err != nil {
		return 0, err
	}
	return port.Read(p)
}

// Write implements proto698.Port.
func (b *DLT698Bus) Write(p []byte) (int, error) {
	port, err := b.port()
	if err != nil {
		return 0, err
	}
	return port.Write(p)
}

// SetReadTimeout implements proto698.Port.
func (b *DLT698Bus) SetReadTimeout(t time.Duration) error {
	port, err := b.port()
	if err != nil {
		return err
	}
	return port.SetReadTimeout(t)
}

// ResetInputBuffer drops stale input where the port can (proto698's client
// calls it before each request).
func (b *DLT698Bus) ResetInputBuffer() error {
	port, err := b.port()
	if err != nil {
		return err
	}
	if r, ok := port.(interface{ ResetInputBuffer() error }); ok {
		return r.ResetInputBuffer()
	}
	return nil
}

// Reopen closes the port and opens it again, after the exchange on the
// line (if any) has ended. A failed open leaves the bus closed (exchanges
// fail with ErrLinkDown until a later Reopen succeeds) and wraps
// ErrLinkDown; ctx ending first leaves the port as it was and wraps
// ErrNotSent.
func (b *DLT698Bus) Reopen(ctx context.Context) error {
	if err := b.lock(ctx); err != nil {
		return fmt.Errorf("%w: devices: re-open DL/T 698.45 bus %s: %w", ErrNotSent, b.name, err)
	}
	defer b.unlock()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.p != nil {
		_ = b.p.Close()
		b.p = nil
	}
	p, err := b.open()
	if err != nil {
		return fmt.Errorf("%w: devices: re-open DL/T 698.45 bus %s: %w", ErrLinkDown, b.name, err)
	}
	b.p = p
	return nil
}

// Close closes the port; a later Reopen opens it again.
func (b *DLT698Bus) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.p == nil {
		return nil
	}
	err := b.p.Close()
	b.p = nil
	return err
}

// dlt698Client is DLT698Client on a proto698 client bound to one server
// address (a dlt698 device's address). A SET must carry the attribute's
// own data type, so the client remembers the type of every attribute it
// has read and reads an attribute once before its first SET.
type dlt698Client struct {
	c   *proto698.ACClient
	bus *DLT698Bus // nil: no bus to share or re-open

	mu    sync.Mutex
	types map[uint32]proto698.Data // OAD → a datum of its type
}

// NewDLT698Client returns the DLT698Client of one meter: c is proto698's
// client bound to the meter's address, built on bus when the meter sits on
// a shared DLT698Bus. With a bus, the client's exchanges take turns with
// those of the other meters on it and Reinit re-opens it; bus may be nil
// (c on a port of its own, which Reinit leaves alone).
//
// Get reads an attribute as a number (DLT698Float), NULL as Value.Null.
// Set writes an attribute in its own data type, learnt from a read (one
// GET before the first SET of an attribute), and refuses with ErrBadValue,
// before anything is sent, a value that type cannot hold. Every error names
// its exchange outcome: ErrTimeout (no answer), ErrNoData (the meter
// answered with a DAR), ErrChecksumMismatch (a malformed frame),
// ErrNotSent (ctx ended before the request went out), ErrLinkDown (the
// port failed or is closed). The addr arguments are ignored: the address
// is c's.
func NewDLT698Client(c *proto698.ACClient, bus *DLT698Bus) DLT698Client {
	return &dlt698Client{c: c, bus: bus, types: map[uint32]proto698.Data{}}
}

// lock takes the bus for one exchange (or, without a bus, checks that ctx
// has not ended: a request is never sent once it has).
func (d *dlt698Client) lock(ctx context.Context) (unlock func(), err error) {
	if d.bus == nil {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		return func() {}, nil
	}
	if err := d.bus.lock(ctx); err != nil {
		return nil, err
	}
	return d.bus.unlock, nil
}

// Get reads attribute oad.
func (d *dlt698Client) Get(ctx context.Context, _ []byte, oad uint32) (Value, error) {
	unlock, err := d.lock(ctx)
	if err != nil {
		return Value{}, fmt.Errorf("%w: devices: GET 698 attribute %08X: %w", ErrNotSent, oad, err)
	}
	defer unlock()
	return d.get(ctx, oad)
}

// get is Get with the bus held.
func (d *dlt698Client) get(ctx context.Context, oad uint32) (Value, error) {
	v, err := d.c.Get(ctx, proto698.NewOAD(oad))
	if err != nil {
		return Value{}, outcome698(err)
	}
	f, null, err := DLT698Float(v)
	if err != nil {
		return Value{}, fmt.Errorf("%w: devices: 698 attribute %08X: %w", ErrLengthMismatch, oad, err)
	}
	if !null {
		d.mu.Lock()
		d.types[oad] = v
		d.mu.Unlock()
	}
	return Value{Value: f, Null: null}, nil
}

// Set writes v (already in the attribute's raw units) to oad, encoded in
// the attribute's data type.
func (d *dlt698Client) Set(ctx context.Context, _ []byte, oad uint32, v float64) error {
	unlock, err := d.lock(ctx)
	if err != nil {
		return fmt.Errorf("%w: devices: SET of 698 attribute %08X: %w", ErrNotSent, oad, err)
	}
	defer unlock()
	d.mu.Lock()
	like, known := d.types[oad]
	d.mu.Unlock()
	if !known {
		val, err := d.get(ctx, oad)
		if err != nil {
			return fmt.Errorf("devices: SET of 698 attribute %08X: reading its data type first: %w", oad, err)
		}
		if val.Null {
			return fmt.Errorf("%w: devices: SET of 698 attribute %08X: it reads NULL, so its data type is unknown", ErrNoData, oad)
		}
		d.mu.Lock()
		like = d.types[oad]
		d.mu.Unlock()
	}
	datum, err := data698Like(like, v)
	if err != nil {
		return fmt.Errorf("%w: devices: SET of 698 attribute %08X: %w", ErrBadValue, oad, err)
	}
	if err := d.c.Set(ctx, proto698.NewOAD(oad), datum); err != nil {
		return outcome698(err)
	}
	return nil
}

// Reinit re-opens the meter's bus port (once for all meters on it: the
// scheduler re-initialises an interface once).
func (d *dlt698Client) Reinit(ctx context.Context) error {
	if d.bus == nil {
		return nil
	}
	return d.bus.Reopen(ctx)
}

// data698Like encodes v in the data type of like (a datum read from the
// same attribute), refusing values the type cannot hold and compound
// attributes (a point writes one element, addressed by the OAD's index).
func data698Like(like proto698.Data, v float64) (proto698.Data, error) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil, fmt.Errorf("value %v is not a number", v)
	}
	integer := func(lo, hi float64) (float64, error) {
		r := math.Round(v)
		if r < lo || r > hi {
			return 0, fmt.Errorf("value %v is outside %s's range %v..%v", v, like.Type(), lo, hi)
		}
		return r, nil
	}
	var (
		out proto698.Data
		r   float64
		err error
	)
	switch x := like.(type) {
	case proto698.Bool:
		out = proto698.Bool(v != 0)
	case proto698.Integer:
		r, err = integer(math.MinInt8, math.MaxInt8)
		out = proto698.Integer(r)
	case proto698.Unsigned:
		r, err = integer(0, math.MaxUint8)
		out = proto698.Unsigned(r)
	case proto698.Enum:
		r, err = integer(0, math.MaxUint8)
		out = proto698.Enum(r)
	case proto698.Long:
		r, err = integer(math.MinInt16, math.MaxInt16)
		out = proto698.Long(r)
	case proto698.LongUnsigned:
		r, err = integer(0, math.MaxUint16)
		out = proto698.LongUnsigned(r)
	case proto698.DoubleLong:
		r, err = integer(math.MinInt32, math.MaxInt32)
		out = proto698.DoubleLong(r)
	case proto698.DoubleLongUnsigned:
		r, err = integer(0, math.MaxUint32)
		out = proto698.DoubleLongUnsigned(r)
	case proto698.Long64:
		r, err = integer(-(1 << 53), 1<<53) // exact in a float64
		out = proto698.Long64(r)
	case proto698.Long64Unsigned:
		r, err = integer(0, 1<<53)
		out = proto698.Long64Unsigned(r)
	case proto698.Float32:
		if math.Abs(v) > math.MaxFloat32 {
			return nil, fmt.Errorf("value %v is outside float32's range", v)
		}
		out = proto698.Float32(v)
	case proto698.Float64:
		out = proto698.Float64(v)
	case proto698.Array:
		return nil, fmt.Errorf("the attribute is an array of %d: give one element's index in the OAD's last byte", len(x))
	case proto698.Structure:
		return nil, fmt.Errorf("the attribute is a structure of %d: give one element's index in the OAD's last byte", len(x))
	default:
		return nil, fmt.Errorf("a number cannot be written to an attribute of type %s", like.Type())
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// outcome698 names a proto698 error's exchange outcome for the
// scheduler's error-rate watch.
func outcome698(err error) error {
	var fe *proto698.FrameError
	switch {
	case errors.Is(err, context.Canceled):
		// Called off (the device was gated, or shutdown): not a link fault.
		return fmt.Errorf("%w: %w", ErrNotSent, err)
	case errors.Is(err, proto698.ErrNoAnswer), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%w: %w", ErrTimeout, err)
	case errors.Is(err, proto698.ErrDAR):
		return fmt.Errorf("%w: %w", ErrNoData, err)
	case errors.As(err, &fe):
		return fmt.Errorf("%w: %w", ErrChecksumMismatch, err)
	}
	return fmt.Errorf("%w: %w", ErrLinkDown, err)
}

// DLT698Float reads a numeric DL/T 698.45 datum as a float64: any integer
// type, enum, bool (0 or 1), float32 and float64, and the first element
// of an array or structure; null reports a NULL (or an empty array or
// structure). Other types are an error.
func DLT698Float(d proto698.Data) (v float64, null bool, err error) {
	switch x := d.(type) {
	case proto698.Null:
		return 0, true, nil
	case proto698.DoubleLong:
		return float64(x), false, nil
	case proto698.DoubleLongUnsigned:
		return float64(x), false, nil
	case proto698.Long:
		return float64(x), false, nil
	case proto698.LongUnsigned:
		return float64(x), false, nil
	case proto698.Integer:
		return float64(x), false, nil
	case proto698.Unsigned:
		return float64(x), false, nil
	case proto698.Long64:
		return float64(x), false, nil
	case proto698.Long64Unsigned:
		return float64(x), false, nil
	case proto698.Float32:
		return float64(x), false, nil
	case proto698.Float64:
		return float64(x), false, nil
	case proto698.Enum:
		return float64(x), false, nil
	case proto698.Bool:
		if x {
			return 1, false, nil
		}
		return 0, false, nil
	case proto698.Array:
		if len(x) == 0 {
			return 0, true, nil
		}
		return DLT698Float(x[0])
	case proto698.Structure:
		if len(x) == 0 {
			return 0, true, nil
		}
		return DLT698Float(x[0])
	}
	return 0, false, fmt.Errorf("datum of type %T is not a number", d)
}
