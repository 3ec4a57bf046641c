package proto698

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"
)

// errHandshake marks a connection that ended in a failed TLS handshake.
var errHandshake = errors.New("TLS handshake failed")

// MasterSecurity is how MasterSim wraps its requests in SECURITY-Request
// (plaintext): with a random number only (Verify VerifyRN: the terminal
// MACs its answer) or with a random number and the MAC of the request
// (VerifyRNMAC: plaintext+MAC, what authenticates a SET). With a Key the
// master computes request MACs and checks the response MAC, failing the
// request with ErrBadMAC when it does not verify or is missing.
type MasterSecurity struct {
	Verify uint8 // VerifyRN or VerifyRNMAC
	Key    *HMACVerifier
	// RN, if set, is the random number of every request (to replay
	// one); nil draws 16 fresh random bytes per request.
	RN []byte
	// BadMAC sends a MAC that does not verify (a master, or an attacker,
	// without the right key).
	BadMAC bool
	// TimeTag, if set, is the time tag of every request (to replay one
	// recorded, or to send a stale one); nil: the master's clock now,
	// allowed delay one minute — what the terminal asks of control in
	// plaintext+MAC — unless NoTimeTag.
	TimeTag *TimeTag
	// NoTimeTag sends requests without a time tag (a master that sends
	// none: reads are still answered).
	NoTimeTag bool
}

// stamp gives request a the time tag ms says, unless it carries one.
func (ms *MasterSecurity) stamp(a APDU, loc *time.Location) {
	if ms.NoTimeTag {
		return
	}
	tt := ms.TimeTag
	if tt == nil {
		tt = &TimeTag{Send: NewDateTimeS(time.Now().In(loc)), Delay: TI{Unit: 1, Interval: 1}}
	}
	tt = &TimeTag{Send: tt.Send, Delay: tt.Delay}
	switch r := a.(type) {
	case *GetRequestNormal:
		r.TimeTag = cmp.Or(r.TimeTag, tt)
	case *GetRequestNormalList:
		r.TimeTag = cmp.Or(r.TimeTag, tt)
	case *GetRequestNext:
		r.TimeTag = cmp.Or(r.TimeTag, tt)
	case *SetRequestNormal:
		r.TimeTag = cmp.Or(r.TimeTag, tt)
	case *SetRequestNormalList:
		r.TimeTag = cmp.Or(r.TimeTag, tt)
	case *ActionRequestNormal:
		r.TimeTag = cmp.Or(r.TimeTag, tt)
	case *ConnectRequest:
		r.TimeTag = cmp.Or(r.TimeTag, tt)
	case *ReleaseRequest:
		r.TimeTag = cmp.Or(r.TimeTag, tt)
	case *ProxyTransCommandRequest:
		r.TimeTag = cmp.Or(r.TimeTag, tt)
	}
}

// wrap returns the SECURITY-Request carrying apdu and its random number.
func (ms *MasterSecurity) wrap(apdu []byte) ([]byte, []byte, error) {
	rn := ms.RN
	if rn == nil {
		rn = make([]byte, 16)
		if _, err := rand.Read(rn); err != nil {
			return nil, nil, err
		}
	}
	req := &SecurityRequest{Payload: apdu, Verify: ms.Verify, RN: bytes.Clone(rn)}
	switch ms.Verify {
	case VerifyRN:
	case VerifyRNMAC:
		switch {
		case ms.BadMAC:
			req.MAC = make([]byte, 32)
		case ms.Key != nil:
			req.MAC = ms.Key.RequestMAC(rn, apdu)
		default:
			return nil, nil, fmt.Errorf("plaintext+MAC without a key: %w", ErrInvalid)
		}
	default:
		return nil, nil, fmt.Errorf("security verify choice %d: %w", ms.Verify, ErrInvalid)
	}
	b, err := EncodeAPDU(req)
	return b, req.RN, err
}

// Secure makes the master send its later requests (Get, GetList, Set,
// Request, Connect) in SECURITY-Request as sec says; nil sends them plain.
func (m *MasterSim) Secure(sec *MasterSecurity) {
	if sec != nil {
		c := *sec
		c.RN = bytes.Clone(sec.RN)
		if sec.TimeTag != nil {
			tt := *sec.TimeTag
			c.TimeTag = &tt
		}
		sec = &c
	}
	m.do(func(s *masterState) { s.security = sec })
}

// Request sends the request build makes for a free PIID to the
// logged-in terminal and returns the terminal's answer carrying that
// PIID, whatever its service (the service's response, ERROR-Response). A
// SECURITY-Response refusing the request is an error wrapping ErrDAR (a
// *DARError); the answer inside an accepted one is returned unwrapped.
func (m *MasterSim) Request(ctx context.Context, build func(PIID) APDU) (APDU, error) {
	a, _, err := m.request(ctx, "request", build, func(APDU) bool { return true })
	return a, err
}

// RequestTo is Request sent to server address sa instead of the
// address the terminal logged in with (a wildcard, group or broadcast
// address).
func (m *MasterSim) RequestTo(ctx context.Context, sa ServerAddress, build func(PIID) APDU) (APDU, error) {
	a, _, err := m.requestTo(ctx, "request to "+sa.String(), &sa, build, func(APDU) bool { return true })
	return a, err
}

// Connect opens an application connection with CONNECT-Request
// (NullSecurity) proposing p and returns the terminal's CONNECT-Response.
func (m *MasterSim) Connect(ctx context.Context, p ConnectParams) (*ConnectResponse, error) {
	a, _, err := m.request(ctx, "CONNECT", func(piid PIID) APDU {
		return &ConnectRequest{PIID: piid, ConnectParams: p}
	}, func(a APDU) bool {
		_, ok := a.(*ConnectResponse)
		return ok
	})
	if err != nil {
		return nil, err
	}
	return a.(*ConnectResponse), nil
}

// responsePIID returns the PIID sequence of a terminal's answer.
func responsePIID(a APDU) (uint8, bool) {
	switch r := a.(type) {
	case *GetResponseNormal:
		return r.PIID.Seq(), true
	case *GetResponseNormalList:
		return r.PIID.Seq(), true
	case *GetResponseNext:
		return r.PIID.Seq(), true
	case *SetResponseNormal:
		return r.PIID.Seq(), true
	case *SetResponseNormalList:
		return r.PIID.Seq(), true
	case *ActionResponseNormal:
		return r.PIID.Seq(), true
	case *ProxyTransCommandResponse:
		return r.PIID.Seq(), true
	case *ConnectResponse:
		return r.PIID.Seq(), true
	case *ReleaseResponse:
		return r.PIID.Seq(), true
	case *ErrorResponse:
		return r.PIID.Seq(), true
	}
	return 0, false
}

// handleSecured opens a SECURITY-Response and delivers what it carries.
func (m *MasterSim) handleSecured(s *masterState, mc *masterConn, sr *SecurityResponse) {
	if sr.Kind != SecPlain {
		// No PIID: it answers the oldest request on this link.
		var oldest *masterCall
		var key uint8
		for p, c := range s.pending {
			if c.mc == mc && (oldest == nil || c.seq < oldest.seq) {
				oldest, key = c, p
			}
		}
		if oldest == nil {
			m.log.Debug("proto698: master sim: SECURITY-Response to no pending request", "kind", sr.Kind)
			return
		}
		delete(s.pending, key)
		err := sr.DAR.Err()
		if sr.Kind == SecCipher || err == nil {
			err = fmt.Errorf("SECURITY-Response kind %d: %w", sr.Kind, ErrInvalid)
		}
		oldest.res <- masterResult{err: fmt.Errorf("SECURITY-Response: %w", err)}
		return
	}
	inner, err := DecodeAPDU(sr.Payload)
	if err != nil {
		m.log.Warn("proto698: master sim: SECURITY-Response payload", "err", err)
		return
	}
	seq, ok := responsePIID(inner)
	c := s.pending[seq]
	if !ok || c == nil || c.mc != mc || !c.match(inner) {
		m.log.Debug("proto698: master sim: secured answer to no pending request", "service", inner.Service())
		return
	}
	delete(s.pending, seq)
	if c.sec == nil {
		// A SECURITY-Request the caller built itself: it opens the answer.
		c.res <- masterResult{apdu: sr}
		return
	}
	if c.sec.Key != nil {
		if !sr.HasMAC {
			c.res <- masterResult{err: fmt.Errorf("SECURITY-Response without MAC: %w", ErrBadMAC)}
			return
		}
		if err := c.sec.Key.VerifyResponse(c.rn, sr.Payload, sr.MAC); err != nil {
			c.res <- masterResult{err: err}
			return
		}
	}
	c.res <- masterResult{apdu: inner}
}
