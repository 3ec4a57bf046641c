package deploy

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"holdup/config"
)

// unitKeys reads holdup.service into section.key → values.
func unitKeys(t *testing.T) map[string][]string {
	t.Helper()
	f, err := os.Open("holdup.service")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	keys := map[string][]string{}
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		switch {
		case l == "" || strings.HasPrefix(l, "#"):
		case strings.HasPrefix(l, "["):
			section = strings.Trim(l, "[]")
		default:
			k, v, ok := strings.Cut(l, "=")
			if !ok {
				t.Fatalf("holdup.service: bad line %q", l)
			}
			keys[section+"."+k] = append(keys[section+"."+k], v)
		}
	}
	return keys
}

func TestUnitShape(t *testing.T) {
	u := unitKeys(t)
	want := map[string]string{
		"Service.Type":          "notify",
		"Service.Restart":       "always",
		"Service.ProtectSystem": "strict",
		"Service.DevicePolicy":  "closed",
		"Service.NotifyAccess":  "main",
	}
	for k, v := range want {
		if got := u[k]; len(got) != 1 || got[0] != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	wd, err := time.ParseDuration(strings.Join(u["Service.WatchdogSec"], ""))
	if err != nil || wd < 10*time.Second {
		t.Errorf("WatchdogSec = %q: want a duration of at least 10s", u["Service.WatchdogSec"])
	}
	for _, dev := range []string{"char-gpiochip rw", "char-i2c rw", "char-ttyS rw"} {
		found := false
		for _, v := range u["Service.DeviceAllow"] {
			found = found || v == dev
		}
		if !found {
			t.Errorf("no DeviceAllow=%s", dev)
		}
	}
	cmd := strings.Fields(strings.Join(u["Service.ExecStart"], ""))
	if len(cmd) != 4 || cmd[1] != "run" || cmd[2] != "-config" {
		t.Fatalf("ExecStart = %q", cmd)
	}
	if cmd[3] != "/etc/holdup/holdup.toml" {
		t.Errorf("ExecStart config %s, want /etc/holdup/holdup.toml (the ConfigurationDirectory)", cmd[3])
	}
}

// The example config's data store must be writable under the unit's
// ProtectSystem=strict.
func TestStoreIsWritable(t *testing.T) {
	cfg, err := config.Load("holdup.toml")
	if err != nil {
		t.Fatal(err)
	}
	u := unitKeys(t)
	dir := filepath.Dir(cfg.Store.Path)
	ok := false
	for _, p := range strings.Fields(strings.Join(u["Service.ReadWritePaths"], " ")) {
		ok = ok || dir == p || strings.HasPrefix(dir, p+"/")
	}
	for _, s := range u["Service.StateDirectory"] {
		ok = ok || dir == "/var/lib/"+s
	}
	if !ok {
		t.Errorf("store %s is not under ReadWritePaths %q", cfg.Store.Path, u["Service.ReadWritePaths"])
	}
}

// systemd-analyze verify must accept the unit without a single message.
func TestSystemdVerify(t *testing.T) {
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Skip("systemd-analyze not installed (Debian package systemd); CI runs deploy/verify-unit.sh")
	}
	out, err := exec.Command("./verify-unit.sh").CombinedOutput()
	if err != nil {
		t.Fatalf("verify-unit.sh: %v\n%s", err, out)
	}
	if !strings.HasSuffix(strings.TrimSpace(string(out)), "ok") {
		t.Errorf("verify-unit.sh said %q", out)
	}
}

// verify-unit.sh must fail on a unit with a warning in it.
func TestVerifyCatchesWarnings(t *testing.T) {
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Skip("systemd-analyze not installed")
	}
	unit, err := os.ReadFile("holdup.service")
	if err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(string(unit), "Restart=always", "Restart=always\nRestartSecs=2", 1)
	p := filepath.Join(t.TempDir(), "holdup.service")
	if err := os.WriteFile(p, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("./verify-unit.sh", p).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "RestartSecs") {
		t.Errorf("verify-unit.sh passed a unit with an unknown key: err %v\n%s", err, out)
	}
}
