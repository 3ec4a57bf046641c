package proto698

import (
	"bytes"
	"fmt"
)

// ERROR-Response error types (the standard's ENUMERATED, carried in
// ErrorResponse.DAR).
const (
	ErrorAPDUUndecodable    DAR = 1   // APDU cannot be parsed
	ErrorServiceUnsupported DAR = 2   // service not supported
	ErrorOtherType          DAR = 255 // other
)

// errorTypeText names an ERROR-Response error type.
func errorTypeText(d DAR) string {
	switch d {
	case ErrorAPDUUndecodable:
		return "APDU cannot be parsed"
	case ErrorServiceUnsupported:
		return "service not supported"
	case ErrorOtherType:
		return "other"
	}
	return fmt.Sprintf("error type %d", uint8(d))
}

// requestNames names the client request services this package recognises
// by tag and choice but does not decode further.
var requestNames = map[uint16]string{
	0x0503: "GET-Request-Record",
	0x0504: "GET-Request-RecordList",
	0x0506: "GET-Request-MD5",
	0x0603: "SET-ThenGet-Request-NormalList",
	0x0702: "ACTION-Request-List",
	0x0703: "ACTION-ThenGet-Request-NormalList",
	0x0901: "PROXY-Request-GetList",
	0x0902: "PROXY-Request-GetRecord",
	0x0903: "PROXY-Request-SetList",
	0x0904: "PROXY-Request-SetThenGetList",
	0x0905: "PROXY-Request-ActionList",
	0x0906: "PROXY-Request-ActionThenGetList",
	0x0908: "PROXY-Request-InnerTransCommand",
}

// UnsupportedRequest is a client request of a service this package does
// not decode (GET-Record, ACTION-List, most PROXY services, an unknown
// choice of GET, SET, ACTION or PROXY): its tag, choice and PIID, which
// is enough to answer it, and the APDU as received. It is never data: a
// server answers it with ERROR-Response (service not supported).
type UnsupportedRequest struct {
	Tag, Choice uint8
	PIID        PIID
	Raw         []byte // the whole APDU, tag included
}

// Service implements APDU.
func (u *UnsupportedRequest) Service() string {
	if n, ok := requestNames[uint16(u.Tag)<<8|uint16(u.Choice)]; ok {
		return n
	}
	return fmt.Sprintf("request 0x%02X choice %d", u.Tag, u.Choice)
}

func (u *UnsupportedRequest) appendTo(d []byte) ([]byte, error) {
	if len(u.Raw) < 3 || u.Raw[0] != u.Tag || u.Raw[1] != u.Choice || u.Raw[2] != byte(u.PIID) {
		return d, fmt.Errorf("proto698: %s: raw APDU does not start with its tag, choice and PIID: %w", u.Service(), ErrInvalid)
	}
	return append(d, u.Raw...), nil
}

// isRequestTag reports whether tag is a client request service whose
// second byte is a choice and third the PIID.
func isRequestTag(tag uint8) bool {
	switch tag {
	case TagGetRequest, TagSetRequest, TagActionRequest, TagProxyRequest:
		return true
	}
	return false
}

// unsupportedRequest reads the PIID of a request with an undecoded
// choice and keeps the rest of the APDU as it is.
func (r *reader) unsupportedRequest(tag, ch uint8) (APDU, error) {
	u := &UnsupportedRequest{Tag: tag, Choice: ch}
	p, err := r.u8(fn(u.Service() + ".PIID"))
	if err != nil {
		return nil, err
	}
	u.PIID = PIID(p)
	u.Raw = bytes.Clone(r.b[r.off-3:])
	r.off = len(r.b)
	return u, nil
}

// GetRequestNext asks for the next block of a fragmented GET answer
// (GET-Request-Next, 05 05).
type GetRequestNext struct {
	PIID      PIID
	LastBlock uint16 // the number of the last block received
	TimeTag   *TimeTag
}

// GetResponseNext answers GET-Request-Next (85 05). This package encodes
// and decodes its DAR form only: a terminal that never splits a GET
// answer into blocks answers every GET-Request-Next with DAR "not in
// fragmented transfer".
type GetResponseNext struct {
	PIID  PIIDACD
	Last  bool   // last-block flag
	Block uint16 // block number
	DAR   DAR
	ServerTrailer
}

// DARNotFragmented is the DAR for a GET-Request-Next outside a block
// transfer (不处于分帧传输状态).
const DARNotFragmented DAR = 11

// Service implements APDU.
func (*GetRequestNext) Service() string { return "GET-Request-Next" }

// Service implements APDU.
func (*GetResponseNext) Service() string { return "GET-Response-Next" }

func (g *GetRequestNext) appendTo(d []byte) ([]byte, error) {
	d = appendU16(append(d, TagGetRequest, 5, byte(g.PIID)), g.LastBlock)
	return appendOptTimeTag(d, g.TimeTag), nil
}

func (g *GetResponseNext) appendTo(d []byte) ([]byte, error) {
	d = append(d, TagGetResponse, 5, byte(g.PIID), byte(b2i(g.Last)))
	d = append(appendU16(d, g.Block), 0, byte(g.DAR))
	return g.ServerTrailer.append(d)
}

func (r *reader) getRequestNext() (APDU, error) {
	const f = "GET-Request-Next"
	p, err := r.u8(fn(f + ".PIID"))
	if err != nil {
		return nil, err
	}
	g := &GetRequestNext{PIID: PIID(p)}
	if g.LastBlock, err = r.u16(fn(f + ".last block")); err != nil {
		return nil, err
	}
	g.TimeTag, err = r.optTimeTag(fn(f))
	return g, err
}

func (r *reader) getResponseNext() (APDU, error) {
	const f = "GET-Response-Next"
	p, err := r.u8(fn(f + ".PIID-ACD"))
	if err != nil {
		return nil, err
	}
	g := &GetResponseNext{PIID: PIIDACD(p)}
	if g.Last, err = r.optional(fn(f + ".last block")); err != nil {
		return nil, err
	}
	if g.Block, err = r.u16(fn(f + ".block")); err != nil {
		return nil, err
	}
	ch, err := r.u8(fn(f + ".answer choice"))
	if err != nil {
		return nil, err
	}
	if ch != 0 {
		return nil, ferrf(r.pos()-1, f+".answer choice", ErrUnsupported, "choice %d (only 0 DAR is decoded)", ch)
	}
	dar, err := r.u8(fn(f + ".DAR"))
	if err != nil {
		return nil, err
	}
	g.DAR = DAR(dar)
	g.ServerTrailer, err = r.serverTrailer(fn(f))
	return g, err
}

// SetRequestNormalList writes several attributes (SET-Request-NormalList,
// 06 02).
type SetRequestNormalList struct {
	PIID    PIID
	Items   []SetItem
	TimeTag *TimeTag
}

// SetItem is one attribute and its new value.
type SetItem struct {
	OAD   OAD
	Value Data
}

// SetResponseNormalList answers SET-Request-NormalList (86 02): each
// attribute's result, in request order.
type SetResponseNormalList struct {
	PIID    PIIDACD
	Results []SetResult
	ServerTrailer
}

// SetResult is one attribute's SET result.
type SetResult struct {
	OAD OAD
	DAR DAR
}

// Service implements APDU.
func (*SetRequestNormalList) Service() string { return "SET-Request-NormalList" }

// Service implements APDU.
func (*SetResponseNormalList) Service() string { return "SET-Response-NormalList" }

func (s *SetRequestNormalList) appendTo(d []byte) ([]byte, error) {
	d = appendLength(append(d, TagSetRequest, 2, byte(s.PIID)), len(s.Items))
	var err error
	for _, it := range s.Items {
		d, _ = it.OAD.appendValue(d)
		if d, err = AppendData(d, it.Value); err != nil {
			return d, err
		}
	}
	return appendOptTimeTag(d, s.TimeTag), nil
}

func (s *SetResponseNormalList) appendTo(d []byte) ([]byte, error) {
	d = appendLength(append(d, TagSetResponse, 2, byte(s.PIID)), len(s.Results))
	for _, res := range s.Results {
		d, _ = res.OAD.appendValue(d)
		d = append(d, byte(res.DAR))
	}
	return s.ServerTrailer.append(d)
}

func (r *reader) setRequestNormalList() (APDU, error) {
	const f = "SET-Request-NormalList"
	p, err := r.u8(fn(f + ".PIID"))
	if err != nil {
		return nil, err
	}
	s := &SetRequestNormalList{PIID: PIID(p)}
	n, err := r.length(fn(f+".count"), 5)
	if err != nil {
		return nil, err
	}
	s.Items = make([]SetItem, n)
	for i := range s.Items {
		if s.Items[i].OAD, err = r.oad(fn(f + ".OAD")); err != nil {
			return nil, err
		}
		if s.Items[i].Value, err = r.data(fn(f + ".Data")); err != nil {
			return nil, err
		}
	}
	s.TimeTag, err = r.optTimeTag(fn(f))
	return s, err
}

func (r *reader) setResponseNormalList() (APDU, error) {
	const f = "SET-Response-NormalList"
	p, err := r.u8(fn(f + ".PIID-ACD"))
	if err != nil {
		return nil, err
	}
	s := &SetResponseNormalList{PIID: PIIDACD(p)}
	n, err := r.length(fn(f+".count"), 5)
	if err != nil {
		return nil, err
	}
	s.Results = make([]SetResult, n)
	for i := range s.Results {
		if s.Results[i].OAD, err = r.oad(fn(f + ".OAD")); err != nil {
			return nil, err
		}
		v, err := r.u8(fn(f + ".DAR"))
		if err != nil {
			return nil, err
		}
		s.Results[i].DAR = DAR(v)
	}
	s.ServerTrailer, err = r.serverTrailer(fn(f))
	return s, err
}
