package devices

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"time"
)

// ChecksumCRC16X25 names the DL/T 698.45 frame check sequence.
const ChecksumCRC16X25 = "crc16-x25"

// ChecksumSum8 names the Q/GDW 1376.2 and DL/T 645 byte-sum checksum.
const ChecksumSum8 = "sum8"

// DriverChecksum is the checksum kind the samples of driver d carry:
// Modbus RTU's CRC, the DL/T 698.45 frame's CRC16-X25, DL/T 645's sum over
// HPLC; "" for none (Modbus TCP, a GPIO line). Callers sizing a record
// before its exchange (journal admission, capacity) use it.
func DriverChecksum(d DriverName) string {
	switch d {
	case DriverModbusRTU:
		return ChecksumCRC16Modbus
	case DriverDLT698:
		return ChecksumCRC16X25
	case DriverHPLC:
		return ChecksumSum8
	}
	return ""
}

// Value is a datum read through a protocol client, with the checksum of
// the frame that carried it. Null is the protocol's "no data" (698 NULL).
type Value struct {
	Value    float64
	Raw      []byte
	Checksum uint32
	Null     bool
}

// DLT698Client is what the dlt698 driver needs from a DL/T 698.45 client
// (NewDLT698Client builds one on proto698's AC-sampling client). Its
// errors should name their outcome with an IOOutcome() string method.
type DLT698Client interface {
	// Get reads attribute oad of the server at addr.
	Get(ctx context.Context, addr []byte, oad uint32) (Value, error)
	// Set writes attribute oad of the server at addr.
	Set(ctx context.Context, addr []byte, oad uint32, v float64) error
	// Reinit re-opens the client's port and link.
	Reinit(ctx context.Context) error
}

// HPLCClient is what the hplc driver needs from the HPLC module driver:
// reads and writes of a data item at a node, relayed over the carrier.
type HPLCClient interface {
	Read(ctx context.Context, node, item []byte) (Value, error)
	Write(ctx context.Context, node, item []byte, v float64) error
	// Reinit resets and re-initialises the module.
	Reinit(ctx context.Context) error
}

// DLT698 is a dlt698 device driven through a DLT698Client.
type DLT698 struct {
	dev  Device
	addr []byte
	c    DLT698Client
}

// NewDLT698 returns the driver for d, or a *ConfigError naming the key of
// a bad address or OAD.
func NewDLT698(d Device, c DLT698Client) (*DLT698, error) {
	addr, err := hex.DecodeString(d.Address)
	if err != nil {
		return nil, &ConfigError{d.Name, "address", fmt.Errorf("invalid value %q: %v", d.Address, err)}
	}
	for i, p := range d.Points {
		if _, err := oadOf(p); err != nil {
			return nil, &ConfigError{d.Name, fmt.Sprintf("points[%d].item", i), err}
		}
	}
	return &DLT698{dev: d, addr: addr, c: c}, nil
}

func oadOf(p Point) (uint32, error) {
	b, err := hex.DecodeString(p.Item)
	if err != nil || len(b) != 4 {
		return 0, fmt.Errorf("invalid OAD %q (want 8 hex digits)", p.Item)
	}
	return binary.BigEndian.Uint32(b), nil
}

// Device returns the device's configuration.
func (d *DLT698) Device() Device { return d.dev }

// Read gets the point's OAD. A NULL answer is an error, never a value.
func (d *DLT698) Read(ctx context.Context, p Point) (Sample, error) {
	oad, err := oadOf(p)
	if err != nil {
		return Sample{}, fmt.Errorf("devices: device %q: point %q: %w", d.dev.Name, p.Name, err)
	}
	v, err := d.c.Get(ctx, d.addr, oad)
	if err != nil {
		return Sample{}, fmt.Errorf("devices: device %q: get %08X: %w", d.dev.Name, oad, err)
	}
	if v.Null {
		return Sample{}, fmt.Errorf("devices: device %q: get %08X: %w", d.dev.Name, oad, ErrNoData)
	}
	return Sample{Value: v.Value * p.Factor(), Raw: v.Raw, ChecksumKind: ChecksumCRC16X25, Checksum: v.Checksum, Time: time.Now()}, nil
}

// Write sets the point's OAD to v / scale.
func (d *DLT698) Write(ctx context.Context, p Point, v float64) (Sample, error) {
	oad, err := oadOf(p)
	if err != nil {
		return Sample{}, fmt.Errorf("devices: device %q: point %q: %w", d.dev.Name, p.Name, err)
	}
	if err := d.c.Set(ctx, d.addr, oad, v/p.Factor()); err != nil {
		return Sample{}, fmt.Errorf("devices: device %q: set %08X: %w", d.dev.Name, oad, err)
	}
	return Sample{Value: v, ChecksumKind: ChecksumCRC16X25, Time: time.Now()}, nil
}

// Reinit re-initialises the client.
func (d *DLT698) Reinit(ctx context.Context) error { return d.c.Reinit(ctx) }

// Close does nothing: the client belongs to whoever built it (the daemon).
func (d *DLT698) Close() error { return nil }

// HPLC is an hplc device (a meter behind the carrier module).
type HPLC struct {
	dev  Device
	node []byte
	c    HPLCClient
}

// NewHPLC returns the driver for d, or a *ConfigError naming the key of a
// bad address or item.
func NewHPLC(d Device, c HPLCClient) (*HPLC, error) {
	node, err := hex.DecodeString(d.Address)
	if err != nil {
		return nil, &ConfigError{d.Name, "address", fmt.Errorf("invalid value %q: %v", d.Address, err)}
	}
	for i, p := range d.Points {
		if _, err := hex.DecodeString(p.Item); err != nil || p.Item == "" {
			return nil, &ConfigError{d.Name, fmt.Sprintf("points[%d].item", i), fmt.Errorf("invalid value %q (want hex)", p.Item)}
		}
	}
	return &HPLC{dev: d, node: node, c: c}, nil
}

// Device returns the device's configuration.
func (h *HPLC) Device() Device { return h.dev }

// Read reads the point's data item through the module.
func (h *HPLC) Read(ctx context.Context, p Point) (Sample, error) {
	item, _ := hex.DecodeString(p.Item)
	v, err := h.c.Read(ctx, h.node, item)
	if err != nil {
		return Sample{}, fmt.Errorf("devices: device %q: read %s: %w", h.dev.Name, p.Item, err)
	}
	if v.Null {
		return Sample{}, fmt.Errorf("devices: device %q: read %s: %w", h.dev.Name, p.Item, ErrNoData)
	}
	return Sample{Value: v.Value * p.Factor(), Raw: v.Raw, ChecksumKind: ChecksumSum8, Checksum: v.Checksum, Time: time.Now()}, nil
}

// Write writes the point's data item through the module.
func (h *HPLC) Write(ctx context.Context, p Point, v float64) (Sample, error) {
	item, _ := hex.DecodeString(p.Item)
	if err := h.c.Write(ctx, h.node, item, v/p.Factor()); err != nil {
		return Sample{}, fmt.Errorf("devices: device %q: write %s: %w", h.dev.Name, p.Item, err)
	}
	return Sample{Value: v, ChecksumKind: ChecksumSum8, Time: time.Now()}, nil
}

// Reinit resets and re-initialises the module.
func (h *HPLC) Reinit(ctx context.Context) error { return h.c.Reinit(ctx) }

// Close does nothing: the client belongs to whoever built it (the daemon).
func (h *HPLC) Close() error { return nil }
