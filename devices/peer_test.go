package devices

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The real Modbus peer: Debian's python3-pymodbus slave, over RTU on a
// socat pty pair and over TCP on 127.0.0.1, started by TestMain and
// stopped by PID.
var peer struct {
	rtuPort string // our end of the socat pty pair
	tcpAddr string
	err     error
}

const peerPython = "/usr/bin/python3"

func TestMain(m *testing.M) {
	stop, err := startPeers()
	peer.err = err
	code := m.Run()
	stop()
	os.Exit(code)
}

// needPeer skips a test when the peer could not be started, unless the
// environment says CI, where the peer is required.
func needPeer(t *testing.T) {
	t.Helper()
	if peer.err == nil {
		return
	}
	msg := fmt.Sprintf("modbus peer not available: %v (needs Debian packages python3-pymodbus python3-serial python3-serial-asyncio socat)", peer.err)
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

type proc struct {
	cmd  *exec.Cmd
	name string
}

func (p *proc) stop() {
	if p.cmd.Process != nil {
		_ = p.cmd.Process.Kill()
		_ = p.cmd.Wait()
	}
}

func startPeers() (stop func(), err error) {
	var procs []*proc
	stop = func() {
		for i := len(procs) - 1; i >= 0; i-- {
			procs[i].stop()
		}
	}
	defer func() {
		if err != nil {
			stop()
		}
	}()
	for _, bin := range []string{peerPython, "socat"} {
		if _, err := exec.LookPath(bin); err != nil {
			return stop, fmt.Errorf("%s: %w", bin, err)
		}
	}
	script, err := filepath.Abs("testdata/modbus_peer.py")
	if err != nil {
		return stop, err
	}

	// socat pty pair: it prints "PTY is /dev/pts/N" for each end.
	socat := exec.Command("socat", "-d", "-d", "pty,raw,echo=0", "pty,raw,echo=0")
	socat.SysProcAttr = dieWithParent()
	errPipe, err := socat.StderrPipe()
	if err != nil {
		return stop, err
	}
	if err := socat.Start(); err != nil {
		return stop, fmt.Errorf("socat: %w", err)
	}
	procs = append(procs, &proc{socat, "socat"})
	ptyRE := regexp.MustCompile(`PTY is (\S+)`)
	var ptys []string
	if err := waitLines(errPipe, 5*time.Second, func(line string) bool {
		if m := ptyRE.FindStringSubmatch(line); m != nil {
			ptys = append(ptys, m[1])
		}
		return len(ptys) == 2
	}); err != nil {
		return stop, fmt.Errorf("socat pty pair: %w", err)
	}

	rtu, err := startPython(script, "rtu", ptys[1])
	if rtu != nil {
		procs = append(procs, rtu)
	}
	if err != nil {
		return stop, err
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return stop, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	tcp, err := startPython(script, "tcp", fmt.Sprint(port))
	if tcp != nil {
		procs = append(procs, tcp)
	}
	if err != nil {
		return stop, err
	}
	peer.rtuPort = ptys[0]
	peer.tcpAddr = fmt.Sprintf("127.0.0.1:%d", port)
	return stop, nil
}

// dieWithParent makes a peer process die with the test binary even when
// the binary cannot stop it (a test timeout panics past TestMain's
// clean-up).
func dieWithParent() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

func startPython(script, mode, where string) (*proc, error) {
	cmd := exec.Command(peerPython, script, mode, where)
	cmd.SysProcAttr = dieWithParent()
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("modbus peer %s: %w", mode, err)
	}
	p := &proc{cmd, "modbus peer " + mode}
	if err := waitLines(out, 10*time.Second, func(line string) bool { return line == "READY" }); err != nil {
		return p, fmt.Errorf("modbus peer %s on %s: %w: %s", mode, where, err, strings.TrimSpace(stderr.String()))
	}
	return p, nil
}

// waitLines reads r line by line until done says so or d passes.
func waitLines(r interface{ Read([]byte) (int, error) }, d time.Duration, done func(string) bool) error {
	ok := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			if done(sc.Text()) {
				ok <- nil
				// keep draining so the child never blocks on a full pipe
				for sc.Scan() {
				}
				return
			}
		}
		ok <- fmt.Errorf("exited before ready (%v)", sc.Err())
	}()
	select {
	case err := <-ok:
		return err
	case <-time.After(d):
		return fmt.Errorf("not ready after %v", d)
	}
}
