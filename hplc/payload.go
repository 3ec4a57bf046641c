package hplc

import (
	"encoding/binary"
	"fmt"
)

// AFN codes.
const (
	AFNConfirm    = 0x00 // confirm / deny
	AFNInit       = 0x01 // initialisation
	AFNForward    = 0x02 // data forward
	AFNQuery      = 0x03 // query data
	AFNControl    = 0x05 // control commands
	AFNReport     = 0x06 // module-initiated reports
	AFNRouteQuery = 0x10 // route query
	AFNRouteSet   = 0x11 // route settings
	AFNRouteCtl   = 0x12 // route control
	AFNRouteFwd   = 0x13 // route data forward (monitor a node)
)

// Node protocol types (AFN 02, 06, 10, 11, 13).
const (
	ProtoTransparent = 0
	ProtoDLT645_1997 = 1
	ProtoDLT645_2007 = 2
	ProtoDLT698      = 3
	// HPLC extensions of the protocol type field (AFN 06 reports).
	ProtoNodePowerEvent = 4 // node power-off / power-on event
	ProtoZoneRejected   = 5 // node rejected by the transformer-zone check
)

// ProtocolName names a node protocol type.
func ProtocolName(p uint8) string {
	switch p {
	case ProtoTransparent:
		return "transparent"
	case ProtoDLT645_1997:
		return "DL/T 645-1997"
	case ProtoDLT645_2007:
		return "DL/T 645-2007"
	case ProtoDLT698:
		return "DL/T 698.45"
	case ProtoNodePowerEvent:
		return "node power event"
	case ProtoZoneRejected:
		return "zone-rejected node report"
	}
	return fmt.Sprintf("protocol %d", p)
}

// Payload is the typed data unit of one AFN/Fn in one direction.
type Payload interface {
	// AFNFn names the data unit.
	AFNFn() (afn uint8, fn uint16)
	// AppendTo appends the encoded data unit (what follows DT).
	AppendTo(dst []byte) ([]byte, error)
}

// NewFrame builds a frame carrying p with control c and information r.
func NewFrame(c Control, r Info, p Payload) (Frame, error) {
	afn, fn := p.AFNFn()
	data, err := p.AppendTo(nil)
	if err != nil {
		return Frame{}, fmt.Errorf("hplc: AFN %02X F%d: %w", afn, fn, err)
	}
	if len(data) == 0 {
		data = nil
	}
	return Frame{C: c, R: r, AFN: afn, Fn: fn, Data: data}, nil
}

// dataOffset is the byte offset of Data within the encoded frame.
func (f *Frame) dataOffset() int {
	off := 13
	if f.R.ModuleID {
		off += 12 + 6*len(f.Relays)
	}
	return off
}

// Payload decodes the frame's data unit. Unknown AFN/Fn combinations yield
// *Raw. Errors are *FrameError with offsets into the frame.
func (f *Frame) Payload() (Payload, error) {
	p, err := DecodePayload(f.C.Up, f.AFN, f.Fn, f.Data)
	if de, ok := err.(*FrameError); ok {
		de.Offset += f.dataOffset()
	}
	return p, err
}

// DecodePayload decodes the data unit of afn/fn travelling up (module →
// concentrator) or down. Errors are *FrameError with offsets relative to
// the start of data.
func DecodePayload(up bool, afn uint8, fn uint16, data []byte) (Payload, error) {
	r := &rd{b: data}
	var p Payload
	switch {
	case afn == AFNConfirm && fn == 1:
		p = decodeConfirm(r)
	case afn == AFNConfirm && fn == 2:
		p = Deny{Reason: DenyReason(r.u8("deny reason"))}
	case afn == AFNInit && fn >= 1 && fn <= 3:
		p = NoData{AFN: afn, Fn: fn}
	case afn == AFNForward && fn == 1:
		f := Forward{Protocol: r.u8("protocol")}
		f.Frame = r.lenBytes("message length", "message")
		p = f
	case afn == AFNQuery && (fn == 1 || fn == 4 || fn == 10) && !up:
		p = NoData{AFN: afn, Fn: fn}
	case afn == AFNQuery && fn == 1:
		p = decodeVendor(r)
	case afn == AFNQuery && fn == 4:
		p = MasterAddr{Addr: r.addr("master address")}
	case afn == AFNQuery && fn == 10:
		p = decodeRunMode(r)
	case afn == AFNControl && fn == 1 && !up:
		p = SetMasterAddr{Addr: r.addr("master address")}
	case afn == AFNReport && up && fn == 1:
		p = decodeNodeReport(r)
	case afn == AFNReport && up && fn == 2:
		p = decodeReadReport(r)
	case afn == AFNReport && up && fn == 3:
		p = RouteChange{Status: r.u8("route status")}
	case afn == AFNReport && up && fn == 5:
		e := EventReport{DeviceType: r.u8("device type"), Protocol: r.u8("protocol")}
		e.Frame = r.lenBytes("message length", "message")
		p = e
	case afn == AFNRouteQuery && !up && (fn == 1 || fn == 4):
		p = NoData{AFN: afn, Fn: fn}
	case afn == AFNRouteQuery && !up && fn == 2:
		p = NodeInfoQuery{Start: r.u16("start index"), Count: r.u8("count")}
	case afn == AFNRouteQuery && up && fn == 1:
		p = NodeCount{Count: r.u16("node count"), Max: r.u16("max nodes")}
	case afn == AFNRouteQuery && up && fn == 2:
		p = decodeNodeInfoList(r)
	case afn == AFNRouteQuery && up && fn == 4:
		p = decodeRouteStatus(r)
	case afn == AFNRouteSet && !up && fn == 1:
		p = decodeAddNodes(r)
	case afn == AFNRouteSet && !up && fn == 2:
		p = decodeDeleteNodes(r)
	case afn == AFNRouteCtl && !up && fn >= 1 && fn <= 3:
		p = NoData{AFN: afn, Fn: fn}
	case afn == AFNRouteFwd && fn == 1 && !up:
		p = decodeMonitorRequest(r)
	case afn == AFNRouteFwd && fn == 1 && up:
		m := MonitorReply{Duration: r.u16("duration"), Protocol: r.u8("protocol")}
		m.Frame = r.lenBytes("message length", "message")
		p = m
	default:
		var d []byte
		if len(data) > 0 {
			d = data
		}
		return Raw{AFN: afn, Fn: fn, Data: d}, nil
	}
	if err := r.end(); err != nil {
		return nil, err
	}
	return p, nil
}

// Raw is a data unit this package does not type (e.g. vendor Fn).
type Raw struct {
	AFN  uint8    `json:"afn"`
	Fn   uint16   `json:"fn"`
	Data HexBytes `json:"data"`
}

// AFNFn implements Payload.
func (p Raw) AFNFn() (uint8, uint16) { return p.AFN, p.Fn }

// AppendTo implements Payload.
func (p Raw) AppendTo(dst []byte) ([]byte, error) { return append(dst, p.Data...), nil }

// NoData is a command or query with an empty data unit (01 F1..F3, 03 F1/F4/F10
// down, 10 F1/F4 down, 12 F1..F3).
type NoData struct {
	AFN uint8  `json:"afn"`
	Fn  uint16 `json:"fn"`
}

// AFNFn implements Payload.
func (p NoData) AFNFn() (uint8, uint16) { return p.AFN, p.Fn }

// AppendTo implements Payload.
func (p NoData) AppendTo(dst []byte) ([]byte, error) { return dst, nil }

// Commands without data.
var (
	HardwareInit   = NoData{AFNInit, 1}
	ParamInit      = NoData{AFNInit, 2}
	DataInit       = NoData{AFNInit, 3}
	QueryVendor    = NoData{AFNQuery, 1}
	QueryMaster    = NoData{AFNQuery, 4}
	QueryRunMode   = NoData{AFNQuery, 10}
	QueryNodeCount = NoData{AFNRouteQuery, 1}
	QueryRouteStat = NoData{AFNRouteQuery, 4}
	RouteRestart   = NoData{AFNRouteCtl, 1}
	RoutePause     = NoData{AFNRouteCtl, 2}
	RouteResume    = NoData{AFNRouteCtl, 3}
)

// rd reads fields from a data unit, recording the first error with the
// field name and offset.
type rd struct {
	b   []byte
	p   int
	err error
}

func (r *rd) need(n int, field string) bool {
	if r.err != nil {
		return false
	}
	if r.p+n > len(r.b) {
		r.err = frameErr(r.p, field, fmt.Errorf("need %d bytes, %d left: %w", n, len(r.b)-r.p, ErrShort))
		return false
	}
	return true
}

func (r *rd) fail(off int, field string, err error) {
	if r.err == nil {
		r.err = frameErr(off, field, err)
	}
}

func (r *rd) u8(field string) uint8 {
	if !r.need(1, field) {
		return 0
	}
	r.p++
	return r.b[r.p-1]
}

func (r *rd) u16(field string) uint16 {
	if !r.need(2, field) {
		return 0
	}
	r.p += 2
	return binary.LittleEndian.Uint16(r.b[r.p-2:])
}

func (r *rd) bytes(n int, field string) []byte {
	if n == 0 || !r.need(n, field) {
		return nil
	}
	r.p += n
	return r.b[r.p-n : r.p : r.p]
}

func (r *rd) lenBytes(lenField, field string) []byte {
	n := r.u8(lenField)
	return r.bytes(int(n), field)
}

func (r *rd) addr(field string) Addr {
	var a Addr
	copy(a[:], r.bytes(6, field))
	return a
}

func (r *rd) bcd(field string) int {
	off := r.p
	c := r.u8(field)
	if c>>4 > 9 || c&0x0F > 9 {
		r.fail(off, field, fmt.Errorf("%02X is not BCD: %w", c, ErrValue))
	}
	return int(c>>4)*10 + int(c&0x0F)
}

func (r *rd) end() error {
	if r.err == nil && r.p != len(r.b) {
		r.err = frameErr(r.p, "data", fmt.Errorf("%d unexpected bytes after the data unit: %w", len(r.b)-r.p, ErrLength))
	}
	return r.err
}

func appendLenBytes(dst []byte, field string, b []byte) ([]byte, error) {
	if len(b) > 255 {
		return dst, fmt.Errorf("%s of %d bytes exceeds 255: %w", field, len(b), ErrLength)
	}
	dst = append(dst, byte(len(b)))
	return append(dst, b...), nil
}

func appendU16(dst []byte, v uint16) []byte { return binary.LittleEndian.AppendUint16(dst, v) }

func toBCD(v int) byte { return byte(v/10)<<4 | byte(v%10) }
