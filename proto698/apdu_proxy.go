package proto698

// ProxyTransCommandRequest is PROXY-Request TransCommand (09 07): forward
// a raw frame (e.g. DL/T 645) out of a serial port of the terminal.
type ProxyTransCommandRequest struct {
	PIID         PIID
	Port         OAD    // forwarding port, e.g. F2090201 (carrier port 1)
	DCB          COMDCB // port settings
	FrameTimeout uint16 // wait for the answer frame, seconds
	ByteTimeout  uint16 // inter-byte timeout, milliseconds
	Command      []byte // frame to forward
	TimeTag      *TimeTag
}

// ProxyTransCommandResponse is PROXY-Response TransCommand (89 07): the
// answer frame, or a DAR when IsDAR.
type ProxyTransCommandResponse struct {
	PIID   PIIDACD
	Port   OAD
	IsDAR  bool
	DAR    DAR
	Answer []byte
	ServerTrailer
}

// Service implements APDU.
func (*ProxyTransCommandRequest) Service() string { return "PROXY-Request-TransCommand" }

// Service implements APDU.
func (*ProxyTransCommandResponse) Service() string { return "PROXY-Response-TransCommand" }

func (p *ProxyTransCommandRequest) appendTo(d []byte) ([]byte, error) {
	d, _ = p.Port.appendValue(append(d, TagProxyRequest, 7, byte(p.PIID)))
	d, _ = p.DCB.appendValue(d)
	d = appendU16(appendU16(d, p.FrameTimeout), p.ByteTimeout)
	d = append(appendLength(d, len(p.Command)), p.Command...)
	return appendOptTimeTag(d, p.TimeTag), nil
}

func (p *ProxyTransCommandResponse) appendTo(d []byte) ([]byte, error) {
	d, _ = p.Port.appendValue(append(d, TagProxyResponse, 7, byte(p.PIID)))
	if p.IsDAR {
		d = append(d, 0, byte(p.DAR))
	} else {
		d = append(appendLength(append(d, 1), len(p.Answer)), p.Answer...)
	}
	return p.ServerTrailer.append(d)
}

func (r *reader) proxyTransCommandRequest() (APDU, error) {
	const f = "PROXY-Request-TransCommand"
	p := &ProxyTransCommandRequest{}
	v, err := r.u8(fn(f + ".PIID"))
	if err != nil {
		return nil, err
	}
	p.PIID = PIID(v)
	if p.Port, err = r.oad(fn(f + ".port")); err != nil {
		return nil, err
	}
	if p.DCB, err = r.comdcb(fn(f + ".COMDCB")); err != nil {
		return nil, err
	}
	if p.FrameTimeout, err = r.u16(fn(f + ".frame timeout")); err != nil {
		return nil, err
	}
	if p.ByteTimeout, err = r.u16(fn(f + ".byte timeout")); err != nil {
		return nil, err
	}
	n, err := r.length(fn(f+".command length"), 1)
	if err != nil {
		return nil, err
	}
	if p.Command, err = r.bytes(n, fn(f+".command")); err != nil {
		return nil, err
	}
	p.TimeTag, err = r.optTimeTag(fn(f))
	return p, err
}

func (r *reader) proxyTransCommandResponse() (APDU, error) {
	const f = "PROXY-Response-TransCommand"
	p := &ProxyTransCommandResponse{}
	v, err := r.u8(fn(f + ".PIID-ACD"))
	if err != nil {
		return nil, err
	}
	p.PIID = PIIDACD(v)
	if p.Port, err = r.oad(fn(f + ".port")); err != nil {
		return nil, err
	}
	ch, err := r.u8(fn(f + ".result choice"))
	if err != nil {
		return nil, err
	}
	switch ch {
	case 0:
		dar, err := r.u8(fn(f + ".DAR"))
		if err != nil {
			return nil, err
		}
		p.IsDAR, p.DAR = true, DAR(dar)
	case 1:
		n, err := r.length(fn(f+".answer length"), 1)
		if err != nil {
			return nil, err
		}
		if p.Answer, err = r.bytes(n, fn(f+".answer")); err != nil {
			return nil, err
		}
	default:
		return nil, ferrf(r.pos()-1, f+".result choice", ErrInvalid, "choice %d (want 0 DAR or 1 data)", ch)
	}
	p.ServerTrailer, err = r.serverTrailer(fn(f))
	return p, err
}
