package hplc

import "fmt"

// Node is a node (meter) address with its protocol type.
type Node struct {
	Addr     Addr  `json:"addr"`
	Protocol uint8 `json:"protocol"`
}

// AddNodes is AFN 11 F1 (down): add nodes to the module's table.
type AddNodes struct {
	Nodes []Node `json:"nodes"`
}

// AFNFn implements Payload.
func (AddNodes) AFNFn() (uint8, uint16) { return AFNRouteSet, 1 }

// AppendTo implements Payload.
func (p AddNodes) AppendTo(dst []byte) ([]byte, error) {
	if len(p.Nodes) > 255 {
		return dst, fmt.Errorf("%d nodes exceed 255: %w", len(p.Nodes), ErrLength)
	}
	dst = append(dst, byte(len(p.Nodes)))
	for _, n := range p.Nodes {
		dst = append(dst, n.Addr[:]...)
		dst = append(dst, n.Protocol)
	}
	return dst, nil
}

func decodeAddNodes(r *rd) AddNodes {
	var p AddNodes
	n := int(r.u8("node count"))
	for range n {
		if r.err != nil {
			break
		}
		p.Nodes = append(p.Nodes, Node{Addr: r.addr("node address"), Protocol: r.u8("protocol")})
	}
	return p
}

// DeleteNodes is AFN 11 F2 (down): remove nodes from the module's table.
type DeleteNodes struct {
	Addrs []Addr `json:"addrs"`
}

// AFNFn implements Payload.
func (DeleteNodes) AFNFn() (uint8, uint16) { return AFNRouteSet, 2 }

// AppendTo implements Payload.
func (p DeleteNodes) AppendTo(dst []byte) ([]byte, error) {
	if len(p.Addrs) > 255 {
		return dst, fmt.Errorf("%d nodes exceed 255: %w", len(p.Addrs), ErrLength)
	}
	dst = append(dst, byte(len(p.Addrs)))
	for _, a := range p.Addrs {
		dst = append(dst, a[:]...)
	}
	return dst, nil
}

func decodeDeleteNodes(r *rd) DeleteNodes {
	var p DeleteNodes
	n := int(r.u8("node count"))
	for range n {
		if r.err != nil {
			break
		}
		p.Addrs = append(p.Addrs, r.addr("node address"))
	}
	return p
}
