package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// byte_timeout is optional in [ac_sampling] and on a dlt698 device (0:
// the daemon derives it from the line speed), must be shorter than the
// answer timeout, and is no key of the other drivers; each error names
// the key and its line.
func TestByteTimeout(t *testing.T) {
	withMeter := minimal + "\n" + meter698("m1", "000000000002")
	for _, tc := range []struct {
		name         string
		text         string
		ac, meter    time.Duration // accepted values
		key, at, msg string        // the error, "" when accepted
	}{
		{"absent", withMeter, 0, 0, "", "", ""},
		{"ac set", strings.Replace(withMeter, `address = "000000000001"`, `address = "000000000001"`+"\nbyte_timeout = \"80ms\"", 1), 80 * time.Millisecond, 0, "", "", ""},
		{"meter set", strings.Replace(withMeter, `address = "000000000002"`, `address = "000000000002"`+"\nbyte_timeout = \"30ms\"", 1), 0, 30 * time.Millisecond, "", "", ""},
		{"ac not below timeout", strings.Replace(withMeter, `address = "000000000001"`, `address = "000000000001"`+"\ntimeout = \"100ms\"\nbyte_timeout = \"100ms\"", 1),
			0, 0, "ac_sampling.byte_timeout", `byte_timeout = "100ms"`, "must be shorter than timeout (100ms) (got 100ms)"},
		{"meter not a duration", strings.Replace(withMeter, `address = "000000000002"`, `address = "000000000002"`+"\nbyte_timeout = 20", 1),
			0, 0, "device[1].byte_timeout", "byte_timeout = 20", `must be a duration string`},
		{"meter out of range", strings.Replace(withMeter, `address = "000000000002"`, `address = "000000000002"`+"\nbyte_timeout = \"20s\"", 1),
			0, 0, "device[1].byte_timeout", `byte_timeout = "20s"`, "must be in 1ms..10s"},
		{"modbus device", strings.Replace(withMeter, "unit = 1", "unit = 1\nbyte_timeout = \"20ms\"", 1),
			0, 0, "device[0].byte_timeout", `byte_timeout = "20ms"`, "not used by driver modbus-rtu"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(tc.text), "case.toml")
			if tc.key == "" {
				if err != nil {
					t.Fatal(err)
				}
				if c.ACSampling.ByteTimeout != tc.ac || c.Devices[1].ByteTimeout != tc.meter {
					t.Errorf("byte timeouts ac %v meter %v, want %v %v", c.ACSampling.ByteTimeout, c.Devices[1].ByteTimeout, tc.ac, tc.meter)
				}
				return
			}
			var list ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("error %v, want an ErrorList", err)
			}
			for _, e := range list {
				if e.Key == tc.key && strings.Contains(e.Msg, tc.msg) {
					if want := lineOfText(t, tc.text, tc.at); e.Line != want {
						t.Errorf("%v: line %d, want %d", e, e.Line, want)
					}
					return
				}
			}
			t.Errorf("no error for %s containing %q; got:\n%v", tc.key, tc.msg, err)
		})
	}
}
