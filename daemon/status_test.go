package daemon

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestListenStatus: the socket's directory is created 0700, the socket
// is 0600, and a file that is not a socket is never replaced.
func TestListenStatus(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	path := filepath.Join(dir, "holdup.sock")
	ln, err := listenStatus(path)
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]os.FileMode{dir: 0o700, path: 0o600} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: %v %v, want %v", p, fi.Mode(), err, want)
		}
	}
	ln.Close()
	if _, err := os.Lstat(path); !os.IsNotExist(err) {
		t.Errorf("socket left after Close: %v", err)
	}

	if err := os.WriteFile(path, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := listenStatus(path); err == nil || !strings.Contains(err.Error(), "not a socket") || !strings.Contains(err.Error(), path) {
		t.Fatalf("regular file in the way: %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "keep" {
		t.Errorf("the file in the way was replaced")
	}
}
