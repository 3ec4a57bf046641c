package hplc

import "fmt"

// MonitorRequest is AFN 13 F1 (down): forward Frame to a node (the frame's
// A field names source and destination) and return its answer.
type MonitorRequest struct {
	Protocol     uint8    `json:"protocol"`
	DelayRelated uint8    `json:"delay_related"` // 1 = the frame depends on transmission delay
	Attached     []Addr   `json:"attached"`      // attached (subsidiary) node addresses
	Frame        HexBytes `json:"frame"`
}

// AFNFn implements Payload.
func (MonitorRequest) AFNFn() (uint8, uint16) { return AFNRouteFwd, 1 }

// AppendTo implements Payload.
func (p MonitorRequest) AppendTo(dst []byte) ([]byte, error) {
	if len(p.Attached) > 255 {
		return dst, fmt.Errorf("%d attached nodes exceed 255: %w", len(p.Attached), ErrLength)
	}
	dst = append(dst, p.Protocol, p.DelayRelated, byte(len(p.Attached)))
	for _, a := range p.Attached {
		dst = append(dst, a[:]...)
	}
	return appendLenBytes(dst, "message", p.Frame)
}

func decodeMonitorRequest(r *rd) MonitorRequest {
	p := MonitorRequest{Protocol: r.u8("protocol"), DelayRelated: r.u8("delay flag")}
	n := int(r.u8("attached count"))
	for range n {
		if r.err != nil {
			break
		}
		p.Attached = append(p.Attached, r.addr("attached address"))
	}
	p.Frame = r.lenBytes("message length", "message")
	return p
}

// MonitorReply is AFN 13 F1 (up): the node's answer. Duration is the local
// uplink transmission time in seconds.
type MonitorReply struct {
	Duration uint16   `json:"duration_s"`
	Protocol uint8    `json:"protocol"`
	Frame    HexBytes `json:"frame"`
}

// AFNFn implements Payload.
func (MonitorReply) AFNFn() (uint8, uint16) { return AFNRouteFwd, 1 }

// AppendTo implements Payload.
func (p MonitorReply) AppendTo(dst []byte) ([]byte, error) {
	return appendLenBytes(append(appendU16(dst, p.Duration), p.Protocol), "message", p.Frame)
}
