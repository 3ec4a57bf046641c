package daemon

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"holdup/config"
	"holdup/proto698"
)

// stubServer answers every SET success and counts the calls.
type stubServer struct{ sets int }

func (s *stubServer) Get(context.Context, proto698.OAD) (proto698.Data, proto698.DAR) {
	return proto698.Null{}, proto698.DARSuccess
}
func (s *stubServer) Set(context.Context, proto698.OAD, proto698.Data) proto698.DAR {
	s.sets++
	return proto698.DARSuccess
}

func TestWriteGuard(t *testing.T) {
	points := map[uint32]bool{0x2F010200: true, 0x2F030200: false}
	for _, tc := range []struct {
		name string
		oad  uint32
		want proto698.DAR
		sets int
	}{
		{"writable point", 0x2F010200, proto698.DARSuccess, 1},
		{"point not writable", 0x2F030200, proto698.DARReadDenied, 0},
		{"not a point: the server decides", 0x40000200, proto698.DARSuccess, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			next := &stubServer{}
			g := writeGuard{next: next, log: slog.New(slog.DiscardHandler), point: func(o uint32) (bool, bool) {
				w, ok := points[o]
				return ok, w
			}}
			if got := g.Set(context.Background(), proto698.NewOAD(tc.oad), proto698.LongUnsigned(1)); got != tc.want || next.sets != tc.sets {
				t.Errorf("Set = %v with %d server calls, want %v with %d", got, next.sets, tc.want, tc.sets)
			}
			if _, dar := g.Action(context.Background(), proto698.OMD{OI: 0x4000, Method: 127}, proto698.Null{}); dar != proto698.DARUndefined {
				t.Errorf("Action on a server without methods = %v", dar)
			}
		})
	}
}

func TestUplinkSecurityKeyFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	log := slog.New(slog.DiscardHandler)
	for _, tc := range []struct {
		name, text, err string
	}{
		{"good", "# key\n00112233445566778899aabbccddeeff\n", ""},
		{"not hex", "zz112233445566778899aabbccddeeff", "not hex digits"},
		{"short", "0011223344", "want at least 16"},
		{"one byte repeated", "00000000000000000000000000000000", "every byte"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sec, err := uplinkSecurity(config.UplinkSecurity{KeyFile: write(tc.name, tc.text, 0o600)}, log)
			if tc.err == "" {
				if err != nil || sec.Verifier == nil {
					t.Fatalf("%v, verifier %v", err, sec.Verifier)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), "key_file") {
				t.Fatalf("err %v, want it to name key_file and %q", err, tc.err)
			}
		})
	}
	if _, err := uplinkSecurity(config.UplinkSecurity{KeyFile: filepath.Join(dir, "missing")}, log); err == nil {
		t.Error("missing key file accepted")
	}
	if _, err := uplinkSecurity(config.UplinkSecurity{TLS: &config.UplinkTLS{Cert: "/nonexistent.pem", Key: "/nonexistent.key", CA: "/nonexistent.ca"}}, log); err == nil || !strings.Contains(err.Error(), "uplink.tls") {
		t.Errorf("missing TLS files: %v", err)
	}
}
