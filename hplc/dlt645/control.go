package dlt645

import "fmt"

// Control is the control code C: D7 direction (1 = meter response),
// D6 abnormal response, D5 follow-up frame present, D4..D0 function.
type Control byte

// Function codes (D4..D0 of the control code).
const (
	FuncBroadcastTime  = 0x08
	FuncRead           = 0x11
	FuncReadFollow     = 0x12
	FuncReadAddress    = 0x13
	FuncWrite          = 0x14
	FuncWriteAddress   = 0x15
	FuncFreeze         = 0x16
	FuncChangeBaud     = 0x17
	FuncChangePassword = 0x18
	FuncClearDemand    = 0x19
	FuncClearMeter     = 0x1A
	FuncClearEvent     = 0x1B
)

// Control-code bits.
const (
	CtrlResponse Control = 0x80
	CtrlAbnormal Control = 0x40
	CtrlFollow   Control = 0x20
)

// Response reports D7: the frame travels meter → master.
func (c Control) Response() bool { return c&CtrlResponse != 0 }

// Abnormal reports D6: an exception response.
func (c Control) Abnormal() bool { return c&CtrlAbnormal != 0 }

// Follow reports D5: more frames follow.
func (c Control) Follow() bool { return c&CtrlFollow != 0 }

// Func returns the function code D4..D0.
func (c Control) Func() uint8 { return uint8(c) & 0x1F }

// FuncName names a function code.
func FuncName(f uint8) string {
	switch f {
	case FuncBroadcastTime:
		return "broadcast-time"
	case FuncRead:
		return "read"
	case FuncReadFollow:
		return "read-follow"
	case FuncReadAddress:
		return "read-address"
	case FuncWrite:
		return "write"
	case FuncWriteAddress:
		return "write-address"
	case FuncFreeze:
		return "freeze"
	case FuncChangeBaud:
		return "change-baud"
	case FuncChangePassword:
		return "change-password"
	case FuncClearDemand:
		return "clear-demand"
	case FuncClearMeter:
		return "clear-meter"
	case FuncClearEvent:
		return "clear-event"
	}
	return fmt.Sprintf("func-%02X", f)
}

// ErrorCode is the error byte (SERR) of an exception response; each bit is
// one reason.
type ErrorCode byte

// Error-code bits.
const (
	ErrCodeOther       ErrorCode = 0x01
	ErrCodeNoData      ErrorCode = 0x02
	ErrCodeAuth        ErrorCode = 0x04
	ErrCodeBaudFixed   ErrorCode = 0x08
	ErrCodeYearZones   ErrorCode = 0x10
	ErrCodeDaySegments ErrorCode = 0x20
	ErrCodeTariffs     ErrorCode = 0x40
)

var errCodeNames = [...]string{"other error", "no requested data", "password error or unauthorised",
	"baud rate cannot be changed", "too many year zones", "too many day segments", "too many tariffs", "reserved bit 7"}

// Reasons lists the reasons whose bits are set.
func (e ErrorCode) Reasons() []string {
	var out []string
	for i, n := range errCodeNames {
		if e&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	return out
}

// String formats the value for logs and JSON.
func (e ErrorCode) String() string {
	r := e.Reasons()
	if len(r) == 0 {
		return fmt.Sprintf("error code %02X", byte(e))
	}
	s := r[0]
	for _, x := range r[1:] {
		s += ", " + x
	}
	return fmt.Sprintf("%s (%02X)", s, byte(e))
}
