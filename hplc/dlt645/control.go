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

// Error-code bits (DL/T 645-2007 error status byte SERR).
const (
	ErrCodeOther       ErrorCode = 0x01 // other error (bad length, invalid value …)
	ErrCodeNoData      ErrorCode = 0x02 // no requested data: the meter has no such item
	ErrCodeAuth        ErrorCode = 0x04 // password error or unauthorised
	ErrCodeBaudFixed   ErrorCode = 0x08 // communication rate cannot be changed
	ErrCodeYearZones   ErrorCode = 0x10 // year time zone count exceeded
	ErrCodeDaySegments ErrorCode = 0x20 // daily time period count exceeded
	ErrCodeTariffs     ErrorCode = 0x40 // tariff count exceeded
)

// errCodeNames are the meanings DL/T 645-2007 gives the bits of the error
// byte, bit 0 first.
var errCodeNames = [...]string{"other error", "no requested data", "password error or unauthorised",
	"baud rate cannot be changed", "year zone count exceeded", "day period count exceeded", "tariff count exceeded", "reserved bit 7"}

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

// Has reports whether every bit of flags is set in e.
func (e ErrorCode) Has(flags ErrorCode) bool { return flags != 0 && e&flags == flags }

// Error makes each flag usable as an errors.Is target:
// errors.Is(err, ErrCodeAuth) matches an *ExceptionError whose error byte
// has the password bit set.
func (e ErrorCode) Error() string { return e.String() }

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
