package dlt645

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"os"
	"strings"
	"testing"
)

type vector struct {
	hex, dir, meaning string
	raw               []byte
}

func loadVectors(t testing.TB) []vector {
	t.Helper()
	fh, err := os.Open("testdata/dlt645.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	var out []vector
	sc := bufio.NewScanner(fh)
	sc.Buffer(nil, 1<<20)
	first := true
	for sc.Scan() {
		if first {
			first = false
			continue
		}
		cols := strings.Split(sc.Text(), "\t")
		if len(cols) < 3 {
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

// vectorWant is what each vector's meaning column states, transcribed by
// hand. Where the column and the bytes disagree the bytes win (see note).
type vectorWant struct {
	addr     string
	c        Control
	l        int
	di       DI
	values   []string // "223.3" or "absent"; nil when the frame is a request
	checksum byte
}

var vectorWants = map[string]vectorWant{
	"68459266230010681104333434352516": {addr: "100023669245", c: 0x11, l: 4, di: 0x02010100, checksum: 0x25},
	"684592662300106891063334343566556216": {addr: "100023669245", c: 0x91, l: 6, di: 0x02010100,
		values: []string{"223.3"}, checksum: 0x62},
	"6812000000102068110433323435F516": {addr: "201000000012", c: 0x11, l: 4, di: 0x0201FF00, checksum: 0xF5},
	"6812000000102068910A333234358955323232322116": {addr: "201000000012", c: 0x91, l: 10, di: 0x0201FF00,
		values: []string{"225.6", "absent", "absent"}, checksum: 0x21},
	"6801000000000068110433323433B216": {addr: "000000000001", c: 0x11, l: 4, di: 0x0001FF00, checksum: 0xB2},
}

func TestVectors(t *testing.T) {
	vs := loadVectors(t)
	if len(vs) != len(vectorWants) {
		t.Fatalf("testdata has %d vectors, expectations cover %d", len(vs), len(vectorWants))
	}
	for _, v := range vs {
		t.Run(v.hex, func(t *testing.T) {
			w, ok := vectorWants[v.hex]
			if !ok {
				t.Fatalf("no expectation for vector %s (%s)", v.hex, v.meaning)
			}
			f, n, err := Decode(v.raw)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if n != len(v.raw) {
				t.Errorf("consumed %d of %d bytes", n, len(v.raw))
			}
			if got := f.Addr.String(); got != w.addr {
				t.Errorf("address = %s, want %s", got, w.addr)
			}
			if f.C != w.c || len(f.Data) != w.l {
				t.Errorf("C=%02X L=%d, want C=%02X L=%d", byte(f.C), len(f.Data), byte(w.c), w.l)
			}
			if v.raw[len(v.raw)-2] != w.checksum {
				t.Errorf("checksum byte %02X, want %02X", v.raw[len(v.raw)-2], w.checksum)
			}
			if strings.HasPrefix(v.dir, "master") != !f.C.Response() {
				t.Errorf("direction %q but response bit %v", v.dir, f.C.Response())
			}
			var di DI
			if f.C.Response() {
				var val []byte
				di, val, err = f.ReadResponse()
				if err != nil {
					t.Fatalf("read response: %v", err)
				}
				vals, known, err := DecodeValues(di, val)
				if err != nil || !known {
					t.Fatalf("values: known=%v err=%v", known, err)
				}
				var got []string
				for _, x := range vals {
					got = append(got, x.String())
				}
				if strings.Join(got, ",") != strings.Join(w.values, ",") {
					t.Errorf("values = %v, want %v", got, w.values)
				}
			} else {
				di, _, err = f.ReadRequest()
				if err != nil {
					t.Fatalf("read request: %v", err)
				}
			}
			if di != w.di {
				t.Errorf("DI = %s, want %s", di, w.di)
			}
			enc, err := f.Encode()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(enc, v.raw) {
				t.Errorf("re-encode = %X, want %s", enc, v.hex)
			}
			if _, err := Describe(v.raw); err != nil {
				t.Errorf("describe: %v", err)
			}
		})
	}
}
