package proto698

import (
	"encoding/hex"
	"fmt"
	"math"
)

// FrameDescription is a JSON-friendly view of one frame: every header
// field, the fragment header when present, and the decoded APDU.
type FrameDescription struct {
	Protocol      string               `json:"protocol"`
	Preamble      int                  `json:"preamble,omitempty"`
	Length        int                  `json:"length"`
	Control       ControlDescription   `json:"control"`
	Address       AddressDescription   `json:"server_address"`
	ClientAddress uint8                `json:"client_address"`
	HCS           string               `json:"hcs"`
	FCS           string               `json:"fcs"`
	Fragment      *FragmentDescription `json:"fragment,omitempty"`
	UserData      string               `json:"user_data"`
	APDU          map[string]any       `json:"apdu,omitempty"`
}

// ControlDescription breaks out the control byte.
type ControlDescription struct {
	Raw       string `json:"raw"`
	Dir       string `json:"dir"`
	PRM       int    `json:"prm"`
	Fragment  bool   `json:"fragment"`
	Scrambled bool   `json:"scrambled"`
	Function  string `json:"function"`
}

// AddressDescription breaks out AF and SA.
type AddressDescription struct {
	Type       string `json:"type"`
	Logical    uint8  `json:"logical"`
	ExtLogical *uint8 `json:"extended_logical,omitempty"`
	Length     int    `json:"length"`
	SA         string `json:"sa"`
}

// FragmentDescription breaks out the fragment format field.
type FragmentDescription struct {
	Seq      uint16 `json:"seq"`
	Type     string `json:"type"`
	Reserved uint8  `json:"reserved,omitempty"`
}

// Describe decodes exactly one frame (FE preambles allowed) and returns a
// *FrameDescription ready for encoding/json. Errors are *FrameError naming
// the field and its byte offset in frame, APDU errors included.
func Describe(frame []byte) (*FrameDescription, error) {
	f, n, err := DecodeFrame(frame)
	if err != nil {
		return nil, err
	}
	if n != len(frame) {
		return nil, ferrf(n, "after end", ErrTrailing, "%d bytes after the frame", len(frame)-n)
	}
	c := f.Control
	d := &FrameDescription{
		Protocol: "DL/T 698.45",
		Preamble: f.Preamble,
		Length:   int(f.Length),
		Control: ControlDescription{
			Raw: fmt.Sprintf("%02X", uint8(c)), Dir: "client-to-server", PRM: b2i(c.PRM()),
			Fragment: c.Fragmented(), Scrambled: c.Scrambled(), Function: c.Function().String(),
		},
		Address: AddressDescription{
			Type: f.Addr.Type.String(), Logical: f.Addr.Logical, Length: int(f.Addr.Len), SA: f.Addr.String(),
		},
		ClientAddress: f.Client,
		HCS:           fmt.Sprintf("%04X", f.HCS),
		FCS:           fmt.Sprintf("%04X", f.FCS),
		UserData:      hex.EncodeToString(f.Data),
	}
	if c.FromServer() {
		d.Control.Dir = "server-to-client"
	}
	if f.Addr.Extended {
		v := f.Addr.ExtLogical
		d.Address.ExtLogical = &v
	}
	if c.Fragmented() {
		d.Fragment = &FragmentDescription{Seq: f.Frag.Seq, Type: f.Frag.Type.String(), Reserved: f.Frag.Reserved}
		return d, nil // a fragment is not a complete APDU
	}
	base := f.Preamble + f.headerLen()
	a, err := decodeAPDUAt(f.Data, base)
	if err != nil {
		return nil, err
	}
	d.APDU = DescribeAPDU(a)
	return d, nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// String implements fmt.Stringer.
func (f Function) String() string {
	switch f {
	case FuncLink:
		return "link management"
	case FuncUserData:
		return "user data"
	}
	return fmt.Sprintf("function %d", uint8(f))
}

// DescribeAPDU returns a JSON-friendly map of a decoded APDU.
func DescribeAPDU(a APDU) map[string]any {
	m := map[string]any{"service": a.Service()}
	switch v := a.(type) {
	case *LinkRequest:
		m["piid_acd"] = piidACD(v.PIID)
		m["type"] = v.Type.String()
		m["heartbeat_s"] = v.Heartbeat
		m["time"] = v.Time.String()
	case *LinkResponse:
		m["piid"] = piid(v.PIID)
		m["result"] = v.Result & 7
		m["clock_trusted"] = v.ClockTrusted()
		m["request_time"] = v.RequestTime.String()
		m["receive_time"] = v.ReceiveTime.String()
		m["response_time"] = v.ResponseTime.String()
	case *GetRequestNormal:
		m["piid"] = piid(v.PIID)
		m["oad"] = v.OAD.String()
		if n := ObjectName(v.OAD.OI); n != "" {
			m["object"] = n
		}
		timeTag(m, v.TimeTag)
	case *GetRequestNormalList:
		m["piid"] = piid(v.PIID)
		m["oads"] = oads(v.OADs)
		timeTag(m, v.TimeTag)
	case *GetResponseNormal:
		m["piid_acd"] = piidACD(v.PIID)
		m["result"] = resultNormal(v.Result)
		trailer(m, v.ServerTrailer)
	case *GetResponseNormalList:
		m["piid_acd"] = piidACD(v.PIID)
		m["results"] = resultNormals(v.Results)
		trailer(m, v.ServerTrailer)
	case *SetRequestNormal:
		m["piid"] = piid(v.PIID)
		m["oad"] = v.OAD.String()
		m["value"] = DescribeData(v.Value)
		timeTag(m, v.TimeTag)
	case *SetResponseNormal:
		m["piid_acd"] = piidACD(v.PIID)
		m["oad"] = v.OAD.String()
		m["dar"] = dar(v.DAR)
		trailer(m, v.ServerTrailer)
	case *ActionRequestNormal:
		m["piid"] = piid(v.PIID)
		m["omd"] = v.OMD.String()
		m["param"] = DescribeData(v.Param)
		timeTag(m, v.TimeTag)
	case *ActionResponseNormal:
		m["piid_acd"] = piidACD(v.PIID)
		m["omd"] = v.OMD.String()
		m["dar"] = dar(v.DAR)
		if v.Return != nil {
			m["return"] = DescribeData(v.Return)
		}
		trailer(m, v.ServerTrailer)
	case *ReportNotificationList:
		m["piid_acd"] = piidACD(v.PIID)
		m["results"] = resultNormals(v.Results)
		trailer(m, v.ServerTrailer)
	case *ReportResponseList:
		reportResponse(m, v.PIID, v.OADs, v.TimeTag)
	case *ReportNotificationRecordList:
		m["piid_acd"] = piidACD(v.PIID)
		m["records"] = records(v.Records)
		trailer(m, v.ServerTrailer)
	case *ReportResponseRecordList:
		reportResponse(m, v.PIID, v.OADs, v.TimeTag)
	case *ProxyTransCommandRequest:
		m["piid"] = piid(v.PIID)
		m["port"] = v.Port.String()
		m["comdcb"] = DescribeData(v.DCB)["value"]
		m["frame_timeout_s"] = v.FrameTimeout
		m["byte_timeout_ms"] = v.ByteTimeout
		m["command"] = hex.EncodeToString(v.Command)
		timeTag(m, v.TimeTag)
	case *ProxyTransCommandResponse:
		m["piid_acd"] = piidACD(v.PIID)
		m["port"] = v.Port.String()
		if v.IsDAR {
			m["dar"] = dar(v.DAR)
		} else {
			m["answer"] = hex.EncodeToString(v.Answer)
		}
		trailer(m, v.ServerTrailer)
	case *SecurityRequest:
		m["cipher"] = v.Cipher
		m["payload"] = hex.EncodeToString(v.Payload)
		m["verify"] = []string{"SID_MAC", "RN", "RN_MAC", "SID"}[v.Verify&3]
		if v.RN != nil {
			m["rn"] = hex.EncodeToString(v.RN)
		}
		if v.MAC != nil {
			m["mac"] = hex.EncodeToString(v.MAC)
		}
		if v.Verify == VerifySID || v.Verify == VerifySIDMAC {
			m["sid"] = map[string]any{"tag": fmt.Sprintf("%08X", v.SID.Tag), "data": hex.EncodeToString(v.SID.Data)}
		}
		innerDesc(m, v.Inner)
	case *SecurityResponse:
		m["kind"] = []string{"plain", "cipher", "DAR"}[min(v.Kind, 2)]
		if v.Kind == SecDAR {
			m["dar"] = dar(v.DAR)
		} else {
			m["payload"] = hex.EncodeToString(v.Payload)
		}
		if v.HasMAC {
			m["mac"] = hex.EncodeToString(v.MAC)
		}
		innerDesc(m, v.Inner)
	case *ErrorResponse:
		m["piid_acd"] = piidACD(v.PIID)
		m["dar"] = dar(v.DAR)
		m["error_type"] = map[string]any{"code": uint8(v.DAR), "text": errorTypeText(v.DAR)}
	default:
		describeConnection(m, a)
	}
	return m
}

// describeConnection describes the CONNECT, RELEASE, GET-Next, SET-List
// and not-decoded request APDUs.
func describeConnection(m map[string]any, a APDU) {
	switch v := a.(type) {
	case *ConnectRequest:
		m["piid"] = piid(v.PIID)
		connectParams(m, v.ConnectParams)
		mech := map[string]any{"kind": []string{"null", "password", "symmetric", "signature"}[v.Mechanism.Kind&3]}
		switch v.Mechanism.Kind {
		case ConnectPassword:
			mech["password_length"] = len(v.Mechanism.Password) // never printed
		case ConnectSymmetry, ConnectSignature:
			mech["ciphertext"] = hex.EncodeToString(v.Mechanism.Cipher)
			mech["signature"] = hex.EncodeToString(v.Mechanism.Signature)
		}
		m["mechanism"] = mech
		timeTag(m, v.TimeTag)
	case *ConnectResponse:
		m["piid_acd"] = piidACD(v.PIID)
		f := v.Factory
		m["factory"] = map[string]any{"vendor": f.Vendor, "software_version": f.SoftwareVersion, "software_date": f.SoftwareDate,
			"hardware_version": f.HardwareVersion, "hardware_date": f.HardwareDate, "extension": f.Extension}
		connectParams(m, v.ConnectParams)
		m["result"] = map[string]any{"code": uint8(v.Result), "text": v.Result.String()}
		if v.HasSecurity {
			m["rn"] = hex.EncodeToString(v.RN)
			m["mac"] = hex.EncodeToString(v.MAC)
		}
		trailer(m, v.ServerTrailer)
	case *ReleaseRequest:
		m["piid"] = piid(v.PIID)
		timeTag(m, v.TimeTag)
	case *ReleaseResponse:
		m["piid_acd"] = piidACD(v.PIID)
		m["result"] = v.Result
		trailer(m, v.ServerTrailer)
	case *GetRequestNext:
		m["piid"] = piid(v.PIID)
		m["last_block"] = v.LastBlock
		timeTag(m, v.TimeTag)
	case *GetResponseNext:
		m["piid_acd"] = piidACD(v.PIID)
		m["last"] = v.Last
		m["block"] = v.Block
		m["dar"] = dar(v.DAR)
		trailer(m, v.ServerTrailer)
	case *SetRequestNormalList:
		m["piid"] = piid(v.PIID)
		items := make([]any, len(v.Items))
		for i, it := range v.Items {
			items[i] = map[string]any{"oad": it.OAD.String(), "data": DescribeData(it.Value)}
		}
		m["items"] = items
		timeTag(m, v.TimeTag)
	case *SetResponseNormalList:
		m["piid_acd"] = piidACD(v.PIID)
		rs := make([]any, len(v.Results))
		for i, r := range v.Results {
			rs[i] = map[string]any{"oad": r.OAD.String(), "dar": dar(r.DAR)}
		}
		m["results"] = rs
		trailer(m, v.ServerTrailer)
	case *UnsupportedRequest:
		m["piid"] = piid(v.PIID)
		m["decoded"] = false
		m["body"] = hex.EncodeToString(v.Raw[3:])
	}
}

func connectParams(m map[string]any, p ConnectParams) {
	m["version"] = p.Version
	m["protocol_conformance"] = hex.EncodeToString(p.Protocol[:])
	m["function_conformance"] = hex.EncodeToString(p.Function[:])
	m["send_max"] = p.SendMax
	m["recv_max"] = p.RecvMax
	m["recv_window"] = p.RecvWindow
	m["apdu_max"] = p.APDUMax
	m["timeout_s"] = p.Timeout
}

func innerDesc(m map[string]any, inner func() (APDU, error)) {
	a, err := inner()
	if err != nil {
		m["inner_error"] = err.Error()
		return
	}
	m["inner"] = DescribeAPDU(a)
}

func piid(p PIID) map[string]any {
	return map[string]any{"raw": uint8(p), "seq": p.Seq(), "high_priority": p.HighPriority()}
}

func piidACD(p PIIDACD) map[string]any {
	return map[string]any{"raw": uint8(p), "seq": p.Seq(), "high_priority": p.HighPriority(), "acd": p.ACD()}
}

func dar(d DAR) map[string]any { return map[string]any{"code": uint8(d), "text": d.String()} }

func oads(os []OAD) []string {
	out := make([]string, len(os))
	for i, o := range os {
		out[i] = o.String()
	}
	return out
}

func timeTag(m map[string]any, tt *TimeTag) {
	if tt != nil {
		m["time_tag"] = map[string]any{"send": tt.Send.String(), "delay": DescribeData(tt.Delay)["value"]}
	}
}

func trailer(m map[string]any, t ServerTrailer) {
	if t.FollowReport != nil {
		fr := map[string]any{"kind": t.FollowReport.Kind}
		if t.FollowReport.Kind == 1 {
			rs := make([]any, len(t.FollowReport.Results))
			for i := range rs {
				rs[i] = resultNormal(t.FollowReport.Results[i])
			}
			fr["results"] = rs
		} else {
			fr["records"] = records(t.FollowReport.Records)
		}
		m["follow_report"] = fr
	}
	timeTag(m, t.TimeTag)
}

// reportResponse describes the body the REPORT-Response services share.
func reportResponse(m map[string]any, p PIID, os []OAD, tt *TimeTag) {
	m["piid"] = piid(p)
	m["oads"] = oads(os)
	timeTag(m, tt)
}

func resultNormals(rs []ResultNormal) []any {
	out := make([]any, len(rs))
	for i := range rs {
		out[i] = resultNormal(rs[i])
	}
	return out
}

func resultNormal(r ResultNormal) map[string]any {
	m := map[string]any{"oad": r.OAD.String()}
	if n := ObjectName(r.OAD.OI); n != "" {
		m["object"] = n
	}
	if r.Data == nil {
		m["dar"] = dar(r.DAR)
	} else {
		m["data"] = DescribeData(r.Data)
		describeScaled(m, r.OAD, r.Data)
	}
	return m
}

func records(rs []ResultRecord) []any {
	out := make([]any, len(rs))
	for i, r := range rs {
		cols := make([]any, len(r.RCSD))
		for j, c := range r.RCSD {
			cols[j] = DescribeData(c)["value"]
		}
		m := map[string]any{"oad": r.OAD.String(), "rcsd": cols}
		if n := ObjectName(r.OAD.OI); n != "" {
			m["object"] = n
		}
		if r.IsDAR {
			m["dar"] = dar(r.DAR)
		} else {
			rows := make([]any, len(r.Rows))
			for k, row := range r.Rows {
				cells := make([]any, len(row))
				for j, v := range row {
					cells[j] = DescribeData(v)
				}
				rows[k] = cells
			}
			m["rows"] = rows
		}
		out[i] = m
	}
	return out
}

// DescribeData returns {"type": name, "value": ...} for one value; arrays
// and structures nest.
func DescribeData(d Data) map[string]any {
	if d == nil {
		return map[string]any{"type": "absent"}
	}
	var v any
	switch x := d.(type) {
	case Null:
		v = nil
	case Array:
		v = describeItems(x)
	case Structure:
		v = describeItems(x)
	case BitString:
		s := make([]byte, x.Len)
		for i := range s {
			s[i] = '0' + x.Bits[i/8]>>(7-i%8)&1
		}
		v = string(s)
	case OctetString:
		v = hex.EncodeToString(x)
	case MAC:
		v = hex.EncodeToString(x)
	case RN:
		v = hex.EncodeToString(x)
	case VisibleString:
		v = string(x)
	case UTF8String:
		v = string(x)
	case DateTime, DateTimeS, OAD, OMD:
		v = fmt.Sprint(x)
	case Date:
		v = fmt.Sprintf("%04d-%02d-%02d wk%d", x.Year, x.Month, x.Day, x.Weekday)
	case Time:
		v = fmt.Sprintf("%02d:%02d:%02d", x.Hour, x.Minute, x.Second)
	case OI:
		v = fmt.Sprintf("%04X", uint16(x))
	case ROAD:
		v = map[string]any{"oad": x.OAD.String(), "assoc": oads(x.Assoc)}
	case TI:
		v = map[string]any{"unit": x.Unit, "interval": x.Interval}
	case TSA:
		v = map[string]any{"flags": x.Flags, "addr": hex.EncodeToString(x.Addr)}
	case ScalerUnit:
		v = map[string]any{"scaler": x.Scaler, "unit": x.Unit}
	case CSD:
		if x.IsROAD {
			v = map[string]any{"road": DescribeData(x.ROAD)["value"]}
		} else {
			v = map[string]any{"oad": x.OAD.String()}
		}
	case RCSD:
		cs := make([]any, len(x))
		for i, c := range x {
			cs[i] = DescribeData(c)["value"]
		}
		v = cs
	case COMDCB:
		v = map[string]any{"baud": x.Baud, "parity": x.Parity, "data_bits": x.DataBits, "stop_bits": x.StopBits, "flow": x.Flow}
	case Float32:
		v = jsonFloat(float64(x))
	case Float64:
		v = jsonFloat(float64(x))
	default: // integers, bool, enum
		v = x
	}
	return map[string]any{"type": d.Type().String(), "value": v}
}

// jsonFloat keeps NaN and infinities representable in JSON.
func jsonFloat(f float64) any {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return fmt.Sprint(f)
	}
	return f
}

func describeItems(items []Data) []any {
	out := make([]any, len(items))
	for i, it := range items {
		out[i] = DescribeData(it)
	}
	return out
}
