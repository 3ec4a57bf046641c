package config

import (
	"reflect"
	"testing"
)

func TestMasterControlText(t *testing.T) {
	tls := &UplinkTLS{Cert: "/etc/holdup/t.crt", Key: "/etc/holdup/t.key", CA: "/etc/holdup/ca.pem"}
	for _, tc := range []struct {
		name string
		s    UplinkSecurity
		want string
	}{
		{"nothing", UplinkSecurity{}, "refused: no authenticated channel (no [uplink.tls], no key_file)"},
		{"tls", UplinkSecurity{TLS: tls}, "mutual TLS (CA ca.pem)"},
		{"key", UplinkSecurity{KeyFile: "/etc/holdup/master.key"}, "plaintext+MAC (key file master.key)"},
		{"both", UplinkSecurity{TLS: tls, KeyFile: "/etc/holdup/master.key"}, "mutual TLS (CA ca.pem) or plaintext+MAC (key file master.key)"},
		{"lab", UplinkSecurity{TLS: tls, AllowPlainControl: true}, "LAB: plaintext control allowed (allow_plain_control)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.s.MasterControlText(); got != tc.want {
				t.Errorf("MasterControlText = %q, want %q", got, tc.want)
			}
		})
	}
}

// check-config and the summary name the channel and every writable
// point of the file; the example config has none writable.
func TestUplinkControlLines(t *testing.T) {
	for _, tc := range []struct {
		file string
		want []string
	}{
		{"../testdata/sim.toml", []string{
			"master control: plaintext+MAC (key file sim-master.key)",
			"writable: sim-inverter.limit as 2F010200",
			"writable: sim-meter.port-mode as 2F030200",
			"writable: sim-plc-meter.demand-period as 2F060200",
			"writable: sim-relay.trip as 2F050200",
		}},
		{"../deploy/holdup.toml", []string{
			"master control: refused: no authenticated channel (no [uplink.tls], no key_file)",
			"writable: none (no point has writable = true)",
		}},
	} {
		c, err := Load(tc.file)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.UplinkControlLines(); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: %q, want %q", tc.file, got, tc.want)
		}
		c.Uplink = nil
		if got := c.UplinkControlLines(); got != nil {
			t.Errorf("%s without [uplink]: %q", tc.file, got)
		}
	}
}
