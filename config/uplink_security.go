package config

import (
	"fmt"
	"path/filepath"
	"strings"
)

// UplinkSecurity is how the master station's control is authenticated
// ([uplink.tls], [uplink.security], uplink.allow_plain_control). Writes
// (SET, ACTION) are accepted only over TLS with mutual authentication or
// in SECURITY-Request plaintext+MAC whose MAC verifies under the key;
// reads and reports work over plain TCP as well.
type UplinkSecurity struct {
	// TLS is [uplink.tls]; nil: the uplink is plain TCP.
	TLS *UplinkTLS
	// KeyFile is [uplink.security] key_file: the shared key for
	// plaintext+MAC (hex digits, at least 32, whitespace ignored); ""
	// when MACs are not checked. Relative to the configuration file.
	KeyFile string
	// AllowPlainControl (uplink.allow_plain_control) accepts SET and
	// ACTION from an unauthenticated master: a lab bench only.
	AllowPlainControl bool
}

// UplinkTLS is [uplink.tls]: the terminal's certificate and key (PEM)
// presented to the master, the CA (PEM) the master's certificate must
// chain to, and the name checked in it (default: the master's host).
// Paths are relative to the configuration file.
type UplinkTLS struct {
	Cert, Key, CA string
	ServerName    string
}

// readUplinkSecurity reads the uplink's security keys from its table t.
func readUplinkSecurity(t *table) UplinkSecurity {
	var s UplinkSecurity
	s.AllowPlainControl = t.boolean("allow_plain_control", false)
	if tt := t.sub("tls", false); tt != nil {
		s.TLS = &UplinkTLS{
			Cert:       confPath(tt, "cert", true),
			Key:        confPath(tt, "key", true),
			CA:         confPath(tt, "ca", true),
			ServerName: tt.str("server_name", ""),
		}
		tt.done()
	}
	if st := t.sub("security", false); st != nil {
		s.KeyFile = confPath(st, "key_file", true)
		st.done()
	}
	return s
}

// confPath reads a file path; a relative one is taken from the
// configuration file's directory.
func confPath(t *table, k string, required bool) string {
	var p string
	if required {
		p = t.reqStr(k)
	} else {
		p = t.str(k, "")
	}
	if p == "" {
		return ""
	}
	if strings.ContainsRune(p, 0) {
		t.errf(k, "must be a file path (got %q)", p)
		return ""
	}
	if !filepath.IsAbs(p) && t.d.file != "" {
		p = filepath.Join(filepath.Dir(t.d.file), p)
	}
	return p
}

// MasterControlText says how control from the master station is
// authenticated under s, for the operator (check-config's summary).
func (s UplinkSecurity) MasterControlText() string {
	var ways []string
	if s.TLS != nil {
		ways = append(ways, "mutual TLS (CA "+filepath.Base(s.TLS.CA)+")")
	}
	if s.KeyFile != "" {
		ways = append(ways, "plaintext+MAC (key file "+filepath.Base(s.KeyFile)+")")
	}
	switch {
	case s.AllowPlainControl:
		return "LAB: plaintext control allowed (allow_plain_control)"
	case len(ways) == 0:
		return "refused: no authenticated channel (no [uplink.tls], no key_file)"
	}
	return strings.Join(ways, " or ")
}

// UplinkControlLines says how the master's control is authenticated and
// which points it may set, one fact per line ("master control: ...",
// "writable: ..."); none without an [uplink]. check-config prints them,
// and the console's summary shows them under the uplink.
func (c *Config) UplinkControlLines() []string {
	u := c.Uplink
	if u == nil {
		return nil
	}
	out := []string{"master control: " + u.Security.MasterControlText()}
	for _, d := range c.Devices {
		for _, p := range d.Points {
			if p.Writable {
				out = append(out, fmt.Sprintf("writable: %s.%s as %08X", d.Name, p.Name, p.UplinkOAD))
			}
		}
	}
	if len(out) == 1 {
		out = append(out, "writable: none (no point has writable = true)")
	}
	return out
}
