package proto698

import "fmt"

// LinkType is the LINK-Request request type.
type LinkType uint8

// Link request types.
const (
	LinkLogin     LinkType = 0
	LinkHeartbeat LinkType = 1
	LinkLogout    LinkType = 2
)

// String implements fmt.Stringer.
func (t LinkType) String() string {
	switch t {
	case LinkLogin:
		return "login"
	case LinkHeartbeat:
		return "heartbeat"
	case LinkLogout:
		return "logout"
	}
	return fmt.Sprintf("link-type-%d", uint8(t))
}

// LinkRequest is LINK-Request (terminal → master): login, heartbeat or logout.
type LinkRequest struct {
	PIID      PIIDACD
	Type      LinkType
	Heartbeat uint16 // heartbeat period, seconds
	Time      DateTime
}

// LinkResponse is LINK-Response (master → terminal).
type LinkResponse struct {
	PIID PIID
	// Result: bit 7 clock trusted, bits 0–2 result (0 success, 1 address
	// repeated, 2 illegal device, 3 capacity insufficient).
	Result       uint8
	RequestTime  DateTime
	ReceiveTime  DateTime
	ResponseTime DateTime
}

// Service implements APDU.
func (*LinkRequest) Service() string { return "LINK-Request" }

// Service implements APDU.
func (*LinkResponse) Service() string { return "LINK-Response" }

// Success reports result code 0.
func (l *LinkResponse) Success() bool { return l.Result&7 == 0 }

// ClockTrusted reports result bit 7.
func (l *LinkResponse) ClockTrusted() bool { return l.Result&0x80 != 0 }

func (l *LinkRequest) appendTo(d []byte) ([]byte, error) {
	if l.Type > LinkLogout {
		return d, fmt.Errorf("proto698: LINK-Request type %d: %w", l.Type, ErrInvalid)
	}
	d = appendU16(append(d, TagLinkRequest, byte(l.PIID), byte(l.Type)), l.Heartbeat)
	return l.Time.appendValue(d)
}

func (l *LinkResponse) appendTo(d []byte) ([]byte, error) {
	d = append(d, TagLinkResponse, byte(l.PIID), l.Result)
	d, _ = l.RequestTime.appendValue(d)
	d, _ = l.ReceiveTime.appendValue(d)
	return l.ResponseTime.appendValue(d)
}

func (r *reader) linkRequest() (APDU, error) {
	const f = "LINK-Request"
	l := &LinkRequest{}
	p, err := r.u8(fn(f + ".PIID-ACD"))
	if err != nil {
		return nil, err
	}
	l.PIID = PIIDACD(p)
	t, err := r.u8(fn(f + ".type"))
	if err != nil {
		return nil, err
	}
	if t > uint8(LinkLogout) {
		return nil, ferrf(r.pos()-1, f+".type", ErrInvalid, "request type %d (want 0 login, 1 heartbeat, 2 logout)", t)
	}
	l.Type = LinkType(t)
	if l.Heartbeat, err = r.u16(fn(f + ".heartbeat")); err != nil {
		return nil, err
	}
	if l.Time, err = r.dateTime(fn(f + ".time")); err != nil {
		return nil, err
	}
	return l, nil
}

func (r *reader) linkResponse() (APDU, error) {
	const f = "LINK-Response"
	l := &LinkResponse{}
	p, err := r.u8(fn(f + ".PIID"))
	if err != nil {
		return nil, err
	}
	l.PIID = PIID(p)
	if l.Result, err = r.u8(fn(f + ".result")); err != nil {
		return nil, err
	}
	if l.RequestTime, err = r.dateTime(fn(f + ".request time")); err != nil {
		return nil, err
	}
	if l.ReceiveTime, err = r.dateTime(fn(f + ".receive time")); err != nil {
		return nil, err
	}
	if l.ResponseTime, err = r.dateTime(fn(f + ".response time")); err != nil {
		return nil, err
	}
	return l, nil
}
