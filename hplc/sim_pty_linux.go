package hplc

import (
	"fmt"
	"os"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// SimPTY is a pseudo-terminal pair for the simulator: the simulator runs on
// Master, the driver opens Path (devices.OpenSerial in the daemon). The slave side stays open
// (held) so the driver may close and reopen the port, as it does on a warm
// restore, without the master seeing a hang-up.
type SimPTY struct {
	Master *os.File
	Path   string
	held   *os.File
}

// OpenSimPTY creates the pair with the slave in raw mode.
func OpenSimPTY() (*SimPTY, error) {
	m, s, err := pty.Open()
	if err != nil {
		return nil, fmt.Errorf("hplc sim: open pty: %w", err)
	}
	t, err := unix.IoctlGetTermios(int(s.Fd()), unix.TCGETS)
	if err == nil {
		t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
		t.Oflag &^= unix.OPOST
		t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
		t.Cflag &^= unix.CSIZE | unix.PARENB
		t.Cflag |= unix.CS8
		t.Cc[unix.VMIN], t.Cc[unix.VTIME] = 1, 0
		err = unix.IoctlSetTermios(int(s.Fd()), unix.TCSETS, t)
	}
	if err != nil {
		m.Close()
		s.Close()
		return nil, fmt.Errorf("hplc sim: raw mode on %s: %w", s.Name(), err)
	}
	master, err := pollable(m)
	if err != nil {
		s.Close()
		return nil, err
	}
	return &SimPTY{Master: master, Path: s.Name(), held: s}, nil
}

// pollable re-opens the master descriptor in non-blocking mode so that it
// joins Go's poller: then Close interrupts a pending Read, which a blocking
// pty descriptor would not.
func pollable(m *os.File) (*os.File, error) {
	defer m.Close()
	rc, err := m.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("hplc sim: pty master: %w", err)
	}
	var nfd int
	var derr error
	if err := rc.Control(func(fd uintptr) { nfd, derr = unix.Dup(int(fd)) }); err != nil {
		return nil, fmt.Errorf("hplc sim: pty master: %w", err)
	}
	if derr != nil {
		return nil, fmt.Errorf("hplc sim: dup pty master: %w", derr)
	}
	unix.CloseOnExec(nfd)
	if err := unix.SetNonblock(nfd, true); err != nil {
		unix.Close(nfd)
		return nil, fmt.Errorf("hplc sim: non-blocking pty master: %w", err)
	}
	return os.NewFile(uintptr(nfd), m.Name()), nil
}

// Close releases the held slave side. The master is closed by Sim.Run.
func (p *SimPTY) Close() error { return p.held.Close() }
