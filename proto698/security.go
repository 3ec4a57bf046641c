package proto698

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strings"
	"time"
)

// Security errors a Verifier returns; the uplink answers each with the
// DAR it names (SecurityDAR).
var (
	// ErrBadMAC: the request's MAC does not verify under the key.
	ErrBadMAC = errors.New("MAC does not verify")
	// ErrReplayed: the request's random number was used before.
	ErrReplayed = errors.New("random number replayed")
)

// Verifier checks the MAC of a SECURITY-Request in plaintext+MAC mode
// (random number and MAC) and computes the MAC of the SECURITY-Response.
// A deployment puts its ESAM driver behind it; HMACVerifier is the
// software implementation. Implementations must be safe for concurrent
// use: the uplink calls them from its link loop and its request
// goroutines.
type Verifier interface {
	// VerifyRequest checks mac over the request's random number rn and
	// plaintext APDU; nil when it verifies, else an error wrapping
	// ErrBadMAC (or another reason). It need not detect replay: the
	// uplink refuses a random number it has seen.
	VerifyRequest(rn, apdu, mac []byte) error
	// ResponseMAC returns the MAC of the plaintext response APDU to the
	// request with random number rn, for the master to check.
	ResponseMAC(rn, apdu []byte) ([]byte, error)
}

// HMACVerifier is the software Verifier: HMAC-SHA256 under a shared key,
// over a direction byte (TagSecurityRequest or TagSecurityResponse, so a
// terminal's MAC can never pass as a master's), the random number's
// length and bytes, and the plaintext APDU. MACs are the full 32 bytes
// and compared in constant time. The same key on the master computes
// RequestMAC and checks ResponseMAC (VerifyResponse).
type HMACVerifier struct {
	key []byte
}

// MinKeyLen is the shortest key NewHMACVerifier accepts (128 bits).
const MinKeyLen = 16

// NewHMACVerifier returns a verifier keyed with a copy of key, which
// must be at least MinKeyLen bytes.
func NewHMACVerifier(key []byte) (*HMACVerifier, error) {
	if len(key) < MinKeyLen {
		return nil, fmt.Errorf("proto698: security key of %d bytes, want at least %d: %w", len(key), MinKeyLen, ErrInvalid)
	}
	return &HMACVerifier{key: append([]byte(nil), key...)}, nil
}

func (v *HMACVerifier) mac(dir byte, rn, apdu []byte) []byte {
	var h hash.Hash = hmac.New(sha256.New, v.key)
	h.Write([]byte{dir, byte(len(rn) >> 8), byte(len(rn))})
	h.Write(rn)
	h.Write(apdu)
	return h.Sum(nil)
}

// RequestMAC is the master's side: the MAC of a request APDU sent with
// random number rn.
func (v *HMACVerifier) RequestMAC(rn, apdu []byte) []byte { return v.mac(TagSecurityRequest, rn, apdu) }

// VerifyRequest implements Verifier.
func (v *HMACVerifier) VerifyRequest(rn, apdu, mac []byte) error {
	if !hmac.Equal(mac, v.mac(TagSecurityRequest, rn, apdu)) {
		return fmt.Errorf("proto698: security: request MAC: %w", ErrBadMAC)
	}
	return nil
}

// ResponseMAC implements Verifier.
func (v *HMACVerifier) ResponseMAC(rn, apdu []byte) ([]byte, error) {
	return v.mac(TagSecurityResponse, rn, apdu), nil
}

// VerifyResponse is the master's side: it checks the MAC of a response
// APDU to the request sent with random number rn.
func (v *HMACVerifier) VerifyResponse(rn, apdu, mac []byte) error {
	if !hmac.Equal(mac, v.mac(TagSecurityResponse, rn, apdu)) {
		return fmt.Errorf("proto698: security: response MAC: %w", ErrBadMAC)
	}
	return nil
}

// DAR values of the security checks.
const (
	DAREsamFailed     DAR = 22 // ESAM verification failed: the MAC does not verify
	DARSecurityFailed DAR = 23 // security authentication failed: e.g. a replayed random number
)

// SecurityDAR names a security check's error as the DAR the master
// receives: ErrBadMAC → ESAM verification failed, ErrReplayed → security
// authentication failed, anything else (a Verifier's own failure) →
// ESAM verification failed as well.
func SecurityDAR(err error) DAR {
	if errors.Is(err, ErrReplayed) {
		return DARSecurityFailed
	}
	return DAREsamFailed
}

// Replay protection of plaintext+MAC control.
//
// A MAC proves who made a request, not when: a SET captured on the
// path verifies as well the second time. Three checks refuse a replay,
// without an ESAM or anything kept on disk:
//
//   - The random number: one seen among the last replayWindow (4096)
//     accepted is refused (DAR 23), on any link. This is memory only:
//     it ends with the process and forgets old numbers.
//   - The time tag: a SET or ACTION authenticated by its MAC alone (not
//     over mutually authenticated TLS, which no recording can replay)
//     must carry the APDU's TimeTag — inside the MAC'd plaintext, so
//     it cannot be changed — and is refused with DAR time tag invalid
//     (32) without one, when its send time lies further than its
//     allowed delay from the terminal's clock (either way: a send time
//     in the future would stretch the window), and when its send time
//     is older than the newest one accepted before (the master's
//     requests come in order). The allowed delay is the request's own,
//     at most SecurityConfig.MaxTimeTagDelay; a zero delay is the
//     maximum.
//   - A restart: the newest accepted send time is memory only, so a
//     new Uplink starts it at its own start time (whole seconds): every
//     request sent before the terminal (re)started is refused. A
//     recorded request is thus good for at most its allowed delay, and
//     only until a newer one was accepted or holdup restarted.
//
// The clock-setting requests (SET 40000200, ACTION 40007F00) skip the
// comparisons with the terminal's clock — the window and the start time
// — since a terminal whose clock has run off must still take the
// master's time; the random number and the newest accepted send time
// still bound them, and the daemon bounds each step
// (uplink.clock_max_step). What remains: a clock setting recorded
// before a restart can be replayed once after it, within the step
// bound. A deployment needing more puts an ESAM behind Verifier or uses
// mutual TLS. Reads need no time tag.

// DefaultMaxTimeTagDelay is SecurityConfig.MaxTimeTagDelay's default:
// the longest a plaintext+MAC control request stays valid.
const DefaultMaxTimeTagDelay = 5 * time.Minute

// tagState is the time-tag part of the replay protection, owned by Run
// and kept across links.
type tagState struct {
	newest time.Time // send time of the newest control accepted; zero: none yet
}

// timeTagDelay converts a time tag's allowed delay; false for a unit it
// cannot be (month and year count as the maximum).
func timeTagDelay(ti TI, max time.Duration) (time.Duration, bool) {
	var unit time.Duration
	switch ti.Unit {
	case 0:
		unit = time.Second
	case 1:
		unit = time.Minute
	case 2:
		unit = time.Hour
	case 3:
		unit = 24 * time.Hour
	case 4, 5:
		return max, true
	default:
		return 0, false
	}
	d := time.Duration(ti.Interval) * unit
	if d == 0 || d > max {
		d = max
	}
	return d, true
}

// requestTimeTag is the time tag of control request a (nil: none).
func requestTimeTag(a APDU) *TimeTag {
	switch r := a.(type) {
	case *SetRequestNormal:
		return r.TimeTag
	case *SetRequestNormalList:
		return r.TimeTag
	case *ActionRequestNormal:
		return r.TimeTag
	}
	return nil
}

// setsClock reports whether control request a only sets the terminal's
// clock (SET 40000200, ACTION 40007F00).
func setsClock(a APDU) bool {
	switch r := a.(type) {
	case *SetRequestNormal:
		return r.OAD == OADTerminalClock
	case *SetRequestNormalList:
		for _, it := range r.Items {
			if it.OAD != OADTerminalClock {
				return false
			}
		}
		return len(r.Items) > 0
	case *ActionRequestNormal:
		return r.OMD.OI == OMDBroadcastTime.OI && r.OMD.Method == OMDBroadcastTime.Method
	}
	return false
}

// timeTagRefusal checks the time tag of control request a, authenticated
// by its MAC alone: nil when it may go on (and its send time is now the
// newest accepted), else why it is refused (DAR time tag invalid).
func (u *Uplink) timeTagRefusal(ts *tagState, a APDU) error {
	tt := requestTimeTag(a)
	if tt == nil {
		return fmt.Errorf("no time tag (plaintext+MAC control needs one): %w", ErrInvalid)
	}
	sent, err := tt.Send.Time(u.cfg.Location)
	if err != nil {
		return fmt.Errorf("time tag send time: %w", err)
	}
	delay, ok := timeTagDelay(tt.Delay, u.cfg.Security.maxTimeTagDelay())
	if !ok {
		return fmt.Errorf("time tag delay unit %d: %w", tt.Delay.Unit, ErrInvalid)
	}
	clock := setsClock(a)
	if sent.Before(ts.newest) {
		return fmt.Errorf("sent %s, before the newest control accepted (%s): %w", sent.Format(time.DateTime), ts.newest.Format(time.DateTime), ErrReplayed)
	}
	if start := u.started.Truncate(time.Second); !clock && sent.Before(start) {
		return fmt.Errorf("sent %s, before the uplink started (%s): %w", sent.Format(time.DateTime), start.Format(time.DateTime), ErrReplayed)
	}
	if !clock {
		if off := u.cfg.Security.now().Sub(sent); off > delay || off < -delay {
			return fmt.Errorf("sent %s, %v from the terminal's clock, allowed %v: %w", sent.Format(time.DateTime), off.Round(time.Second), delay, ErrInvalid)
		}
	}
	ts.newest = sent
	return nil
}

// MinRNLen is the shortest random number a plaintext+MAC request may
// carry: a shorter one cannot be fresh enough for replay detection.
const MinRNLen = 8

// replayCache remembers the last random numbers accepted, in a ring, so
// a replayed plaintext+MAC request is refused. Owned by Uplink.Run.
type replayCache struct {
	seen map[string]struct{}
	ring []string
	next int
}

func newReplayCache(n int) *replayCache {
	return &replayCache{seen: make(map[string]struct{}, n), ring: make([]string, n)}
}

// admit records rn; false if it was seen among the last n.
func (c *replayCache) admit(rn []byte) bool {
	k := string(rn)
	if _, dup := c.seen[k]; dup {
		return false
	}
	if old := c.ring[c.next]; old != "" {
		delete(c.seen, old)
	}
	c.ring[c.next] = k
	c.seen[k] = struct{}{}
	c.next = (c.next + 1) % len(c.ring)
	return true
}

// SecurityConfig is how the Uplink authenticates the master's control
// (UplinkConfig.Security). SET and ACTION are served only when they come
// over TLS whose handshake verified the master's certificate, or in a
// SECURITY-Request in plaintext+MAC mode whose MAC the Verifier accepts
// with a random number not seen before and a valid time tag (see
// "Replay protection" above); otherwise they are answered DAR security
// authentication mismatch (20), unless AllowPlainControl.
// Reads and reports work on any link.
type SecurityConfig struct {
	// TLS, if set, makes the uplink dial the master over TLS with this
	// configuration: the terminal's certificate (Certificates) for the
	// master to verify and the master's CA (RootCAs). TLS 1.2 is the
	// least version used; an empty ServerName is the master's host.
	TLS *tls.Config
	// Verifier checks plaintext+MAC requests and MACs the responses to
	// requests carrying a random number; nil: MACs are neither checked
	// nor sent, and a plaintext+MAC request counts as plaintext.
	Verifier Verifier
	// AllowPlainControl serves SET and ACTION from an unauthenticated
	// master: for a lab bench only.
	AllowPlainControl bool
	// MaxTimeTagDelay bounds the allowed delay of a plaintext+MAC control
	// request's time tag (see "Replay protection" above); 0 means
	// DefaultMaxTimeTagDelay.
	MaxTimeTagDelay time.Duration
	// Now is the terminal's clock the time tags are checked against;
	// nil means time.Now.
	Now func() time.Time
	// Factory is the vendor version information of CONNECT-Response.
	Factory FactoryVersion
	// OnRefused, if set, is told of every request refused on security
	// grounds: a SECURITY-Request refused before its APDU is looked at
	// (ciphertext, a MAC that does not verify, a random number too short
	// or replayed, a nested SECURITY-Request) and a SET or ACTION refused
	// before the Server (unauthenticated: DAR 20; its time tag missing,
	// stale or replayed: DAR 32; to a wildcard or group address). Reads
	// and requests that do not decode are not refusals. It is called on
	// the uplink's link loop, once per refused request, and must not
	// block: a flooding peer calls it for every request it sends.
	OnRefused func(Refusal)
}

// Refusal is one request the uplink refused on security grounds
// (SecurityConfig.OnRefused).
type Refusal struct {
	// Service is the refused request's service ("SECURITY-Request" when
	// refused before its APDU was opened).
	Service string
	// Reason says which check refused it, e.g. "MAC",
	// "replayed random number", "time tag", "unauthenticated control".
	Reason string
	// DAR is what the master was answered.
	DAR DAR
	// Err is the check's error, if it has one (ErrBadMAC, ErrReplayed,
	// ErrCipherNotSupported, ErrInvalid wrapped with the details).
	Err error
}

// String describes the refusal for a log line or an alarm.
func (r Refusal) String() string {
	s := fmt.Sprintf("%s refused: %s (DAR %s)", r.Service, r.Reason, r.DAR)
	if r.Err != nil {
		s += ": " + r.Err.Error()
	}
	return s
}

// refused tells SecurityConfig.OnRefused of a refusal.
func (u *Uplink) refused(service, reason string, dar DAR, err error) {
	if f := u.cfg.Security.OnRefused; f != nil {
		f(Refusal{Service: service, Reason: reason, DAR: dar, Err: err})
	}
}

func (c *SecurityConfig) maxTimeTagDelay() time.Duration {
	if c.MaxTimeTagDelay > 0 {
		return c.MaxTimeTagDelay
	}
	return DefaultMaxTimeTagDelay
}

func (c *SecurityConfig) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// replayWindow is how many accepted random numbers the uplink remembers.
const replayWindow = 4096

// connState is the uplink's per-link security and connection state,
// owned by Run.
type connState struct {
	// negotiated holds the limits agreed by the master's CONNECT-Request
	// on the current link; zero until one arrived (and after RELEASE).
	// negotiated.SendMax is the largest frame the terminal may send.
	negotiated ConnectParams
	// replay remembers random numbers across links: a replayed
	// plaintext+MAC request is refused even on a new connection.
	replay *replayCache
	// tags holds the newest time tag accepted, across links.
	tags tagState
}

// relink starts a new link: nothing negotiated yet.
func (c *connState) relink() {
	c.negotiated = ConnectParams{}
	if c.replay == nil {
		c.replay = newReplayCache(replayWindow)
	}
}

// ParseKey reads a key written as hex digits (whitespace, line breaks
// and lines starting with # ignored, e.g. a key file), at least
// MinKeyLen bytes, not one byte repeated.
func ParseKey(text []byte) ([]byte, error) {
	var digits strings.Builder
	for _, line := range strings.Split(string(text), "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			digits.WriteString(strings.Join(strings.Fields(line), ""))
		}
	}
	key, err := hex.DecodeString(digits.String())
	if err != nil {
		return nil, fmt.Errorf("proto698: security key: not hex digits: %w", err)
	}
	if len(key) < MinKeyLen {
		return nil, fmt.Errorf("proto698: security key of %d bytes, want at least %d: %w", len(key), MinKeyLen, ErrInvalid)
	}
	if bytes.Count(key, key[:1]) == len(key) {
		return nil, fmt.Errorf("proto698: security key: every byte 0x%02X: %w", key[0], ErrInvalid)
	}
	return key, nil
}
