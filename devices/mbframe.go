package devices

import "encoding/binary"

// Modbus function codes used by the drivers.
const (
	fcReadCoils          = 0x01
	fcReadDiscrete       = 0x02
	fcReadHolding        = 0x03
	fcReadInput          = 0x04
	fcWriteSingleCoil    = 0x05
	fcWriteSingleReg     = 0x06
	fcWriteMultipleCoils = 0x0F
	fcWriteMultipleRegs  = 0x10
)

// responsePDULen is the length of the PDU (function code + data) that
// answers the request PDU pdu, or 0 when it cannot be known in advance.
func responsePDULen(pdu []byte) int {
	if len(pdu) < 5 {
		return 0
	}
	n := int(binary.BigEndian.Uint16(pdu[3:5]))
	switch pdu[0] {
	case fcReadCoils, fcReadDiscrete:
		return 2 + (n+7)/8
	case fcReadHolding, fcReadInput:
		return 2 + 2*n
	case fcWriteSingleCoil, fcWriteSingleReg, fcWriteMultipleCoils, fcWriteMultipleRegs:
		return 5
	}
	return 0
}

// exceptionPDULen is the PDU length of an exception response.
const exceptionPDULen = 2

// crc16 computes the Modbus RTU CRC (poly 0xA001 reflected, init 0xFFFF).
func crc16(b []byte) uint16 {
	crc := uint16(0xFFFF)
	for _, c := range b {
		crc ^= uint16(c)
		for range 8 {
			if crc&1 != 0 {
				crc = crc>>1 ^ 0xA001
			} else {
				crc >>= 1
			}
		}
	}
	return crc
}

// appendCRC appends the CRC of frame, low byte first as on the wire.
func appendCRC(frame []byte) []byte {
	c := crc16(frame)
	return append(frame, byte(c), byte(c>>8))
}

// frameCRC returns the CRC carried in the last two bytes of an RTU frame.
func frameCRC(frame []byte) uint16 {
	n := len(frame)
	return uint16(frame[n-2]) | uint16(frame[n-1])<<8
}
