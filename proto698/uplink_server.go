package proto698

import (
	"context"
	"crypto/tls"
	"errors"
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

// ActionServer is a Server that also invokes methods: the Uplink passes
// ACTION-Request-Normal to Action when its Server implements it (on the
// authenticated path only, like SET) and answers DAR object undefined
// otherwise.
type ActionServer interface {
	Server
	// Action invokes the method with its parameter and returns the
	// method's return data (nil: none) with DARSuccess, or the DAR that
	// refuses it.
	Action(ctx context.Context, omd OMD, param Data) (Data, DAR)
}

// outbound is a response a request goroutine hands to the link loop.
type outbound struct {
	ca   uint8 // the request's client address, echoed
	apdu APDU
}

// refusal answers request a with dar for every attribute or method it
// names; nil for a request that has no such answer.
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
	case *SetRequestNormalList:
		res := make([]SetResult, len(r.Items))
		for i, it := range r.Items {
			res[i] = SetResult{OAD: it.OAD, DAR: dar}
		}
		return &SetResponseNormalList{PIID: PIIDACD(r.PIID) &^ 0x40, Results: res}
	case *ActionRequestNormal:
		return &ActionResponseNormal{PIID: PIIDACD(r.PIID) &^ 0x40, OMD: r.OMD, DAR: dar}
	}
	return nil
}

// isServed reports whether a is a request the Server answers.
func isServed(a APDU) bool {
	switch a.(type) {
	case *GetRequestNormal, *GetRequestNormalList, *SetRequestNormal, *SetRequestNormalList, *ActionRequestNormal:
		return true
	}
	return false
}

// isControl reports whether a changes the terminal (SET, ACTION): those
// are served only on an authenticated path and only when addressed to
// this terminal alone.
func isControl(a APDU) bool {
	switch a.(type) {
	case *SetRequestNormal, *SetRequestNormalList, *ActionRequestNormal:
		return true
	}
	return false
}

// undecodedRequest is a request from the master whose APDU does not
// decode: bad data, or a tag or service this package does not know. It
// is never data and never reaches the Server: the terminal answers it
// with ERROR-Response. It is never encoded.
type undecodedRequest struct {
	PIID PIIDACD // the request's PIID as far as it can be read (ACD clear)
	Type DAR     // ERROR-Response error type: ErrorAPDUUndecodable or ErrorServiceUnsupported
	Err  error   // why it does not decode
}

// undecoded classifies the APDU b that DecodeAPDU refused with err: an
// unknown APDU tag or service choice is "service not supported", any
// other fault "APDU cannot be parsed".
func undecoded(b []byte, err error) *undecodedRequest {
	r := &undecodedRequest{PIID: requestPIID(b), Type: ErrorAPDUUndecodable, Err: err}
	var fe *FrameError
	if errors.As(err, &fe) && errors.Is(err, ErrUnsupported) && (fe.Field == "APDU tag" || fe.Field == "APDU choice") {
		r.Type = ErrorServiceUnsupported
	}
	return r
}

// Service implements APDU.
func (r *undecodedRequest) Service() string { return "undecodable APDU" }

func (r *undecodedRequest) appendTo(d []byte) ([]byte, error) {
	return d, fmt.Errorf("proto698: undecodable APDU is never encoded: %w", r.Err)
}

// requestPIID is the PIID of a request APDU that could not be decoded:
// the byte after the tag for CONNECT and RELEASE, else the byte after
// tag and choice (payloadPIID), 0 when b is too short.
func requestPIID(b []byte) PIIDACD {
	if len(b) >= 2 && (b[0] == TagConnectRequest || b[0] == TagReleaseRequest) {
		return PIIDACD(b[1]) &^ 0x40
	}
	return payloadPIID(b)
}

// isMasterRequest reports whether a is a request the master sends the
// terminal, which the terminal answers (every one of them gets an
// answer unless it was broadcast).
func isMasterRequest(a APDU) bool {
	switch a.(type) {
	case *GetRequestNormal, *GetRequestNormalList, *SetRequestNormal, *SetRequestNormalList, *ActionRequestNormal,
		*GetRequestNext, *ProxyTransCommandRequest, *UnsupportedRequest, *ConnectRequest, *ReleaseRequest, *SecurityRequest,
		*undecodedRequest:
		return true
	}
	return false
}

// secured is how a SECURITY-Request arrived: its answer goes back in a
// SECURITY-Response, with a MAC over the random number when the request
// carried one and a Verifier is configured.
type secured struct {
	rn []byte // nil: no random number, no response MAC
}

// masterRequest is one request from the master on its way to an answer.
type masterRequest struct {
	apdu APDU          // the request (unwrapped from SECURITY-Request)
	sa   ServerAddress // the address it was sent to
	ca   uint8
	// authenticated: the request came over mutually authenticated TLS or
	// in plaintext+MAC whose MAC verified.
	authenticated bool
	// macOnly: authenticated by its MAC alone, not over TLS, so a
	// recording of it could be replayed: its time tag is checked.
	macOnly bool
	sec     *secured // nil: a plain request
}

// link is the session's connection as the request handling sees it.
type link struct {
	conn    net.Conn
	tlsAuth bool // TLS whose handshake verified the master's certificate
}

// handleRequest answers a master request, or starts serving it. It
// returns the answer to write now (nil: none now — broadcast, or a
// goroutine will answer on replies).
func (u *Uplink) handleRequest(ctx context.Context, st *uplinkState, l link, m inbound, replies chan<- outbound, done <-chan struct{}) APDU {
	if m.sa.Type == AddrBroadcast || !m.sa.Matches(u.cfg.Addr) {
		// A broadcast is never answered and never changes the terminal:
		// nobody could tell which terminal did what.
		u.log.Debug("proto698: uplink: request not for this terminal", "service", m.apdu.Service(), "sa", m.sa)
		return nil
	}
	req := masterRequest{apdu: m.apdu, sa: m.sa, ca: m.ca, authenticated: l.tlsAuth}
	if s, ok := m.apdu.(*SecurityRequest); ok {
		inner, refuse := u.unwrap(st, s)
		if refuse != nil {
			return refuse
		}
		req.apdu = inner
		req.sec = &secured{}
		if s.Verify == VerifyRN || s.Verify == VerifyRNMAC {
			req.sec.rn = s.RN
		}
		if s.Verify == VerifyRNMAC && u.cfg.Security.Verifier != nil && !req.authenticated {
			req.authenticated, req.macOnly = true, true
		}
	}
	return u.wrap(req.sec, u.answer(ctx, st, l, req, replies, done))
}

// unwrap opens a SECURITY-Request: the plaintext APDU inside, or the
// SECURITY-Response that refuses it (ciphertext, a MAC that does not
// verify, a replayed random number, an APDU that cannot be decoded). A
// plaintext+MAC request is authenticated only when its MAC verified;
// without a Verifier its MAC is not checked and it counts as plaintext.
func (u *Uplink) unwrap(st *uplinkState, s *SecurityRequest) (APDU, APDU) {
	deny := func(dar DAR, why string, err error) APDU {
		u.log.Warn("proto698: uplink: SECURITY-Request refused", "why", why, "dar", dar.String(), "err", err)
		u.refused("SECURITY-Request", why, dar, err)
		return &SecurityResponse{Kind: SecDAR, DAR: dar}
	}
	if s.Cipher {
		return nil, deny(DARSecurityMismatch, "ciphertext (no ESAM to decrypt it)", ErrCipherNotSupported)
	}
	inner, err := DecodeAPDU(s.Payload)
	if err != nil {
		bad := undecoded(s.Payload, err)
		u.log.Warn("proto698: uplink: bad APDU in SECURITY-Request", "err", err)
		return nil, u.wrap(&secured{}, &ErrorResponse{PIID: bad.PIID, DAR: bad.Type})
	}
	if _, nested := inner.(*SecurityRequest); nested {
		return nil, deny(DARSecurityMismatch, "SECURITY-Request inside SECURITY-Request", nil)
	}
	if s.Verify == VerifyRNMAC && u.cfg.Security.Verifier != nil {
		if len(s.RN) < MinRNLen {
			return nil, deny(DARSecurityFailed, "random number too short", fmt.Errorf("%d bytes, want at least %d: %w", len(s.RN), MinRNLen, ErrInvalid))
		}
		if err := u.cfg.Security.Verifier.VerifyRequest(s.RN, s.Payload, s.MAC); err != nil {
			return nil, deny(SecurityDAR(err), "MAC", err)
		}
		if !st.conn.replay.admit(s.RN) {
			return nil, deny(DARSecurityFailed, "replayed random number", ErrReplayed)
		}
	}
	return inner, nil
}

// payloadPIID is the PIID of an APDU that could not be decoded: the
// byte after tag and choice when there is one.
func payloadPIID(b []byte) PIIDACD {
	if len(b) >= 3 {
		return PIIDACD(b[2]) &^ 0x40
	}
	return 0
}

// answer answers an unwrapped request or starts serving it.
func (u *Uplink) answer(ctx context.Context, st *uplinkState, l link, req masterRequest, replies chan<- outbound, done <-chan struct{}) APDU {
	switch r := req.apdu.(type) {
	case *ConnectRequest:
		resp := u.connect(st, r)
		if resp.Result == ConnectAllowed {
			u.setMaxFrame(l.conn, u.frameAPDU(resp.SendMax))
		}
		return resp
	case *ReleaseRequest:
		st.conn.negotiated = ConnectParams{}
		u.setMaxFrame(l.conn, u.maxFrameAPDU())
		u.log.Info("proto698: uplink: application connection released by the master")
		return &ReleaseResponse{PIID: PIIDACD(r.PIID) &^ 0x40}
	case *GetRequestNext:
		// This terminal never splits a GET answer into blocks.
		return &GetResponseNext{PIID: PIIDACD(r.PIID) &^ 0x40, Last: true, Block: r.LastBlock, DAR: DARNotFragmented}
	case *ProxyTransCommandRequest:
		// No proxy service: the port is no object this terminal serves.
		return &ProxyTransCommandResponse{PIID: PIIDACD(r.PIID) &^ 0x40, Port: r.Port, IsDAR: true, DAR: DARUndefined}
	case *UnsupportedRequest:
		u.log.Info("proto698: uplink: service not supported", "service", r.Service())
		return &ErrorResponse{PIID: PIIDACD(r.PIID) &^ 0x40, DAR: ErrorServiceUnsupported}
	case *undecodedRequest:
		return &ErrorResponse{PIID: r.PIID, DAR: r.Type}
	}
	if !isServed(req.apdu) {
		return &ErrorResponse{DAR: ErrorServiceUnsupported}
	}
	if isControl(req.apdu) {
		if dar := u.controlRefusal(st, req); dar != DARSuccess {
			return refusal(req.apdu, dar)
		}
		if _, ok := req.apdu.(*ActionRequestNormal); ok {
			if _, ok := u.cfg.Server.(ActionServer); !ok {
				return refusal(req.apdu, DARUndefined)
			}
		}
	}
	return u.startRequest(ctx, req, replies, done)
}

// controlRefusal is the DAR refusing a SET or ACTION before it reaches
// the Server, or DARSuccess to let it through.
func (u *Uplink) controlRefusal(st *uplinkState, req masterRequest) DAR {
	switch {
	case req.sa.Type != AddrSingle:
		u.log.Warn("proto698: uplink: control to a wildcard or group address refused", "service", req.apdu.Service(), "sa", req.sa, "type", req.sa.Type)
		u.refused(req.apdu.Service(), "control to a wildcard or group address", DARAddressAbnormal, nil)
		return DARAddressAbnormal
	case req.macOnly:
		if err := u.timeTagRefusal(&st.conn.tags, req.apdu); err != nil {
			u.log.Warn("proto698: uplink: plaintext+MAC control refused: time tag", "service", req.apdu.Service(), "err", err)
			u.refused(req.apdu.Service(), "time tag", DARTimeTagInvalid, err)
			return DARTimeTagInvalid
		}
		return DARSuccess
	case req.authenticated:
		return DARSuccess
	case u.cfg.Security.AllowPlainControl:
		u.log.Warn("proto698: uplink: unauthenticated control allowed (allow_plain_control: lab only)", "service", req.apdu.Service())
		return DARSuccess
	}
	u.log.Warn("proto698: uplink: unauthenticated control refused (needs mutual TLS or plaintext+MAC)", "service", req.apdu.Service(), "secured", req.sec != nil)
	u.refused(req.apdu.Service(), "unauthenticated control", DARSecurityMismatch, nil)
	return DARSecurityMismatch
}

// wrap puts answer a to a secured request into a SECURITY-Response in
// plaintext, with the MAC of the Verifier over the request's random
// number; a is returned as is for a plain request (sec nil) or when nil.
func (u *Uplink) wrap(sec *secured, a APDU) APDU {
	if sec == nil || a == nil {
		return a
	}
	payload, err := EncodeAPDU(a)
	if err != nil {
		if d := darOnly(a, DAROther); d != nil {
			payload, err = EncodeAPDU(d)
		}
		if err != nil {
			u.log.Warn("proto698: uplink: secured answer cannot be encoded", "service", a.Service(), "err", err)
			return &SecurityResponse{Kind: SecDAR, DAR: DAROther}
		}
	}
	resp := &SecurityResponse{Kind: SecPlain, Payload: payload}
	if sec.rn != nil && u.cfg.Security.Verifier != nil {
		mac, err := u.cfg.Security.Verifier.ResponseMAC(sec.rn, payload)
		if err != nil {
			u.log.Warn("proto698: uplink: response MAC", "service", a.Service(), "err", err)
			return &SecurityResponse{Kind: SecDAR, DAR: DAREsamFailed}
		}
		resp.HasMAC, resp.MAC = true, mac
	}
	return resp
}

// connect answers CONNECT-Request: the negotiated limits (each the
// smaller of the master's and the terminal's), kept for this link in
// st.conn.negotiated when the connection is allowed. Only the public
// connection (NullSecurity) is allowed: a password or ESAM-based
// mechanism cannot be checked here, and writes are authenticated per
// request (TLS, plaintext+MAC) anyway.
func (u *Uplink) connect(st *uplinkState, r *ConnectRequest) *ConnectResponse {
	own := u.terminalParams()
	resp := &ConnectResponse{PIID: PIIDACD(r.PIID) &^ 0x40, Factory: u.cfg.Security.Factory, ConnectParams: own}
	switch r.Mechanism.Kind {
	case ConnectNull:
		resp.ConnectParams = Negotiate(own, r.ConnectParams)
		resp.Result = ConnectAllowed
		st.conn.negotiated = resp.ConnectParams
		u.log.Info("proto698: uplink: application connection", "send_max", resp.SendMax, "recv_max", resp.RecvMax, "apdu_max", resp.APDUMax, "timeout_s", resp.Timeout)
	case ConnectPassword:
		resp.Result = ConnectBadPassword
	case ConnectSymmetry:
		resp.Result = ConnectSymmetricError
	default:
		resp.Result = ConnectSignatureError
	}
	if resp.Result != ConnectAllowed {
		u.log.Warn("proto698: uplink: application connection refused", "mechanism", r.Mechanism.Kind, "result", resp.Result.String())
	}
	return resp
}

// Terminal defaults for CONNECT negotiation.
const (
	connectVersion = 0x0016 // application layer protocol version announced
	connectAPDU    = 4096   // largest APDU handled, bytes
	connectTimeout = 7200   // application connection timeout, seconds
)

// frameOverhead is the bytes of a fragment frame around its APDU bytes.
func (u *Uplink) frameOverhead() int {
	f := Frame{Control: NewControl(true, false, true, false, FuncUserData), Addr: u.cfg.Addr}
	return f.EncodedLen()
}

// maxFrameAPDU is UplinkConfig.MaxFrame with its default.
func (u *Uplink) maxFrameAPDU() int {
	if u.cfg.MaxFrame > 0 {
		return u.cfg.MaxFrame
	}
	return DefaultMaxFrameAPDU
}

// frameAPDU is the APDU bytes a frame of size bytes carries (at least 1).
func (u *Uplink) frameAPDU(size uint16) int { return max(1, int(size)-u.frameOverhead()) }

// terminalParams are the limits this terminal announces: every service
// it serves in the conformance blocks is left to the master's choice
// (all bits set: the intersection is the master's), frames of
// UplinkConfig.MaxFrame APDU bytes with their header, one frame window.
func (u *Uplink) terminalParams() ConnectParams {
	frame := uint16(min(u.maxFrameAPDU()+u.frameOverhead(), MaxFrameLen, 0xFFFF))
	p := ConnectParams{Version: connectVersion, SendMax: frame, RecvMax: frame, RecvWindow: 1, APDUMax: connectAPDU, Timeout: connectTimeout}
	for i := range p.Protocol {
		p.Protocol[i] = 0xFF
	}
	for i := range p.Function {
		p.Function[i] = 0xFF
	}
	return p
}

// tlsAuthenticated reports whether conn is TLS whose handshake verified
// the master's certificate chain.
func tlsAuthenticated(conn net.Conn) bool {
	tc, ok := netConn(conn).(*tls.Conn)
	if !ok {
		return false
	}
	cs := tc.ConnectionState()
	return cs.HandshakeComplete && len(cs.VerifiedChains) > 0
}

// startRequest begins serving master request req with the Server. It
// returns the answer at once when the request is refused (no Server, or
// MaxRequests in progress); otherwise a goroutine answers on replies, or
// drops the answer when done closes (the session ended).
func (u *Uplink) startRequest(ctx context.Context, req masterRequest, replies chan<- outbound, done <-chan struct{}) APDU {
	a := req.apdu
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
		resp := u.wrap(req.sec, u.serveRequest(ctx, a))
		select {
		case replies <- outbound{ca: req.ca, apdu: resp}:
		case <-done:
			u.log.Debug("proto698: uplink: link gone, answer dropped", "service", a.Service())
		}
	}()
	return nil
}

// itemResult is one item's answer from the Server.
type itemResult struct {
	i   int
	res ResultNormal // GET result
	dar DAR          // SET or ACTION result
	ret Data         // ACTION return data
}

// serveRequest calls the Server for a and returns the response, with DAR
// request timeout for what the Server did not answer within
// RequestTimeout. The slot taken in startRequest is released when the
// Server calls return, not before.
func (u *Uplink) serveRequest(ctx context.Context, a APDU) APDU {
	rctx, cancel := context.WithTimeout(ctx, u.cfg.RequestTimeout)
	defer cancel()
	resp := refusal(a, DARRequestTimeout) // filled in as answers arrive
	var items []func(context.Context) itemResult
	get := func(o OAD) func(context.Context) itemResult {
		return func(ctx context.Context) itemResult { return itemResult{res: u.get(ctx, o)} }
	}
	set := func(o OAD, v Data) func(context.Context) itemResult {
		return func(ctx context.Context) itemResult { return itemResult{dar: u.cfg.Server.Set(ctx, o, v)} }
	}
	switch r := a.(type) {
	case *GetRequestNormal:
		items = append(items, get(r.OAD))
	case *GetRequestNormalList:
		for _, o := range r.OADs {
			items = append(items, get(o))
		}
	case *SetRequestNormal:
		items = append(items, set(r.OAD, r.Value))
	case *SetRequestNormalList:
		for _, it := range r.Items {
			items = append(items, set(it.OAD, it.Value))
		}
	case *ActionRequestNormal:
		items = append(items, func(ctx context.Context) itemResult { return u.action(ctx, r) })
	}
	results := make(chan itemResult, len(items))
	go func() {
		// Free the slot before the answer can go out, so a master that
		// sends its next request on seeing the answer finds it free.
		defer close(results)
		defer func() { <-u.slots }()
		for i, call := range items {
			if rctx.Err() != nil {
				return
			}
			it := call(rctx)
			it.i = i
			results <- it
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
			case *SetResponseNormalList:
				r.Results[it.i].DAR = it.dar
			case *ActionResponseNormal:
				r.DAR, r.Return = it.dar, it.ret
			}
		}
	}
}

// action calls ActionServer.Action and checks what it returns can be sent.
func (u *Uplink) action(ctx context.Context, r *ActionRequestNormal) itemResult {
	ret, dar := u.cfg.Server.(ActionServer).Action(ctx, r.OMD, r.Param)
	if dar != DARSuccess {
		return itemResult{dar: dar}
	}
	if ret != nil {
		if _, err := AppendData(nil, ret); err != nil {
			u.log.Warn("proto698: uplink: action return value cannot be encoded", "omd", r.OMD, "err", err)
			return itemResult{dar: DAROther}
		}
	}
	return itemResult{ret: ret}
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

// dial connects to the master: TCP, or TLS when Security.TLS is set (the
// handshake done before the login is sent).
func (u *Uplink) dial(ctx context.Context) (net.Conn, error) {
	d := net.Dialer{Timeout: u.cfg.ResponseTimeout}
	if u.cfg.Security.TLS == nil {
		return d.DialContext(ctx, "tcp", u.cfg.Master)
	}
	td := tls.Dialer{NetDialer: &d, Config: tlsConfig(u.cfg.Security.TLS, u.cfg.Master)}
	conn, err := td.DialContext(ctx, "tcp", u.cfg.Master)
	if err != nil {
		return nil, fmt.Errorf("proto698: uplink: TLS to %s: %w", u.cfg.Master, err)
	}
	return conn, nil
}

// tlsConfig returns a copy of c for dialling master: TLS 1.2 at least,
// ServerName the master's host when empty.
func tlsConfig(c *tls.Config, master string) *tls.Config {
	if c == nil {
		return nil
	}
	c = c.Clone()
	if c.MinVersion < tls.VersionTLS12 {
		c.MinVersion = tls.VersionTLS12
	}
	if c.ServerName == "" {
		if host, _, err := net.SplitHostPort(master); err == nil {
			c.ServerName = host
		}
	}
	return c
}
