package hplc

import (
	"encoding/hex"
	"fmt"
	"reflect"
	"strings"

	"holdup/hplc/dlt645"
)

// HexBytes is a byte slice that marshals to JSON as a hexadecimal string.
type HexBytes []byte

// MarshalText implements encoding.TextMarshaler.
func (h HexBytes) MarshalText() ([]byte, error) {
	return []byte(strings.ToUpper(hex.EncodeToString(h))), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (h *HexBytes) UnmarshalText(b []byte) error {
	v, err := hex.DecodeString(string(b))
	if err != nil {
		return fmt.Errorf("hplc: hex bytes: %w", err)
	}
	*h = v
	return nil
}

// Description is the JSON-friendly view of one frame returned by Describe.
type Description struct {
	Protocol string      `json:"protocol"`
	Length   int         `json:"length"`
	Control  ControlDesc `json:"control"`
	Info     any         `json:"info"` // *DownInfoDesc or *UpInfoDesc
	Address  *AddrDesc   `json:"address,omitempty"`
	AFN      string      `json:"afn"`
	AFNName  string      `json:"afn_name"`
	Fn       uint16      `json:"fn"`
	DT       string      `json:"dt"`
	Data     HexBytes    `json:"data"`
	Checksum string      `json:"checksum"`
	Type     string      `json:"type"`
	Payload  Payload     `json:"payload"`
	// EmbeddedProtocol names the protocol type of a carried meter frame.
	EmbeddedProtocol string `json:"embedded_protocol,omitempty"`
	Embedded         any    `json:"embedded,omitempty"`
	// EmbeddedError reports an embedded meter frame that does not decode.
	EmbeddedError string `json:"embedded_error,omitempty"`
}

// ControlDesc is the decoded control field.
type ControlDesc struct {
	Raw       string `json:"raw"`
	Direction string `json:"direction"`
	Primary   bool   `json:"prm"`
	Mode      uint8  `json:"mode"`
	ModeName  string `json:"mode_name"`
}

// DownInfoDesc is the information field R in the downlink layout.
type DownInfoDesc struct {
	Raw        HexBytes `json:"raw"`
	Layout     string   `json:"layout"`
	Route      bool     `json:"route"`
	Subsidiary bool     `json:"subsidiary"`
	ModuleID   bool     `json:"module_id"`
	Conflict   bool     `json:"conflict"`
	Relays     uint8    `json:"relay_level"`
	Channel    uint8    `json:"channel"`
	ECC        uint8    `json:"ecc"`
	ReplyBytes uint8    `json:"reply_bytes"`
	Rate       uint16   `json:"rate"`
	RateKbps   bool     `json:"rate_kbps"`
	Seq        uint8    `json:"seq"`
}

// UpInfoDesc is the information field R in the uplink layout.
type UpInfoDesc struct {
	Raw        HexBytes `json:"raw"`
	Layout     string   `json:"layout"`
	Route      bool     `json:"route"`
	Subsidiary bool     `json:"subsidiary"`
	ModuleID   bool     `json:"module_id"`
	Relays     uint8    `json:"relay_level"`
	Channel    uint8    `json:"channel"`
	Phase      uint8    `json:"phase"`
	MeterCh    uint8    `json:"meter_channel"`
	CmdQuality uint8    `json:"cmd_quality"`
	AckQuality uint8    `json:"ack_quality"`
	Event      bool     `json:"event"`
	Seq        uint8    `json:"seq"`
}

func describeInfo(raw []byte, up bool, r Info) any {
	if up {
		return &UpInfoDesc{Raw: raw, Layout: "up", Route: r.Route, Subsidiary: r.Subsidiary, ModuleID: r.ModuleID,
			Relays: r.Relays, Channel: r.Channel, Phase: r.Phase, MeterCh: r.MeterCh, CmdQuality: r.CmdQuality,
			AckQuality: r.AckQuality, Event: r.Event, Seq: r.Seq}
	}
	return &DownInfoDesc{Raw: raw, Layout: "down", Route: r.Route, Subsidiary: r.Subsidiary, ModuleID: r.ModuleID,
		Conflict: r.Conflict, Relays: r.Relays, Channel: r.Channel, ECC: r.ECC, ReplyBytes: r.ReplyBytes,
		Rate: r.Rate, RateKbps: r.RateKbps, Seq: r.Seq}
}

// AddrDesc is the address field A.
type AddrDesc struct {
	Src    Addr   `json:"src"`
	Relays []Addr `json:"relays"`
	Dst    Addr   `json:"dst"`
}

// AFNName names an application function code.
func AFNName(afn uint8) string {
	switch afn {
	case AFNConfirm:
		return "confirm/deny"
	case AFNInit:
		return "initialisation"
	case AFNForward:
		return "data forward"
	case AFNQuery:
		return "query data"
	case AFNControl:
		return "control"
	case AFNReport:
		return "active report"
	case AFNRouteQuery:
		return "route query"
	case AFNRouteSet:
		return "route setting"
	case AFNRouteCtl:
		return "route control"
	case AFNRouteFwd:
		return "route data forward"
	}
	return fmt.Sprintf("AFN %02X", afn)
}

// ModeName names a communication mode.
func ModeName(m uint8) string {
	switch m {
	case ModeNarrowband:
		return "narrowband carrier (centralised routing)"
	case ModeDistributed:
		return "narrowband carrier (distributed routing)"
	case ModeHPLC:
		return "HPLC broadband carrier"
	case ModeWireless:
		return "micro-power wireless"
	case ModeEthernet:
		return "Ethernet"
	}
	return fmt.Sprintf("mode %d", m)
}

// Describe decodes one whole frame (nothing before 0x68 or after 0x16)
// with its typed payload, and an embedded DL/T 645 frame if it carries one,
// for `holdup frame decode -proto 1376.2`. A bad frame returns a
// *FrameError naming the field and byte offset.
func Describe(frame []byte) (any, error) {
	f, n, err := Decode(frame)
	if err != nil {
		return nil, err
	}
	if n != len(frame) {
		return nil, frameErr(n, "trailing", fmt.Errorf("%d bytes after the end byte: %w", len(frame)-n, ErrLength))
	}
	p, err := f.Payload()
	if err != nil {
		return nil, err
	}
	dir := "down (concentrator to module)"
	if f.C.Up {
		dir = "up (module to concentrator)"
	}
	d := &Description{
		Protocol: "Q/GDW 1376.2",
		Length:   n,
		Control: ControlDesc{Raw: fmt.Sprintf("%02X", frame[3]), Direction: dir, Primary: f.C.Primary,
			Mode: f.C.Mode, ModeName: ModeName(f.C.Mode)},
		Info:     describeInfo(frame[4:10], f.C.Up, f.R),
		AFN:      fmt.Sprintf("%02X", f.AFN),
		AFNName:  AFNName(f.AFN),
		Fn:       f.Fn,
		Data:     HexBytes(f.Data),
		Checksum: fmt.Sprintf("%02X", frame[n-2]),
		Type:     reflect.TypeOf(p).Name(),
		Payload:  p,
	}
	off := f.dataOffset()
	d.DT = fmt.Sprintf("%02X %02X", frame[off-2], frame[off-1])
	if f.R.ModuleID {
		d.Address = &AddrDesc{Src: f.Src, Relays: f.Relays, Dst: f.Dst}
		if d.Address.Relays == nil {
			d.Address.Relays = []Addr{}
		}
	}
	proto, inner, ok := embedded(p)
	if ok {
		d.EmbeddedProtocol = ProtocolName(proto)
	}
	if ok && proto == ProtoDLT645_2007 && len(inner) > 0 { // 645-1997 has 2-byte DIs; not decoded here
		if e, err := dlt645.Describe(inner); err != nil {
			d.EmbeddedError = err.Error()
		} else {
			d.Embedded = e
		}
	}
	return d, nil
}

// embedded returns the protocol and meter frame a payload carries.
func embedded(p Payload) (uint8, []byte, bool) {
	switch v := p.(type) {
	case Forward:
		return v.Protocol, v.Frame, true
	case MonitorRequest:
		return v.Protocol, v.Frame, true
	case MonitorReply:
		return v.Protocol, v.Frame, true
	case ReadReport:
		return v.Protocol, v.Frame, true
	case EventReport:
		return v.Protocol, v.Frame, true
	}
	return 0, nil, false
}
