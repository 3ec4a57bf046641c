package daemon

// The master station's write access: which points it may write
// (writable), and over which channel a write counts (mutual TLS,
// plaintext+MAC under the configured key), built from [uplink.tls],
// [uplink.security] and uplink.allow_plain_control.

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"

	"holdup/config"
	"holdup/proto698"
)

// uplinkSecurity builds the uplink's SecurityConfig: the TLS client
// configuration (terminal certificate and key, the master's CA) and the
// software Verifier keyed from key_file. A missing or bad file is an
// error naming it: a terminal configured for authenticated control never
// runs without it.
func uplinkSecurity(c config.UplinkSecurity, log *slog.Logger) (proto698.SecurityConfig, error) {
	sec := proto698.SecurityConfig{
		AllowPlainControl: c.AllowPlainControl,
		Factory:           proto698.FactoryVersion{Vendor: "HLDP", SoftwareVersion: "0001"},
	}
	if c.TLS != nil {
		cert, err := tls.LoadX509KeyPair(c.TLS.Cert, c.TLS.Key)
		if err != nil {
			return sec, fmt.Errorf("daemon: uplink.tls cert %s / key %s: %w", c.TLS.Cert, c.TLS.Key, err)
		}
		pem, err := os.ReadFile(c.TLS.CA)
		if err != nil {
			return sec, fmt.Errorf("daemon: uplink.tls ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return sec, fmt.Errorf("daemon: uplink.tls ca %s: no PEM certificate in it", c.TLS.CA)
		}
		sec.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool, ServerName: c.TLS.ServerName, MinVersion: tls.VersionTLS12}
	}
	if c.KeyFile != "" {
		key, err := readKeyFile(c.KeyFile, log)
		if err != nil {
			return sec, err
		}
		v, err := proto698.NewHMACVerifier(key)
		if err != nil {
			return sec, fmt.Errorf("daemon: uplink.security key_file %s: %w", c.KeyFile, err)
		}
		sec.Verifier = v
	}
	switch {
	case c.AllowPlainControl:
		log.Warn("UNAUTHENTICATED CONTROL ALLOWED: uplink.allow_plain_control = true lets anyone who can reach the link, or answers at the master's address, switch outputs and change setpoints; lab use only")
	case sec.TLS == nil && sec.Verifier == nil:
		log.Info("the master station cannot write: no [uplink.tls] and no [uplink.security] key_file (reads and reports work)")
	}
	return sec, nil
}

// readKeyFile reads a key written as hex digits (proto698.ParseKey). A
// file others may read is used, with a warning: the key is only as
// secret as the file.
func readKeyFile(path string, log *slog.Logger) ([]byte, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("daemon: uplink.security key_file: %w", err)
	}
	if st, err := os.Stat(path); err == nil && st.Mode().Perm()&0o077 != 0 {
		log.Warn("uplink.security key_file can be read by others: chmod 600", "file", path, "mode", st.Mode().Perm().String())
	}
	key, err := proto698.ParseKey(raw)
	if err != nil {
		return nil, fmt.Errorf("daemon: uplink.security key_file %s: %w", path, err)
	}
	return key, nil
}

// writeGuard is the uplink's Server: it refuses a master's SET of a
// configured point that is not writable (read/write denied) before it
// reaches the server behind it, and passes everything else through,
// ACTION included when that server has methods.
type writeGuard struct {
	next proto698.Server
	// point reports whether oad is a configured point and whether the
	// configuration lets the master write it.
	point func(oad uint32) (known, writable bool)
	log   *slog.Logger
}

// Get implements proto698.Server.
func (g writeGuard) Get(ctx context.Context, oad proto698.OAD) (proto698.Data, proto698.DAR) {
	return g.next.Get(ctx, oad)
}

// Set implements proto698.Server.
func (g writeGuard) Set(ctx context.Context, oad proto698.OAD, v proto698.Data) proto698.DAR {
	if known, writable := g.point(oad.Uint32()); known && !writable {
		g.log.Warn("master's SET of a point not configured writable refused", "oad", oad.String())
		return proto698.DARReadDenied
	}
	return g.next.Set(ctx, oad, v)
}

// Action implements proto698.ActionServer.
func (g writeGuard) Action(ctx context.Context, omd proto698.OMD, param proto698.Data) (proto698.Data, proto698.DAR) {
	if a, ok := g.next.(proto698.ActionServer); ok {
		return a.Action(ctx, omd, param)
	}
	return nil, proto698.DARUndefined
}

// guardWrites wraps the uplink's server with the points' writable keys.
func (d *Daemon) guardWrites(next proto698.Server) proto698.Server {
	return writeGuard{next: next, log: d.log.With("part", "northbound"), point: func(oad uint32) (bool, bool) {
		np, ok := d.nb.points[oad]
		return ok, ok && np.p.Writable
	}}
}
