package devices

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Fault is a deviation the simulated slave applies to one answer.
type Fault uint8

// Faults the simulator can inject, one per answered request, in order.
const (
	// FaultNone answers correctly.
	FaultNone Fault = iota
	// FaultBadCRC answers with the CRC's low byte inverted.
	FaultBadCRC
	// FaultTruncate answers without the last byte.
	FaultTruncate
	// FaultExtraByte answers with one byte too many (a bus echo/noise).
	FaultExtraByte
	// FaultSilent does not answer at all.
	FaultSilent
)

// SimSlave is a Modbus RTU slave that follows the serial-line rules a real
// one does: it discards frames with a bad CRC or another unit's address
// (staying silent), answers exception 1 to unknown functions, 2 to
// addresses outside its tables and 3 to bad values, delays each answer by
// its transmission time at the configured baud rate, and can inject faults
// into its answers. It counts every byte it receives.
type SimSlave struct {
	unit byte
	char time.Duration

	mu       sync.Mutex
	coils    []bool
	discrete []bool
	holding  []uint16
	input    []uint16
	faults   []Fault

	rx       atomic.Int64
	requests atomic.Int64
	// lastTx is when the last answer was written; minSilence the shortest
	// line silence seen between an answer and the next request (ns).
	lastTx     time.Time
	minSilence atomic.Int64
}

// NewSimSlave returns a slave with unit id unit and size entries in each
// table, timing its answers for baud (0: answer at once). Tables start as
// holding[i] = 1000+i, input[i] = 2000+i, coil[i] = i%3 == 0,
// discrete[i] = i%2 == 1, like the pymodbus peer used in tests.
func NewSimSlave(unit byte, size int, baud int) *SimSlave {
	s := &SimSlave{
		unit:     unit,
		coils:    make([]bool, size),
		discrete: make([]bool, size),
		holding:  make([]uint16, size),
		input:    make([]uint16, size),
	}
	if baud > 0 {
		s.char = charTime(baud, 8, "N", 1)
	}
	for i := range size {
		s.holding[i] = uint16(1000 + i)
		s.input[i] = uint16(2000 + i)
		s.coils[i] = i%3 == 0
		s.discrete[i] = i%2 == 1
	}
	return s
}

// Inject queues faults for the next answers.
func (s *SimSlave) Inject(f ...Fault) {
	s.mu.Lock()
	s.faults = append(s.faults, f...)
	s.mu.Unlock()
}

// Received returns the number of bytes the slave has received.
func (s *SimSlave) Received() int64 { return s.rx.Load() }

// Requests returns the number of well-formed requests addressed to it.
func (s *SimSlave) Requests() int64 { return s.requests.Load() }

// MinSilence returns the shortest silence on the line between one of its
// answers and the next request (0 before the second request). A master
// must keep at least t3.5 there, or a real slave merges the frames.
func (s *SimSlave) MinSilence() time.Duration { return time.Duration(s.minSilence.Load()) }

// Holding returns holding register addr.
func (s *SimSlave) Holding(addr int) uint16 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.holding[addr]
}

// SetInput sets input registers from addr on to words (a 32-bit value is
// two words, high word first), as the device's measurement updates them.
func (s *SimSlave) SetInput(addr int, words ...uint16) {
	s.mu.Lock()
	defer s.mu.Unlock()
	copy(s.input[addr:], words)
}

// SetHolding sets holding registers from addr on to words, as the device
// itself updates a measurement it keeps there.
func (s *SimSlave) SetHolding(addr int, words ...uint16) {
	s.mu.Lock()
	defer s.mu.Unlock()
	copy(s.holding[addr:], words)
}

// Coil returns coil addr.
func (s *SimSlave) Coil(addr int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.coils[addr]
}

// Serve answers requests read from rw until ctx ends or rw fails; the
// caller closes rw to stop a blocked read.
func (s *SimSlave) Serve(ctx context.Context, rw io.ReadWriter) error {
	var (
		buf []byte
		tmp [512]byte
	)
	for ctx.Err() == nil {
		n, err := rw.Read(tmp[:])
		if n > 0 && len(buf) == 0 && !s.lastTx.IsZero() {
			gap := int64(time.Since(s.lastTx))
			if old := s.minSilence.Load(); old == 0 || gap < old {
				s.minSilence.Store(gap)
			}
		}
		s.rx.Add(int64(n))
		buf = append(buf, tmp[:n]...)
		if err != nil {
			// EIO: a pty master whose slave side was closed (hang-up).
			if errors.Is(err, io.EOF) || errors.Is(err, syscall.EIO) || ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("devices: sim slave: read: %w", err)
		}
		for {
			frame, rest, ok := splitRequest(buf)
			if !ok {
				break
			}
			buf = rest
			if ans := s.handle(frame); ans != nil {
				if s.char > 0 {
					// The answer's time on the wire, slept precisely (see
					// sleepCtx): Go's timers can add a millisecond.
					_ = sleepCtx(context.Background(), time.Duration(len(ans))*s.char)
				}
				// The answer's last character leaves the line now: stamped
				// before the write, since the master may read the answer
				// and time its t3.5 from it before Write returns here.
				s.lastTx = time.Now()
				if _, err := rw.Write(ans); err != nil {
					return fmt.Errorf("devices: sim slave: write: %w", err)
				}
			}
		}
	}
	return nil
}

// splitRequest cuts one request frame off buf. Request lengths follow from
// the function code; an unknown function takes everything buffered (the
// frame a real slave delimits by t3.5 silence).
func splitRequest(buf []byte) (frame, rest []byte, ok bool) {
	if len(buf) < 2 {
		return nil, buf, false
	}
	need := 0
	switch buf[1] {
	case fcReadCoils, fcReadDiscrete, fcReadHolding, fcReadInput, fcWriteSingleCoil, fcWriteSingleReg:
		need = 8
	case fcWriteMultipleCoils, fcWriteMultipleRegs:
		if len(buf) < 7 {
			return nil, buf, false
		}
		need = 9 + int(buf[6])
	default:
		need = len(buf)
	}
	if len(buf) < need {
		return nil, buf, false
	}
	return buf[:need], buf[need:], true
}

// handle returns the answer to one request frame, or nil for silence.
func (s *SimSlave) handle(frame []byte) []byte {
	n := len(frame)
	if n < 4 || crc16(frame[:n-2]) != frameCRC(frame) || frame[0] != s.unit {
		return nil // corrupt or not for us: a slave stays silent
	}
	s.requests.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	pdu := s.answer(frame[1 : n-2])
	fault := FaultNone
	if len(s.faults) > 0 {
		fault, s.faults = s.faults[0], s.faults[1:]
	}
	ans := appendCRC(append([]byte{s.unit}, pdu...))
	switch fault {
	case FaultBadCRC:
		ans[len(ans)-2] ^= 0xFF
	case FaultTruncate:
		ans = ans[:len(ans)-1]
	case FaultExtraByte:
		ans = append(ans, 0x00)
	case FaultSilent:
		return nil
	}
	return ans
}

func exception(fc, code byte) []byte { return []byte{fc | 0x80, code} }

// answer executes one request PDU against the tables (s.mu held).
func (s *SimSlave) answer(pdu []byte) []byte {
	fc := pdu[0]
	if len(pdu) < 5 {
		return exception(fc, 3)
	}
	addr := int(binary.BigEndian.Uint16(pdu[1:3]))
	arg := binary.BigEndian.Uint16(pdu[3:5])
	qty := int(arg)
	switch fc {
	case fcReadCoils, fcReadDiscrete:
		tab := s.coils
		if fc == fcReadDiscrete {
			tab = s.discrete
		}
		if qty < 1 || qty > 2000 {
			return exception(fc, 3)
		}
		if addr+qty > len(tab) {
			return exception(fc, 2)
		}
		out := make([]byte, 2+(qty+7)/8)
		out[0], out[1] = fc, byte((qty+7)/8)
		for i := range qty {
			if tab[addr+i] {
				out[2+i/8] |= 1 << (i % 8)
			}
		}
		return out
	case fcReadHolding, fcReadInput:
		tab := s.holding
		if fc == fcReadInput {
			tab = s.input
		}
		if qty < 1 || qty > 125 {
			return exception(fc, 3)
		}
		if addr+qty > len(tab) {
			return exception(fc, 2)
		}
		out := make([]byte, 2+2*qty)
		out[0], out[1] = fc, byte(2*qty)
		for i := range qty {
			binary.BigEndian.PutUint16(out[2+2*i:], tab[addr+i])
		}
		return out
	case fcWriteSingleCoil:
		if arg != 0 && arg != 0xFF00 {
			return exception(fc, 3)
		}
		if addr >= len(s.coils) {
			return exception(fc, 2)
		}
		s.coils[addr] = arg == 0xFF00
		return append([]byte(nil), pdu[:5]...)
	case fcWriteSingleReg:
		if addr >= len(s.holding) {
			return exception(fc, 2)
		}
		s.holding[addr] = arg
		return append([]byte(nil), pdu[:5]...)
	case fcWriteMultipleRegs:
		// Quantity 1..123 and a byte count of twice it, else illegal data
		// value; the whole range must exist, else illegal address; the
		// registers change together.
		if qty < 1 || qty > 123 || len(pdu) != 6+2*qty || int(pdu[5]) != 2*qty {
			return exception(fc, 3)
		}
		if addr+qty > len(s.holding) {
			return exception(fc, 2)
		}
		for i := range qty {
			s.holding[addr+i] = binary.BigEndian.Uint16(pdu[6+2*i:])
		}
		return append([]byte(nil), pdu[:5]...)
	}
	return exception(fc, 1)
}
