package hplc

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestDT(t *testing.T) {
	tests := []struct {
		fn       uint16
		dt1, dt2 byte
	}{{1, 0x01, 0}, {2, 0x02, 0}, {3, 0x04, 0}, {8, 0x80, 0}, {9, 0x01, 1}, {10, 0x02, 1}, {200, 0x80, 0x18}, {248, 0x80, 30}}
	for _, tc := range tests {
		d1, d2, err := FnToDT(tc.fn)
		if err != nil || d1 != tc.dt1 || d2 != tc.dt2 {
			t.Errorf("FnToDT(%d) = %02X %02X %v", tc.fn, d1, d2, err)
		}
		fn, err := DTToFn(tc.dt1, tc.dt2)
		if err != nil || fn != tc.fn {
			t.Errorf("DTToFn(%02X,%02X) = %d %v", tc.dt1, tc.dt2, fn, err)
		}
	}
	for _, bad := range [][2]byte{{0, 0}, {0x03, 0}, {0x01, 31}} {
		if _, err := DTToFn(bad[0], bad[1]); !errors.Is(err, ErrDT) {
			t.Errorf("DTToFn(%02X,%02X) accepted", bad[0], bad[1])
		}
	}
	for _, fn := range []uint16{0, 249} {
		if _, _, err := FnToDT(fn); !errors.Is(err, ErrDT) {
			t.Errorf("FnToDT(%d) accepted", fn)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	good := mustHexT("6817004300002832004F11010001043300000000023816")
	tests := []struct {
		name   string
		mutate func(b []byte) []byte
		field  string
		offset int
		is     error
	}{
		{"start", func(b []byte) []byte { b[0] = 0x69; return b }, "start", 0, ErrStart},
		{"length too small", func(b []byte) []byte { b[1] = 0x0E; return b }, "length", 1, ErrLength},
		{"length too big", func(b []byte) []byte { b[2] = 0x10; return b }, "length", 1, ErrLength},
		{"truncated", func(b []byte) []byte { return b[:20] }, "length", 20, ErrShort},
		{"end", func(b []byte) []byte { b[22] = 0x00; return b }, "end", 22, ErrEnd},
		{"checksum", func(b []byte) []byte { b[15]++; return b }, "checksum", 21, ErrChecksum},
		{"DT two bits", func(b []byte) []byte { b[11] = 0x03; b[21] += 2; return b }, "DT", 11, ErrDT},
		{"payload short", func(b []byte) []byte {
			// node count 2 but only one node follows
			b[13] = 2
			b[21]++
			return b
		}, "node address", 21, ErrShort},
		{"A field does not fit", func(b []byte) []byte { b[4] |= 0x04; b[21] += 4; return b }, "address", 10, ErrLength},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.mutate(bytes.Clone(good))
			_, err := Describe(b)
			var fe *FrameError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v, want *FrameError", err)
			}
			if fe.Field != tc.field || fe.Offset != tc.offset || !errors.Is(err, tc.is) {
				t.Errorf("got %q at %d (%v); want %q at %d (%v)", fe.Field, fe.Offset, err, tc.field, tc.offset, tc.is)
			}
			if !strings.HasPrefix(err.Error(), "hplc: "+tc.field) {
				t.Errorf("message %q does not lead with the field", err)
			}
		})
	}
}

func TestInfoLayouts(t *testing.T) {
	down := Info{Route: true, Subsidiary: true, ModuleID: false, Conflict: true, Relays: 3, Channel: 2, ECC: 5,
		ReplyBytes: 0x40, Rate: 0x1234, RateKbps: true, Seq: 0x99}
	up := Info{Route: true, Relays: 2, Channel: 1, Phase: 3, MeterCh: 2, CmdQuality: 9, AckQuality: 12, Event: true, Seq: 0x99}
	for _, tc := range []struct {
		up   bool
		info Info
		raw  []byte
	}{
		{false, down, []byte{0x3B, 0x52, 0x40, 0x34, 0x92, 0x99}},
		{true, up, []byte{0x21, 0x01, 0x23, 0xC9, 0x01, 0x99}},
	} {
		var b [6]byte
		tc.info.put(b[:], tc.up)
		if !bytes.Equal(b[:], tc.raw) {
			t.Errorf("up=%v put = %X, want %X", tc.up, b, tc.raw)
		}
		if got := parseInfo(tc.raw, tc.up); got != tc.info {
			t.Errorf("up=%v parse = %+v, want %+v", tc.up, got, tc.info)
		}
	}
	bad := Frame{C: Control{Mode: 3}, R: Info{Rate: 0x8000}, AFN: 1, Fn: 1}
	if _, err := bad.Encode(); !errors.Is(err, ErrValue) {
		t.Errorf("rate 0x8000 encoded: %v", err)
	}
	relay := Frame{C: Control{Mode: 3}, R: Info{ModuleID: true, Relays: 1}, AFN: 1, Fn: 1}
	if _, err := relay.Encode(); !errors.Is(err, ErrValue) {
		t.Errorf("relay level without relay address encoded: %v", err)
	}
}

func TestRelayAddressRoundTrip(t *testing.T) {
	f := Frame{C: Control{Primary: true, Mode: ModeHPLC}, R: Info{ModuleID: true, Relays: 2, Seq: 7},
		Src: MustParseAddr("000000000001"), Relays: []Addr{MustParseAddr("000000000002"), MustParseAddr("000000000003")},
		Dst: MustParseAddr("000000000004"), AFN: AFNRouteFwd, Fn: 1, Data: []byte{2, 0, 0, 0}}
	b, err := f.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != 15+4+24 {
		t.Fatalf("length %d", len(b))
	}
	g, _, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(f, g) {
		t.Errorf("round trip\n got %+v\nwant %+v", g, f)
	}
}

func TestPayloadRoundTrip(t *testing.T) {
	a1, a2 := MustParseAddr("000000003304"), MustParseAddr("201000000012")
	vendor := VendorInfo{Vendor: "TC", Chip: "HP", Date: Date{Year: 24, Month: 6, Day: 18}, Version: 0x0102}
	tests := []struct {
		up   bool
		p    Payload
		data string
	}{
		{true, Confirm{Status: 1, Wait: 5}, "010000000500"},
		{false, Confirm{Status: 0xFFFFFFFF}, "FFFFFFFF0000"},
		{true, Deny{Reason: DenyNodeNoAnswer}, "0B"},
		{false, Forward{Protocol: 2, Frame: HexBytes{0x68, 0x16}}, "02026816"},
		{true, Forward{Protocol: 2, Frame: HexBytes{0x68}}, "020168"},
		{true, vendor, "435450481806240201"},
		{true, MasterAddr{Addr: a2}, "120000001020"},
		{false, SetMasterAddr{Addr: a2}, "120000001020"},
		{true, RunMode{CommMode: 2, RouteManaged: true, NeedsNodeList: true, ReadingMode: 3, DelaySupport: 1, FailoverMode: 2,
			BroadcastConfirm: 1, BroadcastChannel: 1, Channels: 1, PowerOffInfo: 1, MonitorTimeout: 90,
			BroadcastTimeout: 120, MaxFrame: 512, MaxFilePacket: 256, UpgradeWait: 10, Master: a2, MaxNodes: 1024, Nodes: 3,
			ProtocolDate: Date{13, 12, 1}, RecordDate: Date{24, 1, 2}, Vendor: vendor, Rates: []Rate{{Value: 100, Kbps: true}}},
			"F2712101" + "0000" + "5A" + "7800" + "0002" + "0001" + "0A" + "120000001020" + "0004" + "0300" + "011213" + "020124" +
				"435450481806240201" + "6480"},
		{true, NodeReport{Nodes: []ReportedNode{{Addr: a1, Protocol: 2, Index: 1}}}, "01" + "043300000000" + "02" + "0100"},
		{true, ReadReport{Index: 3, Protocol: 2, Duration: 1, Frame: HexBytes{0xAA}}, "0300" + "02" + "0100" + "01AA"},
		{true, RouteChange{Status: RouteReadingDone}, "01"},
		{true, EventReport{DeviceType: 1, Protocol: 2, Frame: HexBytes{1, 2}}, "0102020102"},
		{false, NodeInfoQuery{Start: 1, Count: 16}, "010010"},
		{true, NodeCount{Count: 2, Max: 1024}, "02000004"},
		{true, NodeInfoList{Total: 2, Nodes: []NodeInfo{{Addr: a1, Relays: 1, Quality: 15, Phase: 1, Protocol: 2}}},
			"0200" + "01" + "043300000000" + "F111"},
		{true, RouteStatus{Done: true, Working: true, ECC: 1, Total: 3, Read: 2, RelayRead: 1, Learning: false,
			RegisterAllowed: true, Rate: 100, RelayLevel: [3]uint8{1, 2, 3}, Step: [3]uint8{4, 5, 6}},
			"13" + "0300" + "0200" + "0100" + "02" + "6400" + "010203" + "040506"},
		{false, AddNodes{Nodes: []Node{{Addr: a1, Protocol: 2}, {Addr: a2, Protocol: 3}}}, "02" + "04330000000002" + "12000000102003"},
		{false, DeleteNodes{Addrs: []Addr{a1}}, "01043300000000"},
		{false, MonitorRequest{Protocol: 2, DelayRelated: 1, Attached: []Addr{a2}, Frame: HexBytes{0x68}}, "020101" + "120000001020" + "0168"},
		{true, MonitorReply{Duration: 2, Protocol: 2, Frame: HexBytes{0x68, 0x16}}, "0200" + "02" + "026816"},
		{false, RoutePause, ""},
		{false, Raw{AFN: 0x15, Fn: 1, Data: HexBytes{1, 2, 3}}, "010203"},
	}
	for _, tc := range tests {
		afn, fn := tc.p.AFNFn()
		name := reflect.TypeOf(tc.p).Name()
		t.Run(name, func(t *testing.T) {
			data, err := tc.p.AppendTo(nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.ToUpper(hexString(data)); got != strings.ToUpper(tc.data) {
				t.Errorf("AFN %02X F%d data = %s, want %s", afn, fn, got, tc.data)
			}
			if len(data) == 0 {
				data = nil
			}
			back, err := DecodePayload(tc.up, afn, fn, data)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if !reflect.DeepEqual(back, tc.p) {
				t.Errorf("decode = %#v, want %#v", back, tc.p)
			}
			if len(data) > 0 {
				_, err := DecodePayload(tc.up, afn, fn, append(bytes.Clone(data), 0))
				if _, isRaw := tc.p.(Raw); !isRaw && !errors.Is(err, ErrLength) {
					t.Errorf("trailing byte accepted: %v", err)
				}
			}
		})
	}
}

func hexString(b []byte) string {
	s, _ := HexBytes(b).MarshalText()
	return string(s)
}

func TestDescribeMonitorEmbeds645(t *testing.T) {
	d, err := Describe(mustHexT("682F00410500C800000E888888999904043300000000130100020000106804330000000068110434343445FD165716"))
	if err != nil {
		t.Fatal(err)
	}
	js, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{`"afn":"13"`, `"fn":1`, `"dt":"01 00"`, `"src":"049999888888"`, `"dst":"000000003304"`,
		`"type":"MonitorRequest"`, `"embedded_protocol":"DL/T 645-2007"`, `"di":"12010101"`, `"seq":14`, `"module_id":true`, `"checksum":"57"`, `"layout":"down"`} {
		if !strings.Contains(string(js), w) {
			t.Errorf("JSON lacks %s:\n%s", w, js)
		}
	}
	// An embedded meter frame with a bad checksum is named, the outer frame still decodes.
	b := mustHexT("682F00410500C800000E888888999904043300000000130100020000106804330000000068110434343445FE165816")
	d, err = Describe(b)
	if err != nil {
		t.Fatal(err)
	}
	if e := d.(*Description).EmbeddedError; !strings.Contains(e, "checksum") {
		t.Errorf("embedded error %q", e)
	}
}

func TestDescribeUplinkLayout(t *testing.T) {
	d, err := Describe(mustHexT("68150083000000000002000100FFFFFFFF02008416"))
	if err != nil {
		t.Fatal(err)
	}
	js, _ := json.Marshal(d)
	for _, w := range []string{`"layout":"up"`, `"phase":0`, `"seq":2`, `"type":"Confirm"`, `"status":4294967295`,
		`"wait_s":2`, `"mode_name":"HPLC broadband carrier"`, `"prm":false`} {
		if !strings.Contains(string(js), w) {
			t.Errorf("JSON lacks %s: %s", w, js)
		}
	}
	if strings.Contains(string(js), "reply_bytes") {
		t.Errorf("uplink description carries downlink fields: %s", js)
	}
}
