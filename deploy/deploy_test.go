package deploy

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"holdup/config"
	"holdup/sched"
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

// The unit permits exactly the priority calls holdup makes: the service
// allow list with @privileged and @resources taken out, then ioprio_set
// (the data store's writer threads) and setpriority (nice for the control
// threads) put back, nothing else; LimitNICE lets the unprivileged process
// reach sched.ControlNice and no further; realtime scheduling stays
// forbidden and no capability is granted.
func TestUnitAllowsPriorities(t *testing.T) {
	u := unitKeys(t)
	want := []string{"@system-service", "~@privileged @resources", "ioprio_set setpriority"}
	if got := u["Service.SystemCallFilter"]; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("SystemCallFilter = %q, want %q (in this order: a later allow entry puts calls back)", got, want)
	}
	if got := u["Service.LimitNICE"]; len(got) != 1 || got[0] != fmt.Sprint(sched.ControlNice) {
		t.Errorf("LimitNICE = %q, want %d (sched.ControlNice)", got, sched.ControlNice)
	}
	for k, v := range map[string]string{"RestrictRealtime": "yes", "CapabilityBoundingSet": "", "NoNewPrivileges": "yes"} {
		if got := u["Service."+k]; len(got) != 1 || got[0] != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	for _, k := range []string{"LimitRTPRIO", "CPUSchedulingPolicy", "CPUSchedulingPriority", "IOSchedulingClass", "Nice"} {
		if got, ok := u["Service."+k]; ok {
			t.Errorf("%s = %q: holdup sets its threads' priorities itself", k, got)
		}
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
