package hplc

// Communication modes (C bits D5..D0).
const (
	ModeNarrowband  = 1  // centralised-routing narrowband carrier
	ModeDistributed = 2  // distributed-routing narrowband carrier
	ModeHPLC        = 3  // broadband (HPLC) carrier
	ModeWireless    = 10 // micro-power wireless
	ModeEthernet    = 20 // Ethernet
)

// Control is the control field C: D7 DIR (0 concentrator → module, 1
// module → concentrator), D6 PRM (1 = sent by the initiator), D5..D0 the
// communication mode.
type Control struct {
	Up      bool  `json:"up"`
	Primary bool  `json:"primary"`
	Mode    uint8 `json:"mode"`
}

// ParseControl splits the control byte.
func ParseControl(b byte) Control {
	return Control{Up: b&0x80 != 0, Primary: b&0x40 != 0, Mode: b & 0x3F}
}

// Byte packs the control field.
func (c Control) Byte() byte {
	b := c.Mode & 0x3F
	if c.Up {
		b |= 0x80
	}
	if c.Primary {
		b |= 0x40
	}
	return b
}
