package proto698

import "fmt"

// Verification kinds of SECURITY-Request (the data verification CHOICE).
const (
	VerifySIDMAC = 0 // SID_MAC
	VerifyRN     = 1 // random number
	VerifyRNMAC  = 2 // random number and MAC
	VerifySID    = 3 // SID
)

// SID is a security identifier: tag and additional data.
type SID struct {
	Tag  uint32
	Data []byte
}

// SecurityRequest is SECURITY-Request (0x10): an APDU in plaintext or
// ciphertext with verification information. Without an ESAM only the
// plaintext form can be unwrapped, and MACs cannot be verified.
type SecurityRequest struct {
	Cipher  bool   // application data is ciphertext (choice 1)
	Payload []byte // the wrapped APDU (plaintext) or ciphertext
	Verify  uint8  // VerifySIDMAC, VerifyRN, VerifyRNMAC or VerifySID
	SID     SID    // VerifySIDMAC, VerifySID
	RN      []byte // VerifyRN, VerifyRNMAC
	MAC     []byte // VerifySIDMAC, VerifyRNMAC
}

// Security response kinds (application data CHOICE).
const (
	SecPlain  = 0
	SecCipher = 1
	SecDAR    = 2
)

// SecurityResponse is SECURITY-Response (0x90).
type SecurityResponse struct {
	Kind    uint8 // SecPlain, SecCipher or SecDAR
	Payload []byte
	DAR     DAR
	HasMAC  bool
	MAC     []byte
}

// Service implements APDU.
func (*SecurityRequest) Service() string { return "SECURITY-Request" }

// Service implements APDU.
func (*SecurityResponse) Service() string { return "SECURITY-Response" }

// Inner decodes the wrapped plaintext APDU.
func (s *SecurityRequest) Inner() (APDU, error) {
	if s.Cipher {
		return nil, fmt.Errorf("proto698: SECURITY-Request: %w", ErrCipherNotSupported)
	}
	return DecodeAPDU(s.Payload)
}

// VerifyMAC checks the request's MAC. Without an ESAM it cannot: it
// returns ErrMACNotSupported when a MAC is present, nil when there is none.
func (s *SecurityRequest) VerifyMAC() error {
	if s.Verify == VerifySIDMAC || s.Verify == VerifyRNMAC {
		return fmt.Errorf("proto698: SECURITY-Request MAC: %w", ErrMACNotSupported)
	}
	return nil
}

// Inner decodes the wrapped plaintext APDU.
func (s *SecurityResponse) Inner() (APDU, error) {
	switch s.Kind {
	case SecPlain:
		return DecodeAPDU(s.Payload)
	case SecCipher:
		return nil, fmt.Errorf("proto698: SECURITY-Response: %w", ErrCipherNotSupported)
	}
	if err := s.DAR.Err(); err != nil {
		return nil, fmt.Errorf("proto698: SECURITY-Response: %w", err)
	}
	return nil, fmt.Errorf("proto698: SECURITY-Response: DAR choice without error: %w", ErrInvalid)
}

// VerifyMAC returns ErrMACNotSupported when the response carries a MAC.
func (s *SecurityResponse) VerifyMAC() error {
	if s.HasMAC {
		return fmt.Errorf("proto698: SECURITY-Response MAC: %w", ErrMACNotSupported)
	}
	return nil
}

func appendOctets(d, b []byte) []byte { return append(appendLength(d, len(b)), b...) }

func (s *SecurityRequest) appendTo(d []byte) ([]byte, error) {
	d = append(d, TagSecurityRequest)
	if s.Cipher {
		d = append(d, 1)
	} else {
		d = append(d, 0)
	}
	d = append(appendOctets(d, s.Payload), s.Verify)
	switch s.Verify {
	case VerifySIDMAC:
		d = appendOctets(appendU32(d, s.SID.Tag), s.SID.Data)
		d = appendOctets(d, s.MAC)
	case VerifyRN:
		d = appendOctets(d, s.RN)
	case VerifyRNMAC:
		d = appendOctets(appendOctets(d, s.RN), s.MAC)
	case VerifySID:
		d = appendOctets(appendU32(d, s.SID.Tag), s.SID.Data)
	default:
		return d, fmt.Errorf("proto698: SECURITY-Request verify choice %d: %w", s.Verify, ErrInvalid)
	}
	return d, nil
}

func (s *SecurityResponse) appendTo(d []byte) ([]byte, error) {
	d = append(d, TagSecurityResponse, s.Kind)
	switch s.Kind {
	case SecPlain, SecCipher:
		d = appendOctets(d, s.Payload)
	case SecDAR:
		d = append(d, byte(s.DAR))
	default:
		return d, fmt.Errorf("proto698: SECURITY-Response choice %d: %w", s.Kind, ErrInvalid)
	}
	if !s.HasMAC {
		return append(d, 0), nil
	}
	return appendOctets(append(d, 1, 0), s.MAC), nil
}

func (r *reader) octets(field fname) ([]byte, error) {
	n, err := r.length(field.add(".length"), 1)
	if err != nil {
		return nil, err
	}
	return r.bytes(n, field)
}

func (r *reader) sid(field fname) (SID, error) {
	t, err := r.u32(field.add(".tag"))
	if err != nil {
		return SID{}, err
	}
	b, err := r.octets(field.add(".data"))
	return SID{t, b}, err
}

func (r *reader) securityRequest() (APDU, error) {
	const f = "SECURITY-Request"
	s := &SecurityRequest{}
	ch, err := r.u8(fn(f + ".data choice"))
	if err != nil {
		return nil, err
	}
	if ch > 1 {
		return nil, ferrf(r.pos()-1, f+".data choice", ErrInvalid, "choice %d (want 0 plain, 1 cipher)", ch)
	}
	s.Cipher = ch == 1
	if s.Payload, err = r.octets(fn(f + ".data")); err != nil {
		return nil, err
	}
	if s.Verify, err = r.u8(fn(f + ".verify choice")); err != nil {
		return nil, err
	}
	switch s.Verify {
	case VerifySIDMAC:
		if s.SID, err = r.sid(fn(f + ".SID")); err == nil {
			s.MAC, err = r.octets(fn(f + ".MAC"))
		}
	case VerifyRN:
		s.RN, err = r.octets(fn(f + ".RN"))
	case VerifyRNMAC:
		if s.RN, err = r.octets(fn(f + ".RN")); err == nil {
			s.MAC, err = r.octets(fn(f + ".MAC"))
		}
	case VerifySID:
		s.SID, err = r.sid(fn(f + ".SID"))
	default:
		return nil, ferrf(r.pos()-1, f+".verify choice", ErrInvalid, "choice %d", s.Verify)
	}
	if err != nil {
		return nil, err
	}
	return s, nil
}

func (r *reader) securityResponse() (APDU, error) {
	const f = "SECURITY-Response"
	s := &SecurityResponse{}
	ch, err := r.u8(fn(f + ".data choice"))
	if err != nil {
		return nil, err
	}
	s.Kind = ch
	switch ch {
	case SecPlain, SecCipher:
		if s.Payload, err = r.octets(fn(f + ".data")); err != nil {
			return nil, err
		}
	case SecDAR:
		v, err := r.u8(fn(f + ".DAR"))
		if err != nil {
			return nil, err
		}
		s.DAR = DAR(v)
	default:
		return nil, ferrf(r.pos()-1, f+".data choice", ErrInvalid, "choice %d", ch)
	}
	if s.HasMAC, err = r.optional(fn(f + ".verify")); err != nil || !s.HasMAC {
		return s, err
	}
	mc, err := r.u8(fn(f + ".verify choice"))
	if err != nil {
		return nil, err
	}
	if mc != 0 {
		return nil, ferrf(r.pos()-1, f+".verify choice", ErrInvalid, "choice %d (want 0 MAC)", mc)
	}
	if s.MAC, err = r.octets(fn(f + ".MAC")); err != nil {
		return nil, err
	}
	return s, nil
}

// ErrorResponse is ERROR-Response (0xEE): the server could not parse the request.
type ErrorResponse struct {
	PIID PIIDACD
	DAR  DAR
}

// Service implements APDU.
func (*ErrorResponse) Service() string { return "ERROR-Response" }

func (e *ErrorResponse) appendTo(d []byte) ([]byte, error) {
	return append(d, TagErrorResponse, byte(e.PIID), byte(e.DAR)), nil
}

func (r *reader) errorResponse() (APDU, error) {
	p, err := r.u8(fn("ERROR-Response.PIID-ACD"))
	if err != nil {
		return nil, err
	}
	d, err := r.u8(fn("ERROR-Response.DAR"))
	if err != nil {
		return nil, err
	}
	return &ErrorResponse{PIIDACD(p), DAR(d)}, nil
}
