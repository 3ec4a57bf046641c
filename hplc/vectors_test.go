package hplc

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"

	"holdup/hplc/dlt645"
)

type vector struct {
	hex, dir, meaning string
	raw               []byte
}

func loadVectors(t testing.TB) []vector {
	t.Helper()
	fh, err := os.Open("testdata/q1376_2.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	var out []vector
	sc := bufio.NewScanner(fh)
	sc.Buffer(nil, 1<<20)
	for first := true; sc.Scan(); first = false {
		cols := strings.Split(sc.Text(), "\t")
		if first || len(cols) < 3 {
			continue
		}
		b, err := hex.DecodeString(cols[0])
		if err != nil {
			t.Fatalf("vector %q: %v", cols[0], err)
		}
		out = append(out, vector{hex: cols[0], dir: cols[1], meaning: cols[2], raw: b})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// want is what a vector's meaning column states, transcribed by hand.
type want struct {
	c        Control
	r        Info
	src, dst string // A field, when present
	afn      uint8
	fn       uint16
	payload  Payload
	checksum byte
	// meter is the DI of an embedded DL/T 645 read request, 0 if none.
	meter dlt645.DI
}

func down(mode uint8) Control { return Control{Primary: true, Mode: mode} }

var hplcR = func(seq uint8) Info { return Info{ReplyBytes: 0x28, Rate: 0x32, Seq: seq} }

var generatorR = Info{Route: true, ReplyBytes: 0xFF}

var vectorWants = map[string]want{
	"680F00410100FF0000000101004316": {c: down(1), r: generatorR, afn: 1, fn: 1, payload: HardwareInit, checksum: 0x43},
	"680F00410100FF0000000102004416": {c: down(1), r: generatorR, afn: 1, fn: 2, payload: ParamInit, checksum: 0x44},
	"680F00410100FF0000000104004616": {c: down(1), r: generatorR, afn: 1, fn: 3, payload: DataInit, checksum: 0x46},
	"680F00410100FF0000000301004516": {c: down(1), r: generatorR, afn: 3, fn: 1, payload: QueryVendor, checksum: 0x45},
	"680F00410100FF0000000302014716": {c: down(1), r: generatorR, afn: 3, fn: 10, payload: QueryRunMode, checksum: 0x47},
	// Uplink layout of R=01 00 FF 00 00 00: byte 3 is phase (low nibble) and
	// meter channel (high nibble), so FF reads as phase 15 / channel 15.
	"681500C10100FF000000000100000000000000C216": {c: Control{Up: true, Primary: true, Mode: 1},
		r: Info{Route: true, Phase: 15, MeterCh: 15}, afn: 0, fn: 1, payload: Confirm{}, checksum: 0xC2},
	"681000410100FF00000005801801DF16": {c: down(1), r: generatorR, afn: 5, fn: 200,
		payload: Raw{AFN: 5, Fn: 200, Data: HexBytes{0x01}}, checksum: 0xDF},
	"68150083000000000002000100FFFFFFFF02008416": {c: Control{Up: true, Mode: 3}, r: Info{Seq: 2}, afn: 0, fn: 1,
		payload: Confirm{Status: 0xFFFFFFFF, Wait: 2}, checksum: 0x84},
	"680F004300002832004C120200FD16": {c: down(3), r: hplcR(0x4C), afn: 0x12, fn: 2, payload: RoutePause, checksum: 0xFD},
	"6815004300002832004B050100888888999904BC16": {c: down(3), r: hplcR(0x4B), afn: 5, fn: 1,
		payload: SetMasterAddr{Addr: MustParseAddr("049999888888")}, checksum: 0xBC},
	"680F004300002832004D010200ED16": {c: down(3), r: hplcR(0x4D), afn: 1, fn: 2, payload: ParamInit, checksum: 0xED},
	"680F004300002832004E100100FC16": {c: down(3), r: hplcR(0x4E), afn: 0x10, fn: 1, payload: QueryNodeCount, checksum: 0xFC},
	"6817004300002832004F11010001043300000000023816": {c: down(3), r: hplcR(0x4F), afn: 0x11, fn: 1,
		payload: AddNodes{Nodes: []Node{{Addr: MustParseAddr("000000003304"), Protocol: ProtoDLT645_2007}}}, checksum: 0x38},
	"682F00410500C800000E888888999904043300000000130100020000106804330000000068110434343445FD165716": {
		c: down(1), r: Info{Route: true, ModuleID: true, ReplyBytes: 0xC8, Seq: 0x0E},
		src: "049999888888", dst: "000000003304", afn: 0x13, fn: 1,
		payload:  MonitorRequest{Protocol: ProtoDLT645_2007, Frame: mustHexT("6804330000000068110434343445FD16")},
		checksum: 0x57, meter: 0x12010101},
	"683300410500C800001088888899990404330000000013010002000014FEFEFEFE6804330000000068110434343445FD165516": {
		c: down(1), r: Info{Route: true, ModuleID: true, ReplyBytes: 0xC8, Seq: 0x10},
		src: "049999888888", dst: "000000003304", afn: 0x13, fn: 1,
		payload:  MonitorRequest{Protocol: ProtoDLT645_2007, Frame: mustHexT("FEFEFEFE6804330000000068110434343445FD16")},
		checksum: 0x55, meter: 0x12010101},
}

func mustHexT(s string) HexBytes {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func TestVectors(t *testing.T) {
	vs := loadVectors(t)
	if len(vs) != len(vectorWants) {
		t.Fatalf("testdata has %d vectors, expectations cover %d", len(vs), len(vectorWants))
	}
	for _, v := range vs {
		t.Run(v.hex[:30], func(t *testing.T) {
			w, ok := vectorWants[v.hex]
			if !ok {
				t.Fatalf("no expectation for %s (%s)", v.hex, v.meaning)
			}
			f, n, err := Decode(v.raw)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if n != len(v.raw) || int(v.raw[1])|int(v.raw[2])<<8 != n {
				t.Errorf("consumed %d of %d bytes", n, len(v.raw))
			}
			if f.C != w.c {
				t.Errorf("C = %+v, want %+v", f.C, w.c)
			}
			if strings.HasPrefix(v.dir, "UP") != f.C.Up {
				t.Errorf("direction column %q but DIR=%v", v.dir, f.C.Up)
			}
			if f.R != w.r {
				t.Errorf("R = %+v, want %+v", f.R, w.r)
			}
			if w.src != "" {
				if f.Src.String() != w.src || f.Dst.String() != w.dst || len(f.Relays) != 0 {
					t.Errorf("A = %s %v %s, want %s -> %s", f.Src, f.Relays, f.Dst, w.src, w.dst)
				}
			} else if f.R.ModuleID {
				t.Error("A field present, meaning says none")
			}
			if f.AFN != w.afn || f.Fn != w.fn {
				t.Errorf("AFN %02X F%d, want AFN %02X F%d", f.AFN, f.Fn, w.afn, w.fn)
			}
			if v.raw[n-2] != w.checksum {
				t.Errorf("checksum %02X, want %02X", v.raw[n-2], w.checksum)
			}
			p, err := f.Payload()
			if err != nil {
				t.Fatalf("payload: %v", err)
			}
			if !reflect.DeepEqual(p, w.payload) {
				t.Errorf("payload = %#v, want %#v", p, w.payload)
			}
			if w.meter != 0 {
				m := p.(MonitorRequest)
				mf, _, err := dlt645.Decode(m.Frame)
				if err != nil {
					t.Fatalf("embedded 645: %v", err)
				}
				di, _, err := mf.ReadRequest()
				if err != nil || di != w.meter || mf.Addr.String() != w.dst {
					t.Errorf("embedded 645 DI %s addr %s err %v, want DI %s addr %s", di, mf.Addr, err, w.meter, w.dst)
				}
			}
			enc, err := f.Encode()
			if err != nil || !bytes.Equal(enc, v.raw) {
				t.Errorf("re-encode = %X, %v; want %s", enc, err, v.hex)
			}
			// Building the frame from the typed payload gives the same bytes.
			g, err := NewFrame(f.C, f.R, p)
			if err != nil {
				t.Fatal(err)
			}
			g.Src, g.Dst, g.Relays = f.Src, f.Dst, f.Relays
			if enc2, err := g.Encode(); err != nil || !bytes.Equal(enc2, v.raw) {
				t.Errorf("payload re-encode = %X, %v; want %s", enc2, err, v.hex)
			}
			d, err := Describe(v.raw)
			if err != nil {
				t.Fatalf("describe: %v", err)
			}
			if _, err := json.Marshal(d); err != nil {
				t.Errorf("describe JSON: %v", err)
			}
		})
	}
}
