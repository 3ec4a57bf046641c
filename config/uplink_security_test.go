package config

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestUplinkSecurityKeys(t *testing.T) {
	base := func(extra string) string {
		return minimal + "\n[uplink]\nmaster = \"10.0.0.1:9000\"\nterminal_address = \"000000000001\"\n" + extra
	}
	c, err := Parse([]byte(base("allow_plain_control = true\n[uplink.tls]\ncert = \"t.pem\"\nkey = \"/etc/holdup/t.key\"\nca = \"ca.pem\"\n[uplink.security]\nkey_file = \"mac.key\"\n")), "/etc/holdup/holdup.toml")
	if err != nil {
		t.Fatal(err)
	}
	s := c.Uplink.Security
	if !s.AllowPlainControl || s.TLS == nil || s.TLS.Cert != filepath.FromSlash("/etc/holdup/t.pem") || s.TLS.Key != "/etc/holdup/t.key" || s.KeyFile != filepath.FromSlash("/etc/holdup/mac.key") {
		t.Errorf("security %+v tls %+v", s, s.TLS)
	}
	_, err = Parse([]byte(base("[uplink.tls]\ncert = \"t.pem\"\n")), "h.toml")
	if err == nil || !strings.Contains(err.Error(), "uplink.tls.key") || !strings.Contains(err.Error(), "uplink.tls.ca") {
		t.Errorf("missing tls keys: %v", err)
	}
}

func TestPointWritable(t *testing.T) {
	for _, tc := range []struct {
		name, point, err string
	}{
		{"control with uplink_oad", "class = \"control\"\n  uplink_oad = \"2F010200\"\n  writable = true", ""},
		{"collection", "class = \"collection\"\n  period = \"5s\"\n  uplink_oad = \"2F010200\"\n  writable = true", "only a control point"},
		{"not exposed", "class = \"control\"\n  writable = true", "add uplink_oad"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := minimal + "\n[[device]]\nname = \"inv\"\ndriver = \"modbus-tcp\"\naddress = \"10.0.0.2:502\"\n  [[device.point]]\n  name = \"p\"\n  kind = \"holding\"\n  address = 1\n  " + tc.point + "\n"
			c, err := Parse([]byte(doc), "h.toml")
			if tc.err == "" {
				if err != nil || !c.Devices[len(c.Devices)-1].Points[0].Writable {
					t.Fatalf("%v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), "device[1].point[0].writable") || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("err %v, want writable: %q", err, tc.err)
			}
		})
	}
}
