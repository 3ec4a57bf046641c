package hplc

import "fmt"

// ReportedNode is one node in an AFN 06 F1 report.
type ReportedNode struct {
	Addr     Addr   `json:"addr"`
	Protocol uint8  `json:"protocol"`
	Index    uint16 `json:"index"`
}

// NodeReport is AFN 06 F1 (up): the module reports nodes it found.
type NodeReport struct {
	Nodes []ReportedNode `json:"nodes"`
}

// AFNFn implements Payload.
func (NodeReport) AFNFn() (uint8, uint16) { return AFNReport, 1 }

// AppendTo implements Payload.
func (p NodeReport) AppendTo(dst []byte) ([]byte, error) {
	if len(p.Nodes) > 255 {
		return dst, fmt.Errorf("%d nodes exceed 255: %w", len(p.Nodes), ErrLength)
	}
	dst = append(dst, byte(len(p.Nodes)))
	for _, n := range p.Nodes {
		dst = append(dst, n.Addr[:]...)
		dst = append(dst, n.Protocol)
		dst = appendU16(dst, n.Index)
	}
	return dst, nil
}

func decodeNodeReport(r *rd) NodeReport {
	var p NodeReport
	n := int(r.u8("node count"))
	for range n {
		if r.err != nil {
			break
		}
		p.Nodes = append(p.Nodes, ReportedNode{Addr: r.addr("node address"), Protocol: r.u8("protocol"), Index: r.u16("node index")})
	}
	return p
}

// ReadReport is AFN 06 F2 (up): a meter reading collected by the router.
type ReadReport struct {
	Index    uint16   `json:"index"`
	Protocol uint8    `json:"protocol"`
	Duration uint16   `json:"duration_s"`
	Frame    HexBytes `json:"frame"`
}

// AFNFn implements Payload.
func (ReadReport) AFNFn() (uint8, uint16) { return AFNReport, 2 }

// AppendTo implements Payload.
func (p ReadReport) AppendTo(dst []byte) ([]byte, error) {
	dst = appendU16(dst, p.Index)
	dst = append(dst, p.Protocol)
	dst = appendU16(dst, p.Duration)
	return appendLenBytes(dst, "message", p.Frame)
}

func decodeReadReport(r *rd) ReadReport {
	p := ReadReport{Index: r.u16("node index"), Protocol: r.u8("protocol"), Duration: r.u16("duration")}
	p.Frame = r.lenBytes("message length", "message")
	return p
}

// Route-change statuses of AFN 06 F3.
const (
	RouteReadingDone = 1
	RouteSearchDone  = 2
)

// RouteChange is AFN 06 F3 (up): the router's work state changed.
type RouteChange struct {
	Status uint8 `json:"status"`
}

// AFNFn implements Payload.
func (RouteChange) AFNFn() (uint8, uint16) { return AFNReport, 3 }

// AppendTo implements Payload.
func (p RouteChange) AppendTo(dst []byte) ([]byte, error) { return append(dst, p.Status), nil }

// EventReport is AFN 06 F5 (up): a node reported an event (e.g. a meter's
// active-report frame).
type EventReport struct {
	DeviceType uint8    `json:"device_type"`
	Protocol   uint8    `json:"protocol"`
	Frame      HexBytes `json:"frame"`
}

// AFNFn implements Payload.
func (EventReport) AFNFn() (uint8, uint16) { return AFNReport, 5 }

// AppendTo implements Payload.
func (p EventReport) AppendTo(dst []byte) ([]byte, error) {
	return appendLenBytes(append(dst, p.DeviceType, p.Protocol), "message", p.Frame)
}
