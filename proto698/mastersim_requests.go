package proto698

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// ErrNotLoggedIn: MasterSim has no logged-in terminal to send a request to.
var ErrNotLoggedIn = errors.New("no terminal logged in")

// errMasterStopped: MasterSim.Run has ended.
var errMasterStopped = errors.New("master sim not running")

// masterCall is a master-initiated request waiting for its answer.
type masterCall struct {
	mc    *masterConn
	match func(APDU) bool // is this the answer (right service and OADs)?
	res   chan masterResult
	// sec is the security the request was sent with (nil: plain); rn its
	// random number, for checking the response MAC.
	sec *MasterSecurity
	rn  []byte
	seq uint64 // order of sending, to match a SECURITY-Response DAR
}

type masterResult struct {
	apdu APDU
	err  error
}

// Get reads one attribute of the logged-in terminal with GET-Request-Normal
// and waits for the GET-Response-Normal with the same PIID. A DAR answer is
// an error wrapping ErrDAR (a *DARError); an invalid value is Null{}.
func (m *MasterSim) Get(ctx context.Context, oad OAD) (Data, error) {
	a, term, err := m.request(ctx, "GET "+oad.String(), func(p PIID) APDU {
		return &GetRequestNormal{PIID: p, OAD: oad}
	}, func(a APDU) bool {
		r, ok := a.(*GetResponseNormal)
		return ok && r.Result.OAD == oad
	})
	if err != nil {
		return nil, err
	}
	res := a.(*GetResponseNormal).Result
	if res.Data == nil {
		return nil, fmt.Errorf("proto698: master sim: GET %v from %s: %w", oad, term, res.DAR.Err())
	}
	return res.Data, nil
}

// GetList reads several attributes with GET-Request-NormalList. Each
// result carries its Data or its DAR; the error is for the exchange.
func (m *MasterSim) GetList(ctx context.Context, oads []OAD) ([]ResultNormal, error) {
	if len(oads) == 0 {
		return nil, fmt.Errorf("proto698: master sim: GET list: no OADs: %w", ErrInvalid)
	}
	oads = append([]OAD(nil), oads...)
	a, _, err := m.request(ctx, fmt.Sprintf("GET list of %d", len(oads)), func(p PIID) APDU {
		return &GetRequestNormalList{PIID: p, OADs: oads}
	}, func(a APDU) bool {
		r, ok := a.(*GetResponseNormalList)
		if !ok || len(r.Results) != len(oads) {
			return false
		}
		for i := range oads {
			if r.Results[i].OAD != oads[i] {
				return false
			}
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	return a.(*GetResponseNormalList).Results, nil
}

// Set writes one attribute with SET-Request-Normal and waits for the
// SET-Response-Normal with the same PIID. A result other than success is
// an error wrapping ErrDAR (a *DARError).
func (m *MasterSim) Set(ctx context.Context, oad OAD, v Data) error {
	if v == nil {
		return fmt.Errorf("proto698: master sim: SET %v: nil value: %w", oad, ErrInvalid)
	}
	a, term, err := m.request(ctx, "SET "+oad.String(), func(p PIID) APDU {
		return &SetRequestNormal{PIID: p, OAD: oad, Value: v}
	}, func(a APDU) bool {
		r, ok := a.(*SetResponseNormal)
		return ok && r.OAD == oad
	})
	if err != nil {
		return err
	}
	if err := a.(*SetResponseNormal).DAR.Err(); err != nil {
		return fmt.Errorf("proto698: master sim: SET %v on %s: %w", oad, term, err)
	}
	return nil
}

// request sends a request built for a free PIID on the current link and
// waits for the answer match accepts, ctx, or the link's end.
func (m *MasterSim) request(ctx context.Context, what string, build func(PIID) APDU, match func(APDU) bool) (APDU, string, error) {
	return m.requestTo(ctx, what, nil, build, match)
}

// requestTo is request to server address sa (nil: the address the
// terminal logged in with).
func (m *MasterSim) requestTo(ctx context.Context, what string, sa *ServerAddress, build func(PIID) APDU, match func(APDU) bool) (APDU, string, error) {
	res := make(chan masterResult, 1)
	var (
		piid uint8
		term string
		err  error
	)
	ran := m.do(func(s *masterState) {
		mc := s.current
		if mc == nil {
			err = ErrNotLoggedIn
			return
		}
		term = mc.sa.String()
		free := false
		for range 64 {
			s.piid = (s.piid + 1) & 0x3F
			if s.pending[s.piid] == nil {
				free = true
				break
			}
		}
		if !free {
			err = fmt.Errorf("64 requests outstanding: %w", ErrQueueFull)
			return
		}
		piid = s.piid
		req := build(PIID(piid))
		if s.security != nil {
			s.security.stamp(req, m.loc)
		}
		apdu, e := EncodeAPDU(req)
		if e != nil {
			err = e
			return
		}
		call := &masterCall{mc: mc, match: match, res: res, sec: s.security, seq: s.sent}
		s.sent++
		if s.security != nil {
			if apdu, call.rn, e = s.security.wrap(apdu); e != nil {
				err = e
				return
			}
		}
		to := mc.sa
		if sa != nil {
			to = *sa
		}
		b, e := AppendFrame(nil, &Frame{Control: NewControl(false, true, false, false, FuncUserData), Addr: to, Client: mc.ca, Data: apdu})
		if e != nil {
			err = e
			return
		}
		_ = mc.c.SetWriteDeadline(time.Now().Add(time.Second))
		if _, e := mc.c.Write(b); e != nil {
			err = fmt.Errorf("write to %s: %w", term, e)
			return
		}
		s.pending[piid] = call
	})
	if !ran {
		err = errMasterStopped
	}
	if err != nil {
		return nil, term, fmt.Errorf("proto698: master sim: %s: %w", what, err)
	}
	select {
	case r := <-res:
		if r.err != nil {
			return nil, term, fmt.Errorf("proto698: master sim: %s from %s: %w", what, term, r.err)
		}
		return r.apdu, term, nil
	case <-ctx.Done():
		m.do(func(s *masterState) {
			if c := s.pending[piid]; c != nil && c.res == res {
				delete(s.pending, piid)
			}
		})
		return nil, term, fmt.Errorf("proto698: master sim: %s from %s: %w", what, term, ctx.Err())
	case <-m.done:
		return nil, term, fmt.Errorf("proto698: master sim: %s from %s: %w", what, term, errMasterStopped)
	}
}

// handleResponse delivers a terminal's answer to a pending request. A
// SECURITY-Response is opened first (its MAC checked when the request
// carried a random number and the master holds the key); one carrying
// only a DAR has no PIID and answers the oldest secured request pending
// on the link.
func (m *MasterSim) handleResponse(s *masterState, mc *masterConn, a APDU) {
	if sr, ok := a.(*SecurityResponse); ok {
		m.handleSecured(s, mc, sr)
		return
	}
	seq, ok := responsePIID(a)
	if !ok {
		m.log.Debug("proto698: master sim: unexpected response", "service", a.Service())
		return
	}
	c := s.pending[seq]
	if c == nil || c.mc != mc || !c.match(a) {
		m.log.Debug("proto698: master sim: answer to no pending request", "service", a.Service(), "piid", seq)
		return
	}
	delete(s.pending, seq)
	if c.sec != nil {
		c.res <- masterResult{err: fmt.Errorf("%s answered in plaintext to a SECURITY-Request: %w", a.Service(), ErrInvalid)}
		return
	}
	c.res <- masterResult{apdu: a}
}

// linkGone fails the requests pending on a closed link.
func (m *MasterSim) linkGone(s *masterState, mc *masterConn) {
	if s.current == mc {
		s.current = nil
	}
	for p, c := range s.pending {
		if c.mc == mc {
			delete(s.pending, p)
			c.res <- masterResult{err: fmt.Errorf("link closed before the answer: %w", io.ErrUnexpectedEOF)}
		}
	}
}
