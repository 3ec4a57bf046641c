package daemon

// The protocol clients the devices package drives (DL/T 698.45 through
// proto698, DL/T 645 meters through the HPLC module), and the mapping of
// the configuration's devices and points onto the devices and sched
// models.

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"holdup/config"
	"holdup/devices"
	"holdup/hplc"
	"holdup/hplc/dlt645"
	"holdup/proto698"
	"holdup/sched"
)

// busPort is the serial port of one DL/T 698.45 RS-485 bus, shared by the
// clients of every meter on it; Reopen closes and re-opens it under them
// (the scheduler calls it between exchanges, when the interface is
// re-initialised).
type busPort struct {
	mu   sync.Mutex
	p    ACPort // nil while closed
	open func() (ACPort, error)
	name string
}

func (b *busPort) port() (ACPort, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.p == nil {
		return nil, fmt.Errorf("%s: port closed (re-opened at the interface's next re-initialisation)", b.name)
	}
	return b.p, nil
}

func (b *busPort) Read(p []byte) (int, error) {
	port, err := b.port()
	if err != nil {
		return 0, err
	}
	return port.Read(p)
}

func (b *busPort) Write(p []byte) (int, error) {
	port, err := b.port()
	if err != nil {
		return 0, err
	}
	return port.Write(p)
}

func (b *busPort) SetReadTimeout(t time.Duration) error {
	port, err := b.port()
	if err != nil {
		return err
	}
	return port.SetReadTimeout(t)
}

// ResetInputBuffer drops stale input where the port can.
func (b *busPort) ResetInputBuffer() error {
	port, err := b.port()
	if err != nil {
		return err
	}
	if r, ok := port.(interface{ ResetInputBuffer() error }); ok {
		return r.ResetInputBuffer()
	}
	return nil
}

// Reopen closes the port and opens it again.
func (b *busPort) Reopen() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.p != nil {
		_ = b.p.Close()
		b.p = nil
	}
	p, err := b.open()
	if err != nil {
		return fmt.Errorf("%w: main: re-open %s: %w", devices.ErrLinkDown, b.name, err)
	}
	b.p = p
	return nil
}

// Close closes the port.
func (b *busPort) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.p == nil {
		return nil
	}
	err := b.p.Close()
	b.p = nil
	return err
}

// dlt698Client is devices.DLT698Client on a proto698 client bound to one
// server address (a dlt698 device's port). A SET must carry the
// attribute's own data type, so the client remembers the type of every
// attribute it has read and reads an attribute once before its first SET.
type dlt698Client struct {
	c   *proto698.ACClient
	bus *busPort // nil: Reinit has nothing to re-open

	mu    sync.Mutex
	types map[uint32]proto698.Data // OAD → a datum of its type
}

func newDLT698Client(c *proto698.ACClient) *dlt698Client {
	return &dlt698Client{c: c, types: map[uint32]proto698.Data{}}
}

func (d *dlt698Client) Get(ctx context.Context, _ []byte, oad uint32) (devices.Value, error) {
	v, err := d.c.Get(ctx, proto698.NewOAD(oad))
	if err != nil {
		return devices.Value{}, outcome698(err)
	}
	f, null, err := dataFloat(v)
	if err != nil {
		return devices.Value{}, fmt.Errorf("%w: main: 698 attribute %08X: %w", devices.ErrLengthMismatch, oad, err)
	}
	if !null {
		d.remember(oad, v)
	}
	return devices.Value{Value: f, Null: null}, nil
}

func (d *dlt698Client) remember(oad uint32, v proto698.Data) {
	d.mu.Lock()
	d.types[oad] = v
	d.mu.Unlock()
}

// Set writes v (already in the attribute's raw units) to oad, encoded in
// the attribute's data type.
func (d *dlt698Client) Set(ctx context.Context, addr []byte, oad uint32, v float64) error {
	d.mu.Lock()
	like, known := d.types[oad]
	d.mu.Unlock()
	if !known {
		if _, err := d.Get(ctx, addr, oad); err != nil {
			return fmt.Errorf("daemon: SET of 698 attribute %08X: reading its data type first: %w", oad, err)
		}
		d.mu.Lock()
		like, known = d.types[oad]
		d.mu.Unlock()
		if !known {
			return fmt.Errorf("%w: main: SET of 698 attribute %08X: it reads NULL, so its data type is unknown", devices.ErrNoData, oad)
		}
	}
	datum, err := data698Like(like, v)
	if err != nil {
		return fmt.Errorf("%w: main: SET of 698 attribute %08X: %w", devices.ErrBadValue, oad, err)
	}
	if err := d.c.Set(ctx, proto698.NewOAD(oad), datum); err != nil {
		return outcome698(err)
	}
	return nil
}

// Reinit re-opens the meter's bus port (once for all meters on it: the
// scheduler re-initialises an interface once).
func (d *dlt698Client) Reinit(context.Context) error {
	if d.bus == nil {
		return nil
	}
	return d.bus.Reopen()
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
	return out, err
}

// outcome698 names a proto698 error's exchange outcome for the
// scheduler's error-rate watch.
func outcome698(err error) error {
	var fe *proto698.FrameError
	switch {
	case errors.Is(err, context.Canceled):
		// Called off (the device was gated, or shutdown): not a link fault.
		return fmt.Errorf("%w: %w", devices.ErrNotSent, err)
	case errors.Is(err, proto698.ErrNoAnswer), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%w: %w", devices.ErrTimeout, err)
	case errors.Is(err, proto698.ErrDAR):
		return fmt.Errorf("%w: %w", devices.ErrNoData, err)
	case errors.As(err, &fe):
		return fmt.Errorf("%w: %w", devices.ErrChecksumMismatch, err)
	}
	return fmt.Errorf("%w: %w", devices.ErrLinkDown, err)
}

// dataFloat reads a numeric 698 datum (the first element of an array or
// structure); null reports a NULL.
func dataFloat(d proto698.Data) (v float64, null bool, err error) {
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
		return dataFloat(x[0])
	case proto698.Structure:
		if len(x) == 0 {
			return 0, true, nil
		}
		return dataFloat(x[0])
	}
	return 0, false, fmt.Errorf("datum of type %T is not a number", d)
}

// hplcClient is devices.HPLCClient on the HPLC module: DL/T 645-2007
// reads and writes relayed to the meter with AFN 13 F1. A write carries
// the device's password and operator code (config password/operator).
type hplcClient struct {
	m        *hplc.Module
	password dlt645.Password
	operator dlt645.Operator
}

// meterAddr checks a node and item and returns the meter's wire address
// and data identifier.
func meterAddr(what string, node, item []byte) (dlt645.Address, dlt645.DI, error) {
	var addr dlt645.Address
	if len(node) != 6 || len(item) != 4 {
		return addr, 0, fmt.Errorf("%w: main: hplc %s: node %X / item %X: want 6 and 4 bytes", devices.ErrBadValue, what, node, item)
	}
	for i := range addr {
		addr[i] = node[5-i] // natural order → wire order
	}
	return addr, dlt645.DI(binary.BigEndian.Uint32(item)), nil
}

// outcomeHPLC names a module error's exchange outcome for the scheduler.
func outcomeHPLC(err error) error {
	switch {
	case errors.Is(err, context.Canceled):
		// Called off (the device was gated, or shutdown): not a link fault.
		return fmt.Errorf("%w: %w", devices.ErrNotSent, err)
	case errors.Is(err, hplc.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%w: %w", devices.ErrTimeout, err)
	case errors.Is(err, hplc.ErrDenied), errors.Is(err, dlt645.ErrException):
		// The module or the meter answered and refused.
		return fmt.Errorf("%w: %w", devices.ErrNoData, err)
	}
	var fe *dlt645.FrameError
	var me *hplc.FrameError
	if errors.As(err, &fe) || errors.As(err, &me) {
		return fmt.Errorf("%w: %w", devices.ErrChecksumMismatch, err)
	}
	return fmt.Errorf("%w: %w", devices.ErrLinkDown, err)
}

func (h hplcClient) Read(ctx context.Context, node, item []byte) (devices.Value, error) {
	addr, di, err := meterAddr("read", node, item)
	if err != nil {
		return devices.Value{}, err
	}
	req := dlt645.NewRead(addr, di)
	frame, err := req.Encode()
	if err != nil {
		return devices.Value{}, fmt.Errorf("daemon: hplc read %s: %w", di, err)
	}
	ans, err := h.m.MonitorNode(ctx, hplc.Addr(addr), frame)
	if err != nil {
		return devices.Value{}, outcomeHPLC(err)
	}
	f, n, err := dlt645.Decode(ans)
	if err != nil {
		return devices.Value{}, fmt.Errorf("%w: main: meter %s answer: %w", devices.ErrChecksumMismatch, addr, err)
	}
	gotDI, data, err := f.ReadResponse()
	if err != nil {
		return devices.Value{}, fmt.Errorf("%w: main: meter %s: %w", devices.ErrNoData, addr, err)
	}
	if gotDI != di {
		return devices.Value{}, fmt.Errorf("%w: main: meter %s answered item %s to a read of %s", devices.ErrLengthMismatch, addr, gotDI, di)
	}
	vals, ok, err := dlt645.DecodeValues(di, data)
	if err != nil || !ok || len(vals) == 0 {
		return devices.Value{}, fmt.Errorf("%w: main: meter %s item %s: undecodable value % X (%v)", devices.ErrLengthMismatch, addr, di, data, err)
	}
	if !vals[0].Valid {
		return devices.Value{Null: true}, nil
	}
	// The byte sum is the frame's second-last byte.
	return devices.Value{Value: vals[0].Float64(), Raw: data, Checksum: uint32(ans[n-2])}, nil
}

// Write writes v (already in the item's units) to the meter: the value is
// encoded and range-checked against the item's format first, so a value
// the meter could not take is refused before anything is sent.
func (h hplcClient) Write(ctx context.Context, node, item []byte, v float64) error {
	addr, di, err := meterAddr("write", node, item)
	if err != nil {
		return err
	}
	data, err := dlt645.EncodeValue(di, v)
	if err != nil {
		return fmt.Errorf("%w: main: hplc write to meter %s: %w", devices.ErrBadValue, addr, err)
	}
	err = h.m.WriteMeter(ctx, hplc.Addr(addr), dlt645.WriteRequest{DI: di, Password: h.password, Operator: h.operator, Data: data})
	if err != nil {
		return outcomeHPLC(err)
	}
	return nil
}

func (h hplcClient) Reinit(ctx context.Context) error { return h.m.Reinit(ctx) }

// --- configuration → devices ---

// deviceConfig maps the configuration's device onto the devices package's
// model. hplc devices sit behind the [hplc] module's port.
func deviceConfig(d config.Device, mod *config.HPLC) devices.Device {
	out := devices.Device{
		Name: d.Name, Driver: devices.DriverName(d.Driver), Unit: d.Unit, Address: d.Address,
		MainsOnly: d.MainsOnly, DrawMW: d.DrawMW,
		Port: d.Serial.Port, Baud: d.Serial.Baud, DataBits: d.Serial.DataBits, StopBits: d.Serial.StopBits,
		Parity: d.Serial.ParityLetter(), Timeout: duration(d.Timeout),
	}
	switch d.Driver {
	case config.DriverModbusTCP:
		out.Port = d.Address
	case config.DriverGPIOOutput:
		out.Port = d.Chip
	case config.DriverHPLC:
		if mod != nil {
			out.Port = mod.Port
		}
	}
	for _, p := range d.Points {
		q := devices.Point{
			Name: p.Name, Class: devices.Class(p.Class), Integrity: devices.Integrity(p.Integrity),
			Period: duration(p.Period), Deadline: duration(p.Deadline), Scale: p.Scale,
			Register: p.Register, Kind: devices.Kind(p.Kind), Type: devices.Type(p.Type), ActiveLow: p.ActiveLow,
		}
		if d.Driver == config.DriverDLT698 || d.Driver == config.DriverHPLC {
			q.Item = p.Address
		}
		if d.Driver == config.DriverGPIOOutput && q.Kind == "" {
			q.Kind = devices.KindLine
		}
		out.Points = append(out.Points, q)
	}
	return out
}

func duration(d time.Duration) devices.Duration {
	var out devices.Duration
	if d > 0 {
		_ = out.UnmarshalText([]byte(d.String()))
	}
	return out
}

// pointOp builds the scheduler op that runs one point of a driver: a read
// for collection points, a write of v for control points.
func pointOp(drv devices.Driver, p devices.Point, v float64) sched.Op {
	d := drv.Device()
	op := sched.Op{
		Device: d.Name, Point: p.Name, Class: sched.Collection, Integrity: sched.Checked,
		Business: string(p.Class), Attrs: map[string]string{"driver": string(d.Driver)},
	}
	if p.Class == devices.ClassControl {
		op.Class = sched.Control
	}
	if p.Integrity == devices.IntegrityUnchecked {
		op.Integrity = sched.Unchecked
	}
	control := p.Class == devices.ClassControl
	op.Run = func(ctx context.Context) (sched.Result, error) {
		var (
			s   devices.Sample
			err error
		)
		if control {
			s, err = drv.Write(ctx, p, v)
		} else {
			s, err = drv.Read(ctx, p)
		}
		return sched.Result{Value: s.Value, Raw: s.Raw, ChecksumKind: s.ChecksumKind, Checksum: s.Checksum}, err
	}
	return op
}
