package proto698

// CRC-16/X-25 (also called CRC-16/IBM-SDLC): reflected polynomial 0x8408,
// initial value 0xFFFF, final XOR 0xFFFF. DL/T 698.45 uses it for HCS and FCS
// and transmits the result low byte first.

// crcTable is computed once at package initialisation and never written again.
var crcTable = makeCRCTable()

func makeCRCTable() [256]uint16 {
	var t [256]uint16
	for i := range t {
		c := uint16(i)
		for range 8 {
			if c&1 != 0 {
				c = c>>1 ^ 0x8408
			} else {
				c >>= 1
			}
		}
		t[i] = c
	}
	return t
}

// CRC16 returns the DL/T 698.45 check sequence (CRC-16/X-25) of b.
func CRC16(b []byte) uint16 {
	c := uint16(0xFFFF)
	for _, x := range b {
		c = c>>8 ^ crcTable[byte(c)^x]
	}
	return ^c
}
