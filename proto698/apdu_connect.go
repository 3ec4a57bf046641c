package proto698

import "fmt"

// APDU tags of the application-connection services.
const (
	TagConnectRequest  = 0x02
	TagReleaseRequest  = 0x03
	TagConnectResponse = 0x82
	TagReleaseResponse = 0x83
)

// Connection authentication mechanisms (ConnectMechanismInfo CHOICE).
const (
	ConnectNull      = 0 // NullSecurity: public connection
	ConnectPassword  = 1 // PasswordSecurity: visible-string
	ConnectSymmetry  = 2 // SymmetrySecurity: ciphertext 1, client signature 1
	ConnectSignature = 3 // SignatureSecurity: ciphertext 2, client signature 2
)

// ConnectResult is the CONNECT-Response authentication result.
type ConnectResult uint8

// Connection results (ConnectResult ENUMERATED).
const (
	ConnectAllowed         ConnectResult = 0   // application connection allowed
	ConnectBadPassword     ConnectResult = 1   // password error
	ConnectSymmetricError  ConnectResult = 2   // symmetric decryption error
	ConnectAsymmetricError ConnectResult = 3   // asymmetric decryption error
	ConnectSignatureError  ConnectResult = 4   // signature error
	ConnectVersionMismatch ConnectResult = 5   // protocol version mismatch
	ConnectOtherError      ConnectResult = 255 // other error
)

// String implements fmt.Stringer with the standard's name of the result.
func (c ConnectResult) String() string {
	switch c {
	case ConnectAllowed:
		return "connection allowed"
	case ConnectBadPassword:
		return "password error"
	case ConnectSymmetricError:
		return "symmetric decryption error"
	case ConnectAsymmetricError:
		return "asymmetric decryption error"
	case ConnectSignatureError:
		return "signature error"
	case ConnectVersionMismatch:
		return "protocol version mismatch"
	case ConnectOtherError:
		return "other error"
	}
	return fmt.Sprintf("connect result %d", uint8(c))
}

// ConnectMechanism is ConnectMechanismInfo: how the client authenticates
// the application connection. Password is set for ConnectPassword,
// Cipher and Signature for ConnectSymmetry and ConnectSignature.
type ConnectMechanism struct {
	Kind      uint8
	Password  string
	Cipher    []byte
	Signature []byte
}

// ConnectParams are the negotiated quantities both CONNECT APDUs carry:
// protocol version, the conformance bit blocks (64 and 128 bits, most
// significant bit first), frame sizes in bytes, the receive window in
// frames, the largest APDU and the connection timeout in seconds.
type ConnectParams struct {
	Version    uint16
	Protocol   [8]byte  // ProtocolConformance, bit-string SIZE(64)
	Function   [16]byte // FunctionConformance, bit-string SIZE(128)
	SendMax    uint16   // largest frame the sender sends
	RecvMax    uint16   // largest frame the sender receives
	RecvWindow uint8    // frames the sender receives without confirm
	APDUMax    uint16   // largest APDU the sender handles
	Timeout    uint32   // application connection timeout, seconds
}

// ConnectRequest is CONNECT-Request (0x02): the master proposes an
// application connection and its limits.
type ConnectRequest struct {
	PIID PIID
	ConnectParams
	Mechanism ConnectMechanism
	TimeTag   *TimeTag
}

// FactoryVersion is the server's vendor version information: fixed-size
// visible strings (4, 4, 6, 4, 6 and 8 characters); shorter values are
// padded with spaces on encoding.
type FactoryVersion struct {
	Vendor, SoftwareVersion, SoftwareDate, HardwareVersion, HardwareDate, Extension string
}

// factoryWidths are the sizes of FactoryVersion's strings, in field order.
var factoryWidths = [6]int{4, 4, 6, 4, 6, 8}

func (v *FactoryVersion) fields() [6]*string {
	return [6]*string{&v.Vendor, &v.SoftwareVersion, &v.SoftwareDate, &v.HardwareVersion, &v.HardwareDate, &v.Extension}
}

// ConnectResponse is CONNECT-Response (0x82): the terminal's answer with
// the negotiated limits and the authentication result. RN and MAC are the
// optional SecurityData (server random number and signature).
type ConnectResponse struct {
	PIID    PIIDACD
	Factory FactoryVersion
	ConnectParams
	Result      ConnectResult
	HasSecurity bool
	RN, MAC     []byte
	ServerTrailer
}

// ReleaseRequest is RELEASE-Request (0x03): the master ends the
// application connection.
type ReleaseRequest struct {
	PIID    PIID
	TimeTag *TimeTag
}

// ReleaseResponse is RELEASE-Response (0x83): result 0 means released.
type ReleaseResponse struct {
	PIID   PIIDACD
	Result uint8
	ServerTrailer
}

// Service implements APDU.
func (*ConnectRequest) Service() string { return "CONNECT-Request" }

// Service implements APDU.
func (*ConnectResponse) Service() string { return "CONNECT-Response" }

// Service implements APDU.
func (*ReleaseRequest) Service() string { return "RELEASE-Request" }

// Service implements APDU.
func (*ReleaseResponse) Service() string { return "RELEASE-Response" }

// Negotiate returns the terminal's answer to a master proposing master:
// every size the smaller of the two sides' (a zero on either side is
// taken as "no preference" and yields the other), the terminal's
// conformance blocks ANDed with the master's, and the smaller timeout.
// The result's SendMax is what the terminal may send, i.e. the smaller of
// its own SendMax and the master's RecvMax, and its RecvMax the smaller of
// its own RecvMax and the master's SendMax.
func Negotiate(terminal, master ConnectParams) ConnectParams {
	n := terminal
	n.Version = minNonZero(terminal.Version, master.Version)
	for i := range n.Protocol {
		n.Protocol[i] &= master.Protocol[i]
	}
	for i := range n.Function {
		n.Function[i] &= master.Function[i]
	}
	n.SendMax = minNonZero(terminal.SendMax, master.RecvMax)
	n.RecvMax = minNonZero(terminal.RecvMax, master.SendMax)
	n.RecvWindow = minNonZero(terminal.RecvWindow, master.RecvWindow)
	n.APDUMax = minNonZero(terminal.APDUMax, master.APDUMax)
	n.Timeout = minNonZero(terminal.Timeout, master.Timeout)
	return n
}

func minNonZero[T uint8 | uint16 | uint32](a, b T) T {
	switch {
	case a == 0:
		return b
	case b == 0:
		return a
	}
	return min(a, b)
}

func (p *ConnectParams) append(d []byte) []byte {
	d = appendU16(d, p.Version)
	d = append(d, p.Protocol[:]...)
	d = append(d, p.Function[:]...)
	d = appendU16(appendU16(d, p.SendMax), p.RecvMax)
	d = appendU16(append(d, p.RecvWindow), p.APDUMax)
	return appendU32(d, p.Timeout)
}

func (r *reader) connectParams(f string) (ConnectParams, error) {
	var p ConnectParams
	var err error
	if p.Version, err = r.u16(fn(f + ".version")); err != nil {
		return p, err
	}
	if err = r.need(len(p.Protocol), fn(f+".protocol conformance")); err != nil {
		return p, err
	}
	r.off += copy(p.Protocol[:], r.b[r.off:])
	if err = r.need(len(p.Function), fn(f+".function conformance")); err != nil {
		return p, err
	}
	r.off += copy(p.Function[:], r.b[r.off:])
	if p.SendMax, err = r.u16(fn(f + ".send max")); err != nil {
		return p, err
	}
	if p.RecvMax, err = r.u16(fn(f + ".receive max")); err != nil {
		return p, err
	}
	if p.RecvWindow, err = r.u8(fn(f + ".receive window")); err != nil {
		return p, err
	}
	if p.APDUMax, err = r.u16(fn(f + ".APDU max")); err != nil {
		return p, err
	}
	p.Timeout, err = r.u32(fn(f + ".timeout"))
	return p, err
}

func (c *ConnectRequest) appendTo(d []byte) ([]byte, error) {
	d = c.ConnectParams.append(append(d, TagConnectRequest, byte(c.PIID)))
	m := c.Mechanism
	d = append(d, m.Kind)
	switch m.Kind {
	case ConnectNull:
	case ConnectPassword:
		d = append(appendLength(d, len(m.Password)), m.Password...)
	case ConnectSymmetry, ConnectSignature:
		d = appendOctets(appendOctets(d, m.Cipher), m.Signature)
	default:
		return d, fmt.Errorf("proto698: CONNECT-Request mechanism %d: %w", m.Kind, ErrInvalid)
	}
	return appendOptTimeTag(d, c.TimeTag), nil
}

func (r *reader) connectRequest() (APDU, error) {
	const f = "CONNECT-Request"
	c := &ConnectRequest{}
	p, err := r.u8(fn(f + ".PIID"))
	if err != nil {
		return nil, err
	}
	c.PIID = PIID(p)
	if c.ConnectParams, err = r.connectParams(f); err != nil {
		return nil, err
	}
	if c.Mechanism.Kind, err = r.u8(fn(f + ".mechanism choice")); err != nil {
		return nil, err
	}
	switch c.Mechanism.Kind {
	case ConnectNull:
	case ConnectPassword:
		var b []byte
		if b, err = r.octets(fn(f + ".password")); err == nil {
			c.Mechanism.Password = string(b)
		}
	case ConnectSymmetry, ConnectSignature:
		if c.Mechanism.Cipher, err = r.octets(fn(f + ".ciphertext")); err == nil {
			c.Mechanism.Signature, err = r.octets(fn(f + ".signature"))
		}
	default:
		return nil, ferrf(r.pos()-1, f+".mechanism choice", ErrInvalid, "choice %d (want 0..3)", c.Mechanism.Kind)
	}
	if err != nil {
		return nil, err
	}
	c.TimeTag, err = r.optTimeTag(fn(f))
	return c, err
}

func (c *ConnectResponse) appendTo(d []byte) ([]byte, error) {
	d = append(d, TagConnectResponse, byte(c.PIID))
	for i, s := range c.Factory.fields() {
		w := factoryWidths[i]
		if len(*s) > w {
			return d, fmt.Errorf("proto698: CONNECT-Response factory version field %d %q longer than %d: %w", i, *s, w, ErrInvalid)
		}
		d = append(d, *s...)
		for range w - len(*s) {
			d = append(d, ' ')
		}
	}
	d = append(c.ConnectParams.append(d), byte(c.Result))
	if c.HasSecurity {
		d = appendOctets(appendOctets(append(d, 1), c.RN), c.MAC)
	} else {
		d = append(d, 0)
	}
	return c.ServerTrailer.append(d)
}

func (r *reader) connectResponse() (APDU, error) {
	const f = "CONNECT-Response"
	c := &ConnectResponse{}
	p, err := r.u8(fn(f + ".PIID-ACD"))
	if err != nil {
		return nil, err
	}
	c.PIID = PIIDACD(p)
	for i, s := range c.Factory.fields() {
		b, err := r.bytes(factoryWidths[i], fn(f+".factory version"))
		if err != nil {
			return nil, err
		}
		*s = string(b)
	}
	if c.ConnectParams, err = r.connectParams(f); err != nil {
		return nil, err
	}
	res, err := r.u8(fn(f + ".result"))
	if err != nil {
		return nil, err
	}
	c.Result = ConnectResult(res)
	if c.HasSecurity, err = r.optional(fn(f + ".security data")); err != nil {
		return nil, err
	}
	if c.HasSecurity {
		if c.RN, err = r.octets(fn(f + ".RN")); err != nil {
			return nil, err
		}
		if c.MAC, err = r.octets(fn(f + ".MAC")); err != nil {
			return nil, err
		}
	}
	c.ServerTrailer, err = r.serverTrailer(fn(f))
	return c, err
}

func (c *ReleaseRequest) appendTo(d []byte) ([]byte, error) {
	return appendOptTimeTag(append(d, TagReleaseRequest, byte(c.PIID)), c.TimeTag), nil
}

func (r *reader) releaseRequest() (APDU, error) {
	const f = "RELEASE-Request"
	p, err := r.u8(fn(f + ".PIID"))
	if err != nil {
		return nil, err
	}
	c := &ReleaseRequest{PIID: PIID(p)}
	c.TimeTag, err = r.optTimeTag(fn(f))
	return c, err
}

func (c *ReleaseResponse) appendTo(d []byte) ([]byte, error) {
	return c.ServerTrailer.append(append(d, TagReleaseResponse, byte(c.PIID), c.Result))
}

func (r *reader) releaseResponse() (APDU, error) {
	const f = "RELEASE-Response"
	p, err := r.u8(fn(f + ".PIID-ACD"))
	if err != nil {
		return nil, err
	}
	c := &ReleaseResponse{PIID: PIIDACD(p)}
	if c.Result, err = r.u8(fn(f + ".result")); err != nil {
		return nil, err
	}
	c.ServerTrailer, err = r.serverTrailer(fn(f))
	return c, err
}
