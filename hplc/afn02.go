package hplc

// Forward is AFN 02 F1 (data forward) in either direction: a protocol type
// and the frame carried transparently.
type Forward struct {
	Protocol uint8    `json:"protocol"`
	Frame    HexBytes `json:"frame"`
}

// AFNFn implements Payload.
func (Forward) AFNFn() (uint8, uint16) { return AFNForward, 1 }

// AppendTo implements Payload.
func (p Forward) AppendTo(dst []byte) ([]byte, error) {
	return appendLenBytes(append(dst, p.Protocol), "message", p.Frame)
}
