package hplc

import "fmt"

// Date is a BCD date carried day, month, year (two-digit year) on the wire.
type Date struct {
	Year, Month, Day int
}

// String formats the value for logs and JSON.
func (d Date) String() string { return fmt.Sprintf("%02d-%02d-%02d", d.Year, d.Month, d.Day) }

// MarshalText implements encoding.TextMarshaler.
func (d Date) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

func (r *rd) date(field string) Date {
	return Date{Day: r.bcd(field), Month: r.bcd(field), Year: r.bcd(field)}
}

func appendDate(dst []byte, d Date) ([]byte, error) {
	if d.Year < 0 || d.Year > 99 || d.Month < 0 || d.Month > 99 || d.Day < 0 || d.Day > 99 {
		return dst, fmt.Errorf("date %v not two BCD digits each: %w", d, ErrValue)
	}
	return append(dst, toBCD(d.Day), toBCD(d.Month), toBCD(d.Year)), nil
}

// VendorInfo is AFN 03 F1 (up): vendor code and chip code (two ASCII
// characters each), version date and version (BCD).
type VendorInfo struct {
	Vendor  string `json:"vendor"`
	Chip    string `json:"chip"`
	Date    Date   `json:"date"`
	Version uint16 `json:"version"` // four BCD digits, e.g. 0x0102
}

// AFNFn implements Payload.
func (VendorInfo) AFNFn() (uint8, uint16) { return AFNQuery, 1 }

// AppendTo implements Payload.
func (p VendorInfo) AppendTo(dst []byte) ([]byte, error) {
	if len(p.Vendor) != 2 || len(p.Chip) != 2 {
		return dst, fmt.Errorf("vendor %q and chip %q must be 2 characters: %w", p.Vendor, p.Chip, ErrValue)
	}
	if !isBCD16(p.Version) {
		return dst, fmt.Errorf("version %04X is not BCD: %w", p.Version, ErrValue)
	}
	// Codes are sent low character first, as the module stores them.
	dst = append(dst, p.Vendor[1], p.Vendor[0], p.Chip[1], p.Chip[0])
	dst, err := appendDate(dst, p.Date)
	if err != nil {
		return dst, err
	}
	return appendU16(dst, p.Version), nil
}

func isBCD16(v uint16) bool {
	for i := 0; i < 16; i += 4 {
		if (v>>i)&0x0F > 9 {
			return false
		}
	}
	return true
}

func decodeVendor(r *rd) VendorInfo {
	v := r.bytes(2, "vendor code")
	c := r.bytes(2, "chip code")
	p := VendorInfo{Date: r.date("version date")}
	off := r.p
	p.Version = r.u16("version")
	if r.err == nil && !isBCD16(p.Version) {
		r.fail(off, "version", fmt.Errorf("%04X is not BCD: %w", p.Version, ErrValue))
	}
	if r.err == nil {
		p.Vendor = string([]byte{v[1], v[0]})
		p.Chip = string([]byte{c[1], c[0]})
	}
	return p
}

// MasterAddr is AFN 03 F4 (up): the master-node (CCO) address.
type MasterAddr struct {
	Addr Addr `json:"addr"`
}

// AFNFn implements Payload.
func (MasterAddr) AFNFn() (uint8, uint16) { return AFNQuery, 4 }

// AppendTo implements Payload.
func (p MasterAddr) AppendTo(dst []byte) ([]byte, error) { return append(dst, p.Addr[:]...), nil }

// SetMasterAddr is AFN 05 F1 (down): set the master-node address.
type SetMasterAddr struct {
	Addr Addr `json:"addr"`
}

// AFNFn implements Payload.
func (SetMasterAddr) AFNFn() (uint8, uint16) { return AFNControl, 1 }

// AppendTo implements Payload.
func (p SetMasterAddr) AppendTo(dst []byte) ([]byte, error) { return append(dst, p.Addr[:]...), nil }

// Rate is one communication rate: Value in bit/s, or kbit/s when Kbps.
type Rate struct {
	Value uint16 `json:"value"`
	Kbps  bool   `json:"kbps"`
}

// RunMode is AFN 03 F10 (up): the local communication module's run-mode
// information.
type RunMode struct {
	CommMode         uint8      `json:"comm_mode"`         // byte 1 D0..D3: 1 narrowband, 2 broadband, 3 wireless
	RouteManaged     bool       `json:"route_managed"`     // byte 1 D4: module manages routes
	NeedsNodeList    bool       `json:"needs_node_list"`   // byte 1 D5: node list must be downloaded
	ReadingMode      uint8      `json:"reading_mode"`      // byte 1 D6..D7: 1 concentrator-led, 2 router-led, 3 both
	DelaySupport     uint8      `json:"delay_support"`     // byte 2 D0..D2
	FailoverMode     uint8      `json:"failover_mode"`     // byte 2 D3..D4
	BroadcastConfirm uint8      `json:"broadcast_confirm"` // byte 2 D5
	BroadcastChannel uint8      `json:"broadcast_channel"` // byte 2 D6..D7
	Channels         uint8      `json:"channels"`          // byte 3 D0..D4
	PowerOffInfo     uint8      `json:"power_off_info"`    // byte 3 D5..D7
	MonitorTimeout   uint8      `json:"monitor_timeout_s"` // maximum node monitor timeout
	BroadcastTimeout uint16     `json:"broadcast_timeout_s"`
	MaxFrame         uint16     `json:"max_frame"` // maximum message length
	MaxFilePacket    uint16     `json:"max_file_packet"`
	UpgradeWait      uint8      `json:"upgrade_wait_min"`
	Master           Addr       `json:"master"`
	MaxNodes         uint16     `json:"max_nodes"`
	Nodes            uint16     `json:"nodes"`
	ProtocolDate     Date       `json:"protocol_date"`
	RecordDate       Date       `json:"record_date"`
	Vendor           VendorInfo `json:"vendor"`
	Rates            []Rate     `json:"rates"`
}

// AFNFn implements Payload.
func (RunMode) AFNFn() (uint8, uint16) { return AFNQuery, 10 }

// AppendTo implements Payload.
func (p RunMode) AppendTo(dst []byte) ([]byte, error) {
	if p.CommMode > 15 || p.ReadingMode > 3 || p.DelaySupport > 7 || p.FailoverMode > 3 ||
		p.BroadcastConfirm > 1 || p.BroadcastChannel > 3 || p.Channels > 31 || p.PowerOffInfo > 7 || len(p.Rates) > 15 {
		return dst, fmt.Errorf("run-mode bit field out of range: %w", ErrValue)
	}
	b1 := p.CommMode | p.ReadingMode<<6
	if p.RouteManaged {
		b1 |= 0x10
	}
	if p.NeedsNodeList {
		b1 |= 0x20
	}
	dst = append(dst, b1, p.DelaySupport|p.FailoverMode<<3|p.BroadcastConfirm<<5|p.BroadcastChannel<<6,
		p.Channels|p.PowerOffInfo<<5, byte(len(p.Rates)), 0, 0, p.MonitorTimeout)
	dst = appendU16(dst, p.BroadcastTimeout)
	dst = appendU16(dst, p.MaxFrame)
	dst = appendU16(dst, p.MaxFilePacket)
	dst = append(dst, p.UpgradeWait)
	dst = append(dst, p.Master[:]...)
	dst = appendU16(dst, p.MaxNodes)
	dst = appendU16(dst, p.Nodes)
	var err error
	if dst, err = appendDate(dst, p.ProtocolDate); err != nil {
		return dst, err
	}
	if dst, err = appendDate(dst, p.RecordDate); err != nil {
		return dst, err
	}
	if dst, err = p.Vendor.AppendTo(dst); err != nil {
		return dst, err
	}
	for _, rt := range p.Rates {
		if rt.Value > 0x7FFF {
			return dst, fmt.Errorf("rate %d exceeds 32767: %w", rt.Value, ErrValue)
		}
		v := rt.Value
		if rt.Kbps {
			v |= 0x8000
		}
		dst = appendU16(dst, v)
	}
	return dst, nil
}

func decodeRunMode(r *rd) RunMode {
	b1, b2, b3 := r.u8("mode word"), r.u8("mode word"), r.u8("mode word")
	nRates := int(r.u8("rate count") & 0x0F)
	r.bytes(2, "mode word reserved")
	p := RunMode{
		CommMode: b1 & 0x0F, RouteManaged: b1&0x10 != 0, NeedsNodeList: b1&0x20 != 0, ReadingMode: b1 >> 6,
		DelaySupport: b2 & 0x07, FailoverMode: (b2 >> 3) & 0x03, BroadcastConfirm: (b2 >> 5) & 1, BroadcastChannel: b2 >> 6,
		Channels: b3 & 0x1F, PowerOffInfo: b3 >> 5,
	}
	p.MonitorTimeout = r.u8("monitor timeout")
	p.BroadcastTimeout = r.u16("broadcast timeout")
	p.MaxFrame = r.u16("max frame length")
	p.MaxFilePacket = r.u16("max file packet")
	p.UpgradeWait = r.u8("upgrade wait")
	p.Master = r.addr("master address")
	p.MaxNodes = r.u16("max nodes")
	p.Nodes = r.u16("node count")
	p.ProtocolDate = r.date("protocol date")
	p.RecordDate = r.date("record date")
	p.Vendor = decodeVendor(r)
	for range nRates {
		v := r.u16("rate")
		p.Rates = append(p.Rates, Rate{Value: v & 0x7FFF, Kbps: v&0x8000 != 0})
	}
	return p
}
