package hplc

import "fmt"

// NodeCount is AFN 10 F1 (up): nodes in the module's table and the most it
// supports.
type NodeCount struct {
	Count uint16 `json:"count"`
	Max   uint16 `json:"max"`
}

// AFNFn implements Payload.
func (NodeCount) AFNFn() (uint8, uint16) { return AFNRouteQuery, 1 }

// AppendTo implements Payload.
func (p NodeCount) AppendTo(dst []byte) ([]byte, error) {
	return appendU16(appendU16(dst, p.Count), p.Max), nil
}

// NodeInfoQuery is AFN 10 F2 (down): read Count node entries starting at
// the 1-based index Start.
type NodeInfoQuery struct {
	Start uint16 `json:"start"`
	Count uint8  `json:"count"`
}

// AFNFn implements Payload.
func (NodeInfoQuery) AFNFn() (uint8, uint16) { return AFNRouteQuery, 2 }

// AppendTo implements Payload.
func (p NodeInfoQuery) AppendTo(dst []byte) ([]byte, error) {
	return append(appendU16(dst, p.Start), p.Count), nil
}

// NodeInfo is one entry of AFN 10 F2 (up).
type NodeInfo struct {
	Addr     Addr  `json:"addr"`
	Relays   uint8 `json:"relay_level"` // D0..D3
	Quality  uint8 `json:"quality"`     // D4..D7 listening signal quality
	Phase    uint8 `json:"phase"`       // D8..D10: bit n-1 set = on phase n
	Protocol uint8 `json:"protocol"`    // D11..D13
}

// NodeInfoList is AFN 10 F2 (up): the total node count and one page of
// entries.
type NodeInfoList struct {
	Total uint16     `json:"total"`
	Nodes []NodeInfo `json:"nodes"`
}

// AFNFn implements Payload.
func (NodeInfoList) AFNFn() (uint8, uint16) { return AFNRouteQuery, 2 }

// AppendTo implements Payload.
func (p NodeInfoList) AppendTo(dst []byte) ([]byte, error) {
	if len(p.Nodes) > 255 {
		return dst, fmt.Errorf("%d nodes exceed 255: %w", len(p.Nodes), ErrLength)
	}
	dst = append(appendU16(dst, p.Total), byte(len(p.Nodes)))
	for _, n := range p.Nodes {
		if n.Relays > 15 || n.Quality > 15 || n.Phase > 7 || n.Protocol > 7 {
			return dst, fmt.Errorf("node %s info field out of range: %w", n.Addr, ErrValue)
		}
		dst = append(dst, n.Addr[:]...)
		dst = appendU16(dst, uint16(n.Relays)|uint16(n.Quality)<<4|uint16(n.Phase)<<8|uint16(n.Protocol)<<11)
	}
	return dst, nil
}

func decodeNodeInfoList(r *rd) NodeInfoList {
	p := NodeInfoList{Total: r.u16("total nodes")}
	n := int(r.u8("node count"))
	for range n {
		if r.err != nil {
			break
		}
		a := r.addr("node address")
		v := r.u16("node info")
		p.Nodes = append(p.Nodes, NodeInfo{Addr: a, Relays: uint8(v & 0x0F), Quality: uint8(v>>4) & 0x0F,
			Phase: uint8(v>>8) & 0x07, Protocol: uint8(v>>11) & 0x07})
	}
	return p
}

// RouteStatus is AFN 10 F4 (up): the router's running state.
type RouteStatus struct {
	Done            bool     `json:"done"`             // status D0: routing (reading) finished
	Working         bool     `json:"working"`          // status D1: router working
	EventPending    bool     `json:"event_pending"`    // status D2: node events to report
	ECC             uint8    `json:"ecc"`              // status D4..D7
	Total           uint16   `json:"total"`            // nodes in the table
	Read            uint16   `json:"read"`             // nodes read
	RelayRead       uint16   `json:"relay_read"`       // nodes read through relays
	Learning        bool     `json:"learning"`         // switch D0: 1 learning, 0 reading
	RegisterAllowed bool     `json:"register_allowed"` // switch D1
	Rate            uint16   `json:"rate"`
	RelayLevel      [3]uint8 `json:"relay_level"` // per phase
	Step            [3]uint8 `json:"step"`        // per phase work step
}

// AFNFn implements Payload.
func (RouteStatus) AFNFn() (uint8, uint16) { return AFNRouteQuery, 4 }

func bit(b bool, n uint) byte {
	if b {
		return 1 << n
	}
	return 0
}

// AppendTo implements Payload.
func (p RouteStatus) AppendTo(dst []byte) ([]byte, error) {
	if p.ECC > 15 {
		return dst, fmt.Errorf("ECC %d exceeds 15: %w", p.ECC, ErrValue)
	}
	dst = append(dst, bit(p.Done, 0)|bit(p.Working, 1)|bit(p.EventPending, 2)|p.ECC<<4)
	dst = appendU16(appendU16(appendU16(dst, p.Total), p.Read), p.RelayRead)
	dst = append(dst, bit(p.Learning, 0)|bit(p.RegisterAllowed, 1))
	dst = appendU16(dst, p.Rate)
	dst = append(dst, p.RelayLevel[:]...)
	return append(dst, p.Step[:]...), nil
}

func decodeRouteStatus(r *rd) RouteStatus {
	s := r.u8("status word")
	p := RouteStatus{Done: s&1 != 0, Working: s&2 != 0, EventPending: s&4 != 0, ECC: s >> 4}
	p.Total, p.Read, p.RelayRead = r.u16("total nodes"), r.u16("read nodes"), r.u16("relay-read nodes")
	w := r.u8("work switch")
	p.Learning, p.RegisterAllowed = w&1 != 0, w&2 != 0
	p.Rate = r.u16("rate")
	copy(p.RelayLevel[:], r.bytes(3, "relay levels"))
	copy(p.Step[:], r.bytes(3, "work steps"))
	return p
}
