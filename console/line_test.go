package console

import (
	"bytes"
	"testing"
)

func feedAll(e *editor, in string) []line {
	var out []line
	for i := 0; i < len(in); i++ {
		if l, ok := e.feed(in[i]); ok {
			out = append(out, l)
		}
	}
	return out
}

func TestEditor(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want []line
	}{
		{"cr", "status\r", []line{{kind: lineOK, text: "status"}}},
		{"lf", "status\n", []line{{kind: lineOK, text: "status"}}},
		{"crlf is one end", "a\r\nb\r\n", []line{{kind: lineOK, text: "a"}, {kind: lineOK, text: "b"}}},
		{"lfcr is two", "a\n\r", []line{{kind: lineOK, text: "a"}, {kind: lineOK, text: ""}}},
		{"empty", "\r", []line{{kind: lineOK, text: ""}}},
		{"backspace", "ab\bc\x7f\x7f\x7fd\r", []line{{kind: lineOK, text: "d"}}},
		{"tab", "log\t5\r", []line{{kind: lineOK, text: "log 5"}}},
		{"ctrl-c", "jou\x03log\r", []line{{kind: lineCancelled}, {kind: lineOK, text: "log"}}},
		{"exactly max", "12345678\r", []line{{kind: lineOK, text: "12345678"}}},
		{"ctrl-c at max", "12345678\x03", []line{{kind: lineCancelled}}},
		{"one over", "123456789\r", []line{{kind: lineTooLong, n: 9, limit: 8}}},
		{"backspace cannot rescue", "123456789\b\r", []line{{kind: lineTooLong, n: 9, limit: 8}}},
		{"garbage", "ab\x1b[Ac\r", []line{{kind: lineGarbage, bad: 0x1b, col: 3}}},
		{"high byte", "\xe4\xb8\xad\r", []line{{kind: lineGarbage, bad: 0xe4, col: 1}}},
		{"ctrl-c in garbage", "a\x00b\x03c\r", []line{{kind: lineGarbage, bad: 0x00, col: 2}}},
		{"garbage then good", "\x00\rok\r", []line{{kind: lineGarbage, bad: 0, col: 1}, {kind: lineOK, text: "ok"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var echo bytes.Buffer
			got := feedAll(newEditor(8, true, &echo), tc.in)
			if len(got) != len(tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("line %d = %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestEditorEchoAndHide(t *testing.T) {
	var echo bytes.Buffer
	e := newEditor(16, true, &echo)
	feedAll(e, "ab\bc\r")
	if got := echo.String(); got != "ab\b \bc\r\n" {
		t.Errorf("echo %q", got)
	}
	echo.Reset()
	e.hide = true
	feedAll(e, "secret\r")
	if got := echo.String(); got != "\r\n" {
		t.Errorf("hidden echo %q", got)
	}
	echo.Reset()
	e.hide = false
	feedAll(e, "\x00xyz\r")
	if got := echo.String(); got != "\r\n" {
		t.Errorf("a spoilt line echoed %q", got)
	}
}

func FuzzEditor(f *testing.F) {
	f.Add([]byte("status\r\n"))
	f.Add([]byte("ab\bc\x7f\x03\x00\xff\r\n\r"))
	f.Add(bytes.Repeat([]byte("x"), 300))
	f.Fuzz(func(t *testing.T, in []byte) {
		var echo bytes.Buffer
		const max = 32
		e := newEditor(max, true, &echo)
		lines := feedAll(e, string(in))
		for _, l := range lines {
			switch l.kind {
			case lineOK:
				if len(l.text) > max {
					t.Fatalf("accepted %d bytes, max %d", len(l.text), max)
				}
				for i := 0; i < len(l.text); i++ {
					if c := l.text[i]; c < 0x20 || c > 0x7e {
						t.Fatalf("accepted byte 0x%02X", c)
					}
				}
			case lineGarbage:
				if l.col < 1 || (l.bad >= 0x20 && l.bad <= 0x7e) {
					t.Fatalf("garbage report %+v", l)
				}
			case lineTooLong:
				if l.n <= max {
					t.Fatalf("too long at %d", l.n)
				}
			}
		}
		if cap(e.buf) > max {
			t.Fatalf("buffer grew to %d", cap(e.buf))
		}
		// Echo is at most what came in plus line ends and erasures.
		if echo.Len() > 4*len(in)+2 {
			t.Fatalf("echo %d bytes for %d in", echo.Len(), len(in))
		}
	})
}
