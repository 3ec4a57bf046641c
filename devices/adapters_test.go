package devices

import (
	"bytes"
	"context"
	"errors"
	"math"
	"strings"
	"testing"
)

// rec698 is a DLT698Client that answers from a table keyed by OAD and
// records what it was asked; it stands for proto698's client here.
type rec698 struct {
	values map[uint32]Value
	err    error
	addr   []byte
	set    map[uint32]float64
}

func (c *rec698) Get(_ context.Context, addr []byte, oad uint32) (Value, error) {
	c.addr = addr
	if c.err != nil {
		return Value{}, c.err
	}
	v, ok := c.values[oad]
	if !ok {
		return Value{Null: true}, nil
	}
	return v, nil
}

func (c *rec698) Set(_ context.Context, addr []byte, oad uint32, v float64) error {
	c.addr = addr
	if c.set == nil {
		c.set = map[uint32]float64{}
	}
	c.set[oad] = v
	return c.err
}

func (c *rec698) Reinit(context.Context) error { return nil }

func TestDLT698Adapter(t *testing.T) {
	d := Device{Name: "ac", Driver: DriverDLT698, Address: "000000000001", Points: []Point{
		{Name: "ua", Class: ClassCollection, Item: "20000201", Scale: 0.1},
		{Name: "mode", Class: ClassControl, Item: "40000200", Scale: 1},
		{Name: "missing", Class: ClassCollection, Item: "20010201", Scale: 1},
	}}
	c := &rec698{values: map[uint32]Value{0x20000201: {Value: 2201, Raw: []byte{0x12, 0x08, 0x99}, Checksum: 0xA1B2}}}
	drv, err := NewDLT698(d, c)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s, err := drv.Read(ctx, d.Points[0])
	if err != nil || math.Abs(s.Value-220.1) > 1e-9 || s.ChecksumKind != ChecksumCRC16X25 || s.Checksum != 0xA1B2 || !bytes.Equal(c.addr, []byte{0, 0, 0, 0, 0, 1}) {
		t.Fatalf("read ua: %+v %v (addr % X)", s, err, c.addr)
	}
	// A NULL answer is "no data", never a value.
	if _, err := drv.Read(ctx, d.Points[2]); !errors.Is(err, ErrNoData) || Classify(err) != OutcomeException {
		t.Fatalf("NULL answer: %v (%v)", err, Classify(err))
	}
	if _, err := drv.Write(ctx, d.Points[1], 3); err != nil || c.set[0x40000200] != 3 {
		t.Fatalf("set mode: %v %v", err, c.set)
	}
	// The client's outcome passes through.
	c.err = ErrChecksumMismatch
	if _, err := drv.Read(ctx, d.Points[0]); Classify(err) != OutcomeChecksumMismatch {
		t.Fatalf("client error: %v", err)
	}
	bad := d
	bad.Points = []Point{{Name: "x", Item: "2000"}}
	var ce *ConfigError
	if _, err := NewDLT698(bad, c); !errors.As(err, &ce) || ce.Key != "points[0].item" || ce.Device != "ac" {
		t.Fatalf("short OAD: %v", err)
	}
}

type recHPLC struct {
	node, item []byte
	v          Value
	err        error
	wrote      float64
}

func (c *recHPLC) Read(_ context.Context, node, item []byte) (Value, error) {
	c.node, c.item = node, item
	return c.v, c.err
}

func (c *recHPLC) Write(_ context.Context, node, item []byte, v float64) error {
	c.node, c.item, c.wrote = node, item, v
	return c.err
}

func (c *recHPLC) Reinit(context.Context) error { return c.err }

func TestHPLCAdapter(t *testing.T) {
	d := Device{Name: "m7", Driver: DriverHPLC, Address: "010203040506", Points: []Point{
		{Name: "energy", Class: ClassCollection, Item: "00010000", Scale: 0.01},
		{Name: "relay", Class: ClassControl, Item: "04000C01", Scale: 1},
	}}
	c := &recHPLC{v: Value{Value: 123456, Checksum: 0x5A}}
	drv, err := NewHPLC(d, c)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s, err := drv.Read(ctx, d.Points[0])
	if err != nil || s.Value != 1234.56 || s.ChecksumKind != ChecksumSum8 || s.Checksum != 0x5A ||
		!bytes.Equal(c.node, []byte{1, 2, 3, 4, 5, 6}) || !bytes.Equal(c.item, []byte{0, 1, 0, 0}) {
		t.Fatalf("read: %+v %v node % X item % X", s, err, c.node, c.item)
	}
	if _, err := drv.Write(ctx, d.Points[1], 1); err != nil || c.wrote != 1 || !bytes.Equal(c.item, []byte{4, 0, 0x0C, 1}) {
		t.Fatalf("write: %v wrote %v item % X", err, c.wrote, c.item)
	}
	c.v = Value{Null: true}
	if _, err := drv.Read(ctx, d.Points[0]); !errors.Is(err, ErrNoData) {
		t.Fatalf("null: %v", err)
	}
	c.err = ErrTimeout
	if err := drv.Reinit(ctx); Classify(err) != OutcomeTimeout {
		t.Fatalf("reinit: %v", err)
	}
}

func TestOpenAllAdapters(t *testing.T) {
	ac := Device{Name: "ac", Driver: DriverDLT698, Port: "/dev/ttyS9", Address: "000000000001", Points: []Point{{Name: "ua", Class: ClassCollection, Item: "20000201"}}}
	m7 := Device{Name: "m7", Driver: DriverHPLC, Port: "/dev/ttyS8", Address: "010203040506", Points: []Point{{Name: "e", Class: ClassCollection, Item: "00010000"}}}
	// Without clients wired in, both are reported by device and key.
	set, err := OpenAll([]Device{ac, m7}, Env{})
	var ce *ConfigError
	if len(set.Drivers) != 0 || !errors.As(err, &ce) || ce.Key != "driver" || !strings.Contains(err.Error(), `device "m7": driver: no HPLC client wired`) {
		t.Fatalf("unwired: %v", err)
	}
	set, err = OpenAll([]Device{ac, m7}, Env{
		DLT698: func(Device) (DLT698Client, error) { return &rec698{}, nil },
		HPLC:   func(Device) (HPLCClient, error) { return &recHPLC{}, nil },
	})
	if err != nil || set.Drivers["ac"] == nil || set.Drivers["m7"] == nil {
		t.Fatalf("wired: %v %v", set.Drivers, err)
	}
	if InterfaceOf(ac) != "/dev/ttyS9" || InterfaceOf(m7) != "/dev/ttyS8" {
		t.Errorf("interfaces %q %q", InterfaceOf(ac), InterfaceOf(m7))
	}
}
