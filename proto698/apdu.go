package proto698

import "fmt"

// APDU tags (first byte of the application-layer PDU).
const (
	TagLinkRequest        = 0x01
	TagGetRequest         = 0x05
	TagSetRequest         = 0x06
	TagActionRequest      = 0x07
	TagReportResponse     = 0x08
	TagProxyRequest       = 0x09
	TagSecurityRequest    = 0x10
	TagLinkResponse       = 0x81
	TagGetResponse        = 0x85
	TagSetResponse        = 0x86
	TagActionResponse     = 0x87
	TagReportNotification = 0x88
	TagProxyResponse      = 0x89
	TagSecurityResponse   = 0x90
	TagErrorResponse      = 0xEE
)

// APDU is a decoded application-layer PDU. The concrete types in this
// package implement it; the set is closed.
type APDU interface {
	// Service names the service, e.g. "GET-Response-Normal".
	Service() string
	appendTo(dst []byte) ([]byte, error)
}

// PIID is the invoke identifier: bit 7 priority, bits 0–5 sequence number.
type PIID uint8

// Seq returns the service sequence number (0..63).
func (p PIID) Seq() uint8 { return uint8(p) & 0x3F }

// HighPriority reports bit 7.
func (p PIID) HighPriority() bool { return p&0x80 != 0 }

// PIIDACD is PIID with bit 6 (ACD) asking the peer for follow-up reports.
type PIIDACD uint8

// Seq returns the service sequence number (0..63).
func (p PIIDACD) Seq() uint8 { return uint8(p) & 0x3F }

// HighPriority reports bit 7.
func (p PIIDACD) HighPriority() bool { return p&0x80 != 0 }

// ACD reports bit 6, the request-for-follow-report flag.
func (p PIIDACD) ACD() bool { return p&0x40 != 0 }

// DAR is a data access result (0 = success), the DL/T 698.45 enumeration
// DAR. Values and names follow the standard's table (成功, 硬件失效,
// 暂时失效, 拒绝读写, 对象未定义, 对象接口类不符合, 对象不存在, 类型不匹配,
// 越界, …), cross-checked against public 698.45 meter firmware that
// enumerates it the same way (4 对象未定义, 6 对象不存在). Before this
// table DARUndefined was 6, which the standard names "object does not
// exist" (now DARNotExist).
type DAR uint8

// DAR values from the standard.
const (
	DARSuccess          DAR = 0   // 成功
	DARHardware         DAR = 1   // 硬件失效
	DARTemporary        DAR = 2   // 暂时失效: temporarily unavailable (busy)
	DARReadDenied       DAR = 3   // 拒绝读写: read/write denied
	DARUndefined        DAR = 4   // 对象未定义: object undefined
	DARClassMismatch    DAR = 5   // 对象接口类不符合: interface class mismatch
	DARNotExist         DAR = 6   // 对象不存在: object does not exist
	DARTypeMismatch     DAR = 7   // 类型不匹配
	DAROutOfRange       DAR = 8   // 越界
	DARBlockUnavailable DAR = 9   // 数据块不可用
	DARUnauthorized     DAR = 15  // 密码错/未授权
	DARSecurityMismatch DAR = 20  // 安全认证不匹配
	DARAddressAbnormal  DAR = 27  // 地址异常
	DARTimeTagInvalid   DAR = 32  // 时间标签无效
	DARRequestTimeout   DAR = 33  // 请求超时
	DAROther            DAR = 255 // 其它
)

// darNames are the standard's DAR texts in English, indexed by value.
var darNames = [...]string{
	"success", "hardware failure", "temporarily unavailable", "read/write denied",
	"object undefined", "interface class mismatch", "object does not exist",
	"type mismatch", "out of range", "data block unavailable",
	"fragmented transfer cancelled", "not in fragmented transfer", "block write cancelled",
	"no block write in progress", "invalid data block number", "password error or unauthorised",
	"baud rate cannot be changed", "too many yearly time zones", "too many daily periods",
	"too many tariffs", "security authentication mismatch", "duplicate recharge",
	"ESAM verification failed", "security authentication failed", "customer number mismatch",
	"wrong recharge count", "purchase exceeds hoarding limit", "address abnormal",
	"symmetric decryption error", "asymmetric decryption error", "signature error",
	"meter suspended", "time tag invalid", "request timed out", "ESAM P1P2 incorrect",
	"ESAM LC incorrect", "comparison failed",
}

// String implements fmt.Stringer with the standard's name of the result.
func (d DAR) String() string {
	if int(d) < len(darNames) {
		return darNames[d]
	}
	if d == DAROther {
		return "other"
	}
	return fmt.Sprintf("DAR %d", uint8(d))
}

// DARError is a data access result other than success as an error. It
// matches ErrDAR with errors.Is; errors.As recovers the DAR.
type DARError struct{ DAR DAR }

// Error implements error.
func (e *DARError) Error() string {
	return fmt.Sprintf("%v: %s (%d)", ErrDAR, e.DAR, uint8(e.DAR))
}

// Is reports whether target is ErrDAR.
func (e *DARError) Is(target error) bool { return target == ErrDAR }

// Err returns nil for success and otherwise a *DARError (which wraps ErrDAR).
func (d DAR) Err() error {
	if d == DARSuccess {
		return nil
	}
	return &DARError{DAR: d}
}

// TimeTag is the optional time tag of client and server APDUs: send time
// and the allowed transmission delay.
type TimeTag struct {
	Send  DateTimeS
	Delay TI
}

// ResultNormal is A-ResultNormal: an OAD with its Data, or a DAR when Data is nil.
type ResultNormal struct {
	OAD  OAD
	Data Data // nil: the result is DAR
	DAR  DAR
}

// ResultRecord is A-ResultRecord: OAD, column selection, and either record
// rows (one Data per RCSD column) or a DAR when IsDAR.
type ResultRecord struct {
	OAD   OAD
	RCSD  RCSD
	IsDAR bool
	DAR   DAR
	Rows  [][]Data
}

// FollowReport is the server APDU's optional follow-up report: normal
// results (Kind 1) or record results (Kind 2).
type FollowReport struct {
	Kind    uint8
	Results []ResultNormal
	Records []ResultRecord
}

// ServerTrailer holds the optional fields every server APDU ends with.
type ServerTrailer struct {
	FollowReport *FollowReport
	TimeTag      *TimeTag
}

// AppendAPDU appends the encoded APDU.
func AppendAPDU(dst []byte, a APDU) ([]byte, error) {
	if a == nil {
		return dst, fmt.Errorf("proto698: nil APDU: %w", ErrInvalid)
	}
	return a.appendTo(dst)
}

// EncodeAPDU returns the encoded APDU.
func EncodeAPDU(a APDU) ([]byte, error) { return AppendAPDU(nil, a) }

// DecodeAPDU decodes a complete APDU; trailing bytes are an error. Errors
// are *FrameError with offsets relative to b.
func DecodeAPDU(b []byte) (APDU, error) { return decodeAPDUAt(b, 0) }

// decodeAPDUAt decodes with error offsets shifted by base (the APDU's
// position in an enclosing frame).
func decodeAPDUAt(b []byte, base int) (APDU, error) {
	r := &reader{b: b, base: base}
	a, err := r.apdu()
	if err != nil {
		return nil, err
	}
	if err := r.done(fn(a.Service())); err != nil {
		return nil, err
	}
	return a, nil
}

func (r *reader) apdu() (APDU, error) {
	tag, err := r.u8(fn("APDU tag"))
	if err != nil {
		return nil, err
	}
	switch tag {
	case TagLinkRequest:
		return r.linkRequest()
	case TagLinkResponse:
		return r.linkResponse()
	case TagConnectRequest:
		return r.connectRequest()
	case TagConnectResponse:
		return r.connectResponse()
	case TagReleaseRequest:
		return r.releaseRequest()
	case TagReleaseResponse:
		return r.releaseResponse()
	case TagGetRequest, TagGetResponse, TagSetRequest, TagSetResponse, TagActionRequest,
		TagActionResponse, TagReportNotification, TagReportResponse, TagProxyRequest, TagProxyResponse:
		return r.choiceAPDU(tag)
	case TagSecurityRequest:
		return r.securityRequest()
	case TagSecurityResponse:
		return r.securityResponse()
	case TagErrorResponse:
		return r.errorResponse()
	}
	return nil, ferrf(r.pos()-1, "APDU tag", ErrUnsupported, "APDU 0x%02X", tag)
}

func (r *reader) choiceAPDU(tag uint8) (APDU, error) {
	chOff := r.pos()
	ch, err := r.u8(fn("APDU choice"))
	if err != nil {
		return nil, err
	}
	switch uint16(tag)<<8 | uint16(ch) {
	case 0x0501:
		return r.getRequestNormal()
	case 0x0502:
		return r.getRequestNormalList()
	case 0x8501:
		return r.getResponseNormal()
	case 0x8502:
		return r.getResponseNormalList()
	case 0x0505:
		return r.getRequestNext()
	case 0x8505:
		return r.getResponseNext()
	case 0x0601:
		return r.setRequestNormal()
	case 0x8601:
		return r.setResponseNormal()
	case 0x0602:
		return r.setRequestNormalList()
	case 0x8602:
		return r.setResponseNormalList()
	case 0x0701:
		return r.actionRequestNormal()
	case 0x8701:
		return r.actionResponseNormal()
	case 0x8801:
		return r.reportNotificationList()
	case 0x0801:
		return r.reportResponseList()
	case 0x8802:
		return r.reportNotificationRecordList()
	case 0x0802:
		return r.reportResponseRecordList()
	case 0x0907:
		return r.proxyTransCommandRequest()
	case 0x8907:
		return r.proxyTransCommandResponse()
	}
	if isRequestTag(tag) {
		// Recognised as a request, not decoded: enough to answer it.
		return r.unsupportedRequest(tag, ch)
	}
	return nil, ferrf(chOff, "APDU choice", ErrUnsupported, "service 0x%02X choice %d", tag, ch)
}

// --- shared pieces ---

func appendOptTimeTag(d []byte, tt *TimeTag) []byte {
	if tt == nil {
		return append(d, 0)
	}
	d, _ = tt.Send.appendValue(append(d, 1))
	d, _ = tt.Delay.appendValue(d)
	return d
}

func (r *reader) optTimeTag(field fname) (*TimeTag, error) {
	p, err := r.optional(field.add(".TimeTag"))
	if err != nil || !p {
		return nil, err
	}
	s, err := r.dateTimeS(field.add(".TimeTag.send"))
	if err != nil {
		return nil, err
	}
	ti, err := r.ti(field.add(".TimeTag.delay"))
	if err != nil {
		return nil, err
	}
	return &TimeTag{Send: s, Delay: ti}, nil
}

// optional reads an OPTIONAL marker (0 absent, 1 present).
func (r *reader) optional(field fname) (bool, error) {
	v, err := r.u8(field)
	if err != nil {
		return false, err
	}
	if v > 1 {
		return false, ferrf(r.pos()-1, field.String(), ErrInvalid, "OPTIONAL marker 0x%02X", v)
	}
	return v == 1, nil
}

func (t *ServerTrailer) append(d []byte) ([]byte, error) {
	if t.FollowReport == nil {
		d = append(d, 0)
	} else {
		fr := t.FollowReport
		d = append(d, 1, fr.Kind)
		var err error
		switch fr.Kind {
		case 1:
			d = appendLength(d, len(fr.Results))
			for i := range fr.Results {
				if d, err = fr.Results[i].append(d); err != nil {
					return d, err
				}
			}
		case 2:
			d = appendLength(d, len(fr.Records))
			for i := range fr.Records {
				if d, err = fr.Records[i].append(d); err != nil {
					return d, err
				}
			}
		default:
			return d, fmt.Errorf("proto698: FollowReport kind %d: %w", fr.Kind, ErrInvalid)
		}
	}
	return appendOptTimeTag(d, t.TimeTag), nil
}

func (r *reader) serverTrailer(field fname) (ServerTrailer, error) {
	var t ServerTrailer
	p, err := r.optional(field.add(".FollowReport"))
	if err != nil {
		return t, err
	}
	if p {
		fr := &FollowReport{}
		k, err := r.u8(field.add(".FollowReport.choice"))
		if err != nil {
			return t, err
		}
		fr.Kind = k
		switch k {
		case 1:
			n, err := r.length(field.add(".FollowReport.count"), 5)
			if err != nil {
				return t, err
			}
			fr.Results = make([]ResultNormal, n)
			for i := range fr.Results {
				if fr.Results[i], err = r.resultNormal(field.add(".FollowReport")); err != nil {
					return t, err
				}
			}
		case 2:
			n, err := r.length(field.add(".FollowReport.count"), 6)
			if err != nil {
				return t, err
			}
			fr.Records = make([]ResultRecord, n)
			for i := range fr.Records {
				if fr.Records[i], err = r.resultRecord(field.add(".FollowReport")); err != nil {
					return t, err
				}
			}
		default:
			return t, ferrf(r.pos()-1, field.add(".FollowReport.choice").String(), ErrInvalid, "choice %d", k)
		}
		t.FollowReport = fr
	}
	t.TimeTag, err = r.optTimeTag(field)
	return t, err
}

func (res *ResultNormal) append(d []byte) ([]byte, error) {
	d, _ = res.OAD.appendValue(d)
	if res.Data == nil {
		return append(d, 0, byte(res.DAR)), nil
	}
	return AppendData(append(d, 1), res.Data)
}

func (r *reader) resultNormal(field fname) (ResultNormal, error) {
	var res ResultNormal
	var err error
	if res.OAD, err = r.oad(field.add(".OAD")); err != nil {
		return res, err
	}
	ch, err := r.u8(field.add(".result choice"))
	if err != nil {
		return res, err
	}
	switch ch {
	case 0:
		v, err := r.u8(field.add(".DAR"))
		res.DAR = DAR(v)
		return res, err
	case 1:
		res.Data, err = r.data(field.add(".Data"))
		return res, err
	}
	return res, ferrf(r.pos()-1, field.add(".result choice").String(), ErrInvalid, "choice %d (want 0 DAR or 1 Data)", ch)
}

func (rec *ResultRecord) append(d []byte) ([]byte, error) {
	d, _ = rec.OAD.appendValue(d)
	d, _ = rec.RCSD.appendValue(d)
	if rec.IsDAR {
		return append(d, 0, byte(rec.DAR)), nil
	}
	d = appendLength(append(d, 1), len(rec.Rows))
	var err error
	for i, row := range rec.Rows {
		if len(row) != len(rec.RCSD) {
			return d, fmt.Errorf("proto698: record row %d has %d columns, RCSD names %d: %w", i, len(row), len(rec.RCSD), ErrInvalid)
		}
		for _, v := range row {
			if d, err = AppendData(d, v); err != nil {
				return d, err
			}
		}
	}
	return d, nil
}

func (r *reader) resultRecord(field fname) (ResultRecord, error) {
	var rec ResultRecord
	var err error
	if rec.OAD, err = r.oad(field.add(".OAD")); err != nil {
		return rec, err
	}
	if rec.RCSD, err = r.rcsd(field.add(".RCSD")); err != nil {
		return rec, err
	}
	ch, err := r.u8(field.add(".record choice"))
	if err != nil {
		return rec, err
	}
	switch ch {
	case 0:
		v, err := r.u8(field.add(".DAR"))
		rec.IsDAR, rec.DAR = true, DAR(v)
		return rec, err
	case 1:
	default:
		return rec, ferrf(r.pos()-1, field.add(".record choice").String(), ErrInvalid, "choice %d (want 0 DAR or 1 records)", ch)
	}
	cols := len(rec.RCSD)
	per := max(cols, 1)
	n, err := r.length(field.add(".row count"), per)
	if err != nil {
		return rec, err
	}
	if cols == 0 && n > 0 {
		return rec, r.errf(field.add(".row count"), ErrInvalid, "%d rows with no columns", n)
	}
	rec.Rows = make([][]Data, n)
	for i := range rec.Rows {
		row := make([]Data, cols)
		for j := range row {
			if row[j], err = r.data(field.add(".row")); err != nil {
				return rec, err
			}
		}
		rec.Rows[i] = row
	}
	return rec, nil
}
