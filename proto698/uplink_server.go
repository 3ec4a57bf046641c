package proto698

import (
	"context"
	"fmt"
	"net"
	"time"
)

// Server answers the master station's GET and SET requests for the
// terminal. The daemon backs it with its IO scheduler on RS-485, so a call
// may take seconds.
//
// The Uplink calls it off its link loop, one goroutine per master request
// (the OADs of a GET-Request-NormalList one after another), with at most
// UplinkConfig.MaxRequests requests in progress. ctx ends when
// UplinkConfig.RequestTimeout has passed or the link has gone down; an
// implementation must then return promptly. If it does not, the master has
// already been answered (DAR request timeout) and the late result is
// dropped, but the request keeps its place in the concurrency bound until
// the call returns.
type Server interface {
	// Get returns the attribute's value with DARSuccess, or nil Data with
	// the DAR that refuses the read. An attribute whose value is not valid
	// (not measured yet, sensor fault) is Null{} with DARSuccess: the master
	// receives Data NULL, not a DAR.
	Get(ctx context.Context, oad OAD) (Data, DAR)
	// Set writes the attribute and returns the result (DARSuccess, or the
	// reason for refusing, e.g. DARReadDenied for a read-only attribute).
	Set(ctx context.Context, oad OAD, v Data) DAR
}

// outbound is a response a request goroutine hands to the link loop.
type outbound struct {
	ca   uint8 // the request's client address, echoed
	apdu APDU
}

// refusal answers request a with dar for every attribute it names.
func refusal(a APDU, dar DAR) APDU {
	switch r := a.(type) {
	case *GetRequestNormal:
		return &GetResponseNormal{PIID: PIIDACD(r.PIID) &^ 0x40, Result: ResultNormal{OAD: r.OAD, DAR: dar}}
	case *GetRequestNormalList:
		res := make([]ResultNormal, len(r.OADs))
		for i, o := range r.OADs {
			res[i] = ResultNormal{OAD: o, DAR: dar}
		}
		return &GetResponseNormalList{PIID: PIIDACD(r.PIID) &^ 0x40, Results: res}
	case *SetRequestNormal:
		return &SetResponseNormal{PIID: PIIDACD(r.PIID) &^ 0x40, OAD: r.OAD, DAR: dar}
	}
	return nil
}

// isMasterRequest reports whether a is a request the Server answers.
func isMasterRequest(a APDU) bool {
	switch a.(type) {
	case *GetRequestNormal, *GetRequestNormalList, *SetRequestNormal:
		return true
	}
	return false
}

// startRequest begins serving master request a. It returns the response at
// once when the request is refused (no Server, or MaxRequests in
// progress); otherwise a goroutine answers on replies, or drops the answer
// when done closes (the session ended).
func (u *Uplink) startRequest(ctx context.Context, a APDU, ca uint8, replies chan<- outbound, done <-chan struct{}) APDU {
	if u.cfg.Server == nil {
		u.log.Debug("proto698: uplink: no server, refusing", "service", a.Service())
		return refusal(a, DARUndefined)
	}
	select {
	case u.slots <- struct{}{}:
	default:
		u.log.Warn("proto698: uplink: busy, refusing master request", "service", a.Service(), "in_progress", cap(u.slots))
		return refusal(a, DARTemporary)
	}
	u.calls.Add(1)
	go func() {
		defer u.calls.Done()
		resp := u.serveRequest(ctx, a)
		select {
		case replies <- outbound{ca: ca, apdu: resp}:
		case <-done:
			u.log.Debug("proto698: uplink: link gone, answer dropped", "service", a.Service())
		}
	}()
	return nil
}

// itemResult is one OAD's answer from the Server.
type itemResult struct {
	i   int
	res ResultNormal
	dar DAR // SET result
}

// serveRequest calls the Server for a and returns the response, with DAR
// request timeout for what the Server did not answer within
// RequestTimeout. The slot taken in startRequest is released when the
// Server calls return, not before.
func (u *Uplink) serveRequest(ctx context.Context, a APDU) APDU {
	rctx, cancel := context.WithTimeout(ctx, u.cfg.RequestTimeout)
	defer cancel()
	resp := refusal(a, DARRequestTimeout) // filled in as answers arrive
	var oads []OAD
	switch r := a.(type) {
	case *GetRequestNormal:
		oads = []OAD{r.OAD}
	case *GetRequestNormalList:
		oads = r.OADs
	case *SetRequestNormal:
		oads = []OAD{r.OAD}
	}
	results := make(chan itemResult, len(oads))
	go func() {
		// Free the slot before the answer can go out, so a master that
		// sends its next request on seeing the answer finds it free.
		defer close(results)
		defer func() { <-u.slots }()
		for i, o := range oads {
			if rctx.Err() != nil {
				return
			}
			if s, ok := a.(*SetRequestNormal); ok {
				results <- itemResult{i: i, dar: u.cfg.Server.Set(rctx, o, s.Value)}
				continue
			}
			results <- itemResult{i: i, res: u.get(rctx, o)}
		}
	}()
	for {
		select {
		case <-rctx.Done():
			u.log.Warn("proto698: uplink: server did not answer in time", "service", a.Service(), "timeout", u.cfg.RequestTimeout, "err", rctx.Err())
			return resp
		case it, ok := <-results:
			if !ok {
				return resp
			}
			switch r := resp.(type) {
			case *GetResponseNormal:
				r.Result = it.res
			case *GetResponseNormalList:
				r.Results[it.i] = it.res
			case *SetResponseNormal:
				r.DAR = it.dar
			}
		}
	}
}

// get calls Server.Get and checks what it returns can be sent.
func (u *Uplink) get(ctx context.Context, o OAD) ResultNormal {
	d, dar := u.cfg.Server.Get(ctx, o)
	if dar != DARSuccess {
		return ResultNormal{OAD: o, DAR: dar}
	}
	if d == nil {
		u.log.Warn("proto698: uplink: server returned no value and no DAR (invalid values are Null{})", "oad", o)
		return ResultNormal{OAD: o, DAR: DAROther}
	}
	if _, err := AppendData(nil, d); err != nil {
		u.log.Warn("proto698: uplink: server value cannot be encoded", "oad", o, "err", err)
		return ResultNormal{OAD: o, DAR: DAROther}
	}
	return ResultNormal{OAD: o, Data: d}
}

// respond writes a response to a master request: DIR=1 (from the
// terminal), PRM=1 (the exchange was started by the client, the master).
func (u *Uplink) respond(conn net.Conn, ca uint8, a APDU) error {
	apdu, err := EncodeAPDU(a)
	if err == nil {
		var b []byte
		if b, err = AppendFrame(nil, &Frame{Control: NewControl(true, true, false, false, FuncUserData), Addr: u.cfg.Addr, Client: ca, Data: apdu}); err == nil {
			return u.writeRaw(conn, a.Service(), b)
		}
	}
	// Not the link's fault: keep the link and tell the master the request
	// failed (e.g. a list answer too long for one frame).
	u.log.Warn("proto698: uplink: response cannot be sent, answering DAR other", "service", a.Service(), "err", err)
	if a = darOnly(a, DAROther); a == nil {
		return nil
	}
	apdu, err = EncodeAPDU(a)
	if err != nil {
		return nil
	}
	b, err := AppendFrame(nil, &Frame{Control: NewControl(true, true, false, false, FuncUserData), Addr: u.cfg.Addr, Client: ca, Data: apdu})
	if err != nil {
		return nil
	}
	return u.writeRaw(conn, a.Service(), b)
}

// darOnly replaces every result of response a with dar; nil if a is not a
// response to a master request or already carries no data.
func darOnly(a APDU, dar DAR) APDU {
	switch r := a.(type) {
	case *GetResponseNormal:
		if r.Result.Data == nil {
			return nil
		}
		return &GetResponseNormal{PIID: r.PIID, Result: ResultNormal{OAD: r.Result.OAD, DAR: dar}}
	case *GetResponseNormalList:
		res := make([]ResultNormal, len(r.Results))
		for i, x := range r.Results {
			res[i] = ResultNormal{OAD: x.OAD, DAR: dar}
		}
		return &GetResponseNormalList{PIID: r.PIID, Results: res}
	}
	return nil
}

// writeRaw writes one encoded frame with the write deadline.
func (u *Uplink) writeRaw(conn net.Conn, service string, b []byte) error {
	if err := conn.SetWriteDeadline(time.Now().Add(u.cfg.ResponseTimeout)); err != nil {
		return fmt.Errorf("proto698: uplink: write %s to %s: %w", service, u.cfg.Master, err)
	}
	if _, err := conn.Write(b); err != nil {
		return fmt.Errorf("proto698: uplink: write %s to %s: %w", service, u.cfg.Master, err)
	}
	return nil
}
