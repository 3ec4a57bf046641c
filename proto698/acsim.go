package proto698

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// MainsLostMode is how the simulated AC-sampling unit behaves without mains.
type MainsLostMode uint8

// Mains-lost behaviours seen in the field.
const (
	// LostZero: the unit (on its own supply) keeps answering with ~0 V.
	LostZero MainsLostMode = iota
	// LostSilent: the unit is unpowered and does not answer at all.
	LostSilent
)

// ACSimConfig configures the AC-sampling unit simulator.
type ACSimConfig struct {
	Addr     ServerAddress // the unit's own address (required)
	Baud     int           // line speed for byte timing; 0 means 9600
	CharBits int           // bits per character incl. start/stop/parity; 0 means 10 (8N1)
	// Turnaround is the unit's processing time between the end of a
	// request and the first reply byte; 0 means 5 ms.
	Turnaround time.Duration
	// Preamble is the number of FE bytes the unit sends before a reply;
	// 0 means 2, negative means none.
	Preamble int
	Voltages [3]float64    // initial phase voltages, volts
	LostMode MainsLostMode // behaviour while mains is lost
	// ResidualVolts is what LostZero reports (a few volts of induced
	// voltage on a dead line); 0 means 0.
	ResidualVolts float64
	// PerPhaseOnly models units that refuse the all-phases attribute
	// 0x20000200 (DAR object undefined) and answer only 0x20000201–03.
	PerPhaseOnly bool
	// Noise is sent before each reply's preamble, as RS-485 line turnaround
	// glitches put stray bytes on the wire.
	Noise []byte
	// Link, if set, is a symlink created to the pty slave (replacing an
	// existing symlink) so a configuration can name a fixed device path;
	// Run removes it when it ends.
	Link string
	// Now is the unit's clock source for 0x4000 (date-time); nil means
	// time.Now. Tests pass a fixed clock to read back what they set.
	Now func() time.Time
	// MaxFrame, if positive, is the APDU bytes one reply frame carries:
	// a longer reply goes fragmented, each fragment after the client's
	// confirm of the one before (a new request drops what is left).
	MaxFrame int
}

// ACSim simulates an AC-sampling unit on a pseudo-terminal. The client opens
// Path() like a real serial device. The unit answers GET-Request-Normal,
// GET-Request-NormalList and SET-Request-Normal only when addressed (single
// address equal, wildcard matching; broadcasts get no answer), echoing the
// PIID and CA, and it paces reply bytes at the configured baud rate.
//
// Its objects (see acsim_objects.go for types, scalers and sources):
// voltage 0x2000 (attributes 2 and 3), current 0x2001, active power 0x2004,
// power factor 0x200A, frequency 0x200F, combined and forward active
// energy 0x0000 / 0x0010, date-time 0x4000 and address 0x4001, all
// attribute 2 unless noted; an element index selects one element (phase,
// or total first where there is one). Writable: date-time 0x40000200, the
// loss-of-voltage event parameters 0x30000500 and the multi-function
// terminal mode 0xF2070200; SET of a measured value or the address is
// denied (DAR read/write denied), of an unknown object or attribute
// answered DAR object undefined, of a value of the wrong type DAR type
// mismatch. The test sets the measured values with SetVoltages,
// SetCurrents, SetActivePower, SetPowerFactor, SetFrequency and
// SetActiveEnergy.
type ACSim struct {
	cfg    ACSimConfig
	log    *slog.Logger
	master *os.File
	slave  *os.File
	cmds   chan func(*acState)
	done   chan struct{}
}

// NewACSim opens a pty pair and returns the simulator; call Run to serve.
func NewACSim(cfg ACSimConfig, log *slog.Logger) (*ACSim, error) {
	if cfg.Addr.Len == 0 {
		return nil, fmt.Errorf("proto698: AC sim: address: %w", ErrInvalid)
	}
	if cfg.Baud <= 0 {
		cfg.Baud = 9600
	}
	if cfg.CharBits <= 0 {
		cfg.CharBits = 10
	}
	if cfg.Turnaround <= 0 {
		cfg.Turnaround = 5 * time.Millisecond
	}
	switch {
	case cfg.Preamble == 0:
		cfg.Preamble = 2
	case cfg.Preamble < 0:
		cfg.Preamble = 0
	}
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	m, s, err := openPTY()
	if err != nil {
		return nil, fmt.Errorf("proto698: AC sim: open pty: %w", err)
	}
	if err := makeRaw(s); err != nil {
		m.Close()
		s.Close()
		return nil, fmt.Errorf("proto698: AC sim: raw mode on %s: %w", s.Name(), err)
	}
	if cfg.Link != "" {
		if fi, err := os.Lstat(cfg.Link); err == nil && fi.Mode()&os.ModeSymlink != 0 {
			os.Remove(cfg.Link)
		}
		if err := os.Symlink(s.Name(), cfg.Link); err != nil {
			m.Close()
			s.Close()
			return nil, fmt.Errorf("proto698: AC sim: link %s: %w", cfg.Link, err)
		}
	}
	return &ACSim{cfg: cfg, log: log, master: m, slave: s, cmds: make(chan func(*acState)), done: make(chan struct{})}, nil
}

// openPTY opens a pty pair whose master is non-blocking and registered
// with the runtime poller, so closing it wakes a pending Read (a blocking
// read on a pty master is not interrupted by close while a client still
// holds the slave open).
func openPTY() (master, slave *os.File, err error) {
	m, s, err := pty.Open()
	if err != nil {
		return nil, nil, err
	}
	fd, err := unix.Dup(int(m.Fd()))
	m.Close()
	if err != nil {
		s.Close()
		return nil, nil, err
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		s.Close()
		return nil, nil, err
	}
	return os.NewFile(uintptr(fd), "/dev/ptmx"), s, nil
}

// makeRaw puts the tty in raw mode so no line discipline mangles frames
// before the client configures the port itself.
func makeRaw(f *os.File) error {
	fd := int(f.Fd())
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return err
	}
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB
	t.Cflag |= unix.CS8
	t.Cc[unix.VMIN], t.Cc[unix.VTIME] = 1, 0
	return unix.IoctlSetTermios(fd, unix.TCSETS, t)
}

// Path is the serial device the client opens.
func (s *ACSim) Path() string { return s.slave.Name() }

// CharTime is the time one character takes on the simulated line.
func (s *ACSim) CharTime() time.Duration {
	return time.Duration(s.cfg.CharBits) * time.Second / time.Duration(s.cfg.Baud)
}

// do runs f on Run's goroutine; it returns false if Run has ended.
func (s *ACSim) do(f func(*acState)) bool {
	ran := make(chan struct{})
	select {
	case s.cmds <- func(st *acState) { f(st); close(ran) }:
		<-ran
		return true
	case <-s.done:
		return false
	}
}

// SetVoltages sets the phase voltages (volts) the unit measures.
func (s *ACSim) SetVoltages(v [3]float64) { s.do(func(st *acState) { st.volts = v }) }

// SetCurrents sets the phase currents (A, B, C) in amperes.
func (s *ACSim) SetCurrents(a [3]float64) { s.do(func(st *acState) { st.amps = a }) }

// SetActivePower sets the active power in watts: total, A, B, C.
func (s *ACSim) SetActivePower(w [4]float64) { s.do(func(st *acState) { st.power = w }) }

// SetPowerFactor sets the power factor: total, A, B, C (initially 1).
func (s *ACSim) SetPowerFactor(pf [4]float64) { s.do(func(st *acState) { st.pf = pf }) }

// SetFrequency sets the grid frequency in hertz (initially 50).
func (s *ACSim) SetFrequency(hz float64) { s.do(func(st *acState) { st.freq = hz }) }

// SetActiveEnergy sets the forward active energy registers in kWh: total,
// tariffs 1–4.
func (s *ACSim) SetActiveEnergy(kwh [5]float64) { s.do(func(st *acState) { st.energy = kwh }) }

// SetMainsLost switches the mains-lost behaviour on or off.
func (s *ACSim) SetMainsLost(lost bool) { s.do(func(st *acState) { st.mainsLost = lost }) }

// Served returns how many requests the unit has answered.
func (s *ACSim) Served() int {
	n := 0
	s.do(func(st *acState) { n = st.served })
	return n
}

// Run serves requests until ctx ends, then closes the pty.
func (s *ACSim) Run(ctx context.Context) error {
	defer close(s.done)
	type chunk struct {
		b   []byte
		at  time.Time
		err error
	}
	in := make(chan chunk, 16)
	readerDone := make(chan struct{})
	go func() { // the pty reader: hands bytes to Run, exits when master closes
		defer close(readerDone)
		buf := make([]byte, 512)
		for {
			n, err := s.master.Read(buf)
			c := chunk{b: append([]byte(nil), buf[:n]...), at: time.Now(), err: err}
			select {
			case in <- c:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	defer func() {
		s.master.Close()
		s.slave.Close()
		<-readerDone
		if s.cfg.Link != "" {
			os.Remove(s.cfg.Link)
		}
	}()

	st := newACState(&s.cfg)
	var d Deframer
	d.MaxFrame = 2048
	var first, last time.Time // arrival of the current frame's first and latest byte
	gap := 20 * s.CharTime()  // inter-character timeout: a longer silence ends a partial frame
	for {
		select {
		case <-ctx.Done():
			return nil
		case f := <-s.cmds:
			f(st)
		case c := <-in:
			if c.err != nil {
				if errors.Is(c.err, os.ErrClosed) || ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("proto698: AC sim: read pty: %w", c.err)
			}
			if d.Buffered() > 0 && c.at.Sub(last) > gap {
				s.log.Debug("proto698: AC sim: inter-character timeout, dropping partial frame", "bytes", d.Buffered())
				d.Reset()
			}
			if d.Buffered() == 0 {
				first = c.at
			}
			last = c.at
			d.Write(c.b)
			for {
				raw, skipped, ok := d.Next()
				if !ok {
					break
				}
				if skipped > 0 {
					s.log.Debug("proto698: AC sim: skipped noise", "bytes", skipped)
				}
				// The request cannot have fully arrived before its bytes
				// took their time on the line.
				earliest := first.Add(time.Duration(len(raw)) * s.CharTime())
				reply := s.answer(st, raw)
				first = c.at
				if reply == nil {
					continue
				}
				if err := s.send(ctx, reply, earliest.Add(s.cfg.Turnaround)); err != nil {
					return err
				}
				st.served++
			}
		}
	}
}

// send writes reply starting at start, one character per CharTime.
func (s *ACSim) send(ctx context.Context, reply []byte, start time.Time) error {
	ct := s.CharTime()
	t := time.NewTimer(0)
	defer t.Stop()
	<-t.C
	for i := range reply {
		if wait := time.Until(start.Add(time.Duration(i) * ct)); wait > 0 {
			t.Reset(wait)
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
			}
		}
		if _, err := s.master.Write(reply[i : i+1]); err != nil {
			return fmt.Errorf("proto698: AC sim: write pty: %w", err)
		}
	}
	return nil
}

// answer returns the reply frame (with preamble) or nil for no reply.
func (s *ACSim) answer(st *acState, raw []byte) []byte {
	f, _, err := DecodeFrame(raw)
	if err != nil {
		return nil
	}
	c := f.Control
	if c.Fragmented() {
		return s.confirmed(st, &f)
	}
	if c.FromServer() || !c.PRM() || c.Function() != FuncUserData {
		return nil // not a client request this unit serves
	}
	if f.Addr.Type == AddrBroadcast || !f.Addr.Matches(s.cfg.Addr) {
		return nil
	}
	if st.mainsLost && s.cfg.LostMode == LostSilent {
		return nil
	}
	a, err := DecodeAPDU(f.Data)
	if err != nil {
		s.log.Debug("proto698: AC sim: bad APDU", "err", err)
		return s.frame(st, f.Client, &ErrorResponse{PIID: 0, DAR: DAROther})
	}
	switch r := a.(type) {
	case *GetRequestNormal:
		return s.frame(st, f.Client, &GetResponseNormal{PIID: PIIDACD(r.PIID) &^ 0x40, Result: s.read(st, r.OAD)})
	case *GetRequestNormalList:
		res := make([]ResultNormal, len(r.OADs))
		for i, o := range r.OADs {
			res[i] = s.read(st, o)
		}
		return s.frame(st, f.Client, &GetResponseNormalList{PIID: PIIDACD(r.PIID) &^ 0x40, Results: res})
	case *SetRequestNormal:
		return s.frame(st, f.Client, &SetResponseNormal{PIID: PIIDACD(r.PIID) &^ 0x40, OAD: r.OAD, DAR: s.write(st, r.OAD, r.Value)})
	}
	s.log.Debug("proto698: AC sim: unsupported service", "service", a.Service())
	return nil
}

// acFragment is a reply fragment waiting for the confirm of the one before.
type acFragment struct {
	seq uint16
	b   []byte // the encoded frame with preamble
}

// confirmed handles a fragment frame from the client: the confirm of the
// reply fragment sent last releases the next one.
func (s *ACSim) confirmed(st *acState, f *Frame) []byte {
	if f.Control.FromServer() || f.Frag.Type != FragConfirm || f.Frag.Seq != st.fragSent || len(st.frags) == 0 {
		s.log.Debug("proto698: AC sim: fragment frame not served", "seq", f.Frag.Seq, "type", f.Frag.Type)
		return nil
	}
	next := st.frags[0]
	st.frags = st.frags[1:]
	st.fragSent = next.seq
	return next.b
}

// frame encodes reply a to client ca (with noise and preamble); a reply
// longer than MaxFrame is fragmented: the first fragment is returned and
// the others wait for the client's confirms.
func (s *ACSim) frame(st *acState, ca uint8, a APDU) []byte {
	apdu, err := EncodeAPDU(a)
	if err != nil {
		s.log.Error("proto698: AC sim: encode", "err", err)
		return nil
	}
	st.frags = nil
	f := Frame{Control: NewControl(true, true, false, false, FuncUserData), Addr: s.cfg.Addr, Client: ca, Data: apdu}
	frames := []Frame{f}
	if s.cfg.MaxFrame > 0 && len(apdu) > s.cfg.MaxFrame {
		if frames, err = FragmentFrames(f, s.cfg.MaxFrame, st.fragSeq); err != nil {
			s.log.Error("proto698: AC sim: fragment", "err", err)
			return nil
		}
		st.fragSeq = (st.fragSeq + uint16(len(frames))) & 0x0FFF
	}
	var first []byte
	for i := range frames {
		var out []byte
		if i == 0 {
			out = append(out, s.cfg.Noise...)
		}
		for range s.cfg.Preamble {
			out = append(out, Preamble)
		}
		if out, err = AppendFrame(out, &frames[i]); err != nil {
			s.log.Error("proto698: AC sim: frame", "err", err)
			return nil
		}
		if i == 0 {
			first, st.fragSent = out, frames[i].Frag.Seq
			continue
		}
		st.frags = append(st.frags, acFragment{seq: frames[i].Frag.Seq, b: out})
	}
	return first
}
