//go:build linux

package devices

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"holdup/proto698"
)

// startACSim runs proto698's simulated AC-sampling unit at address addr on
// a pty for the test's lifetime.
func startACSim(t *testing.T, addr string, cfg proto698.ACSimConfig) (*proto698.ACSim, proto698.ServerAddress) {
	t.Helper()
	a, err := proto698.ParseAddress(proto698.AddrSingle, addr)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Addr = a
	if cfg.Baud == 0 {
		cfg.Baud = 115200
	}
	if cfg.Turnaround == 0 {
		cfg.Turnaround = time.Millisecond
	}
	sim, err := proto698.NewACSim(cfg, nil)
	if err != nil {
		t.Skipf("no pty: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := sim.Run(ctx); err != nil {
			t.Errorf("AC sim %s: %v", addr, err)
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return sim, a
}

// opener698 opens path as the terminal opens a DL/T 698.45 bus port, and
// fails while fail is set.
func opener698(path string, baud int, opens *atomic.Int32, fail *atomic.Bool) func() (DLT698Port, error) {
	return func() (DLT698Port, error) {
		if fail != nil && fail.Load() {
			return nil, fmt.Errorf("open %s: no such device", path)
		}
		p, err := OpenSerial(SerialConfig{Path: path, Baud: baud, Parity: "E"})
		if err != nil {
			return nil, err
		}
		if opens != nil {
			opens.Add(1)
		}
		return p, nil
	}
}

// bus698 opens a bus on path, closed when the test ends.
func bus698(t *testing.T, path string, baud int, opens *atomic.Int32, fail *atomic.Bool) *DLT698Bus {
	t.Helper()
	bus, err := NewDLT698Bus(path, opener698(path, baud, opens, fail))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = bus.Close() })
	return bus
}

func client698(bus *DLT698Bus, addr proto698.ServerAddress, cfg proto698.ACClientConfig) DLT698Client {
	cfg.Addr = addr
	if cfg.Timeout == 0 {
		cfg.Timeout = time.Second
	}
	return NewDLT698Client(proto698.NewACClient(bus, cfg, nil), bus)
}

// TestDLT698ClientGet: numeric attributes of the simulated unit read as
// numbers (an array's first element for a whole array attribute); a DAR
// is no data, with the DAR reachable; an attribute that is no number is
// refused.
func TestDLT698ClientGet(t *testing.T) {
	sim, addr := startACSim(t, "000000000001", proto698.ACSimConfig{Voltages: [3]float64{220.1, 221, 222}})
	sim.SetCurrents([3]float64{1.234, 0, 0})
	c := client698(bus698(t, sim.Path(), 115200, nil, nil), addr, proto698.ACClientConfig{})
	ctx := context.Background()
	cases := []struct {
		name    string
		oad     uint32
		want    float64
		outcome error
		dar     proto698.DAR
	}{
		{"phase A voltage (long-unsigned)", 0x20000201, 2201, nil, 0},
		{"all phases: the first", 0x20000200, 2201, nil, 0},
		{"phase A current (double-long)", 0x20010201, 1234, nil, 0},
		{"frequency", 0x200F0200, 5000, nil, 0},
		{"total power factor (long)", 0x200A0201, 1000, nil, 0},
		{"multi-function terminal mode (enum)", 0xF2070201, 0, nil, 0},
		{"loss-of-voltage delay (unsigned)", 0x30000504, 60, nil, 0},
		{"unknown object", 0x20020200, 0, ErrNoData, proto698.DARUndefined},
		{"element out of range", 0x20010204, 0, ErrNoData, proto698.DAROutOfRange},
		{"scaler-unit is no number", 0x20000300, 0, ErrLengthMismatch, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v, err := c.Get(ctx, nil, tc.oad)
			if tc.outcome == nil {
				if err != nil || v.Null || v.Value != tc.want {
					t.Fatalf("GET %08X = %+v, %v; want %v", tc.oad, v, err, tc.want)
				}
				return
			}
			if !errors.Is(err, tc.outcome) || !strings.Contains(err.Error(), fmt.Sprintf("%08X", tc.oad)) {
				t.Fatalf("GET %08X: %v, want %v naming the OAD", tc.oad, err, tc.outcome)
			}
			var de *proto698.DARError
			if tc.dar != 0 && (!errors.As(err, &de) || de.DAR != tc.dar) {
				t.Fatalf("GET %08X: %v, want DAR %v", tc.oad, err, tc.dar)
			}
		})
	}
	// The driver scales the raw value.
	drv, err := NewDLT698(Device{Name: "ac", Driver: DriverDLT698, Address: "000000000001"}, c)
	if err != nil {
		t.Fatal(err)
	}
	s, err := drv.Read(ctx, Point{Name: "ua", Item: "20000201", Scale: 0.1})
	if err != nil || math.Abs(s.Value-220.1) > 1e-9 || s.ChecksumKind != ChecksumCRC16X25 {
		t.Fatalf("driver read: %+v, %v; want 220.1", s, err)
	}
}

// TestDLT698ClientSet: a control point's SET reaches the unit in the
// attribute's own data type (learnt by one read first), reads back, and
// every refusal is a clear error with the right outcome for the scheduler;
// a value the type cannot hold is refused before anything is sent.
func TestDLT698ClientSet(t *testing.T) {
	sim, addr := startACSim(t, "000000000001", proto698.ACSimConfig{Voltages: [3]float64{220, 221, 222}})
	c := client698(bus698(t, sim.Path(), 115200, nil, nil), addr, proto698.ACClientConfig{})
	ctx := context.Background()
	const mfPort uint32 = 0xF2070201 // multi-function terminal, first port: enum
	if err := c.Set(ctx, nil, mfPort, 2); err != nil {
		t.Fatalf("set %08X: %v", mfPort, err)
	}
	v, err := c.Get(ctx, nil, mfPort)
	if err != nil || v.Null || v.Value != 2 {
		t.Fatalf("read back %08X: %+v %v, want 2", mfPort, v, err)
	}
	served := sim.Served()
	if err := c.Set(ctx, nil, mfPort, 1); err != nil {
		t.Fatal(err)
	}
	if n := sim.Served() - served; n != 1 {
		t.Errorf("a second SET took %d exchanges, want 1 (the type is known)", n)
	}
	// A structure element in its own type: the trigger delay is unsigned.
	if err := c.Set(ctx, nil, 0x30000504, 90); err != nil {
		t.Fatalf("set loss-of-voltage delay: %v", err)
	}
	if v, err := c.Get(ctx, nil, 0x30000504); err != nil || v.Value != 90 {
		t.Fatalf("loss-of-voltage delay after SET: %+v %v, want 90", v, err)
	}

	cases := []struct {
		name    string
		oad     uint32
		v       float64
		outcome error
		msg     string
		sent    int // exchanges with the unit
	}{
		{"out of the unit's range", mfPort, 5, ErrNoData, "F2070201", 1},
		{"out of the type's range", mfPort, 300, ErrBadValue, "outside enum's range 0..255", 0},
		{"negative for an unsigned type", 0x30000504, -1, ErrBadValue, "outside unsigned's range", 0},
		{"not a number", mfPort, math.NaN(), ErrBadValue, "not a number", 0},
		{"measured value", 0x20000201, 230, ErrNoData, "20000201", 2},          // GET for the type, SET denied
		{"whole array", 0xF2070200, 1, ErrBadValue, "array of", 1},             // GET for the type only
		{"unknown object", 0x7FFF0200, 1, ErrNoData, "7FFF0200", 1},            // the GET for the type is refused
		{"no number", 0x40000200, 1, ErrLengthMismatch, "40000200", 1},         // date-time reads as no number
		{"trigger above recovery", 0x30000501, 2000, ErrNoData, "30000501", 2}, // the unit's own rule
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			served := sim.Served()
			err := c.Set(ctx, nil, tc.oad, tc.v)
			if !errors.Is(err, tc.outcome) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("set %08X = %v: %v, want %v naming %q", tc.oad, tc.v, err, tc.outcome, tc.msg)
			}
			if n := sim.Served() - served; n != tc.sent {
				t.Errorf("%d exchanges with the unit, want %d", n, tc.sent)
			}
		})
	}
	// The refusals changed nothing.
	if v, err := c.Get(ctx, nil, mfPort); err != nil || v.Value != 1 {
		t.Fatalf("after refusals: %+v %v, want 1", v, err)
	}
	if v, err := c.Get(ctx, nil, 0x30000501); err != nil || v.Value != 1716 {
		t.Fatalf("trigger limit after refusals: %+v %v, want 1716", v, err)
	}
}

// TestDLT698ClientOutcomes: each way an exchange fails names the outcome
// the scheduler's error-rate watch needs: a silent unit is a timeout, a
// closed or unopenable port a link fault, a called-off exchange sends
// nothing; the bus comes back with Reinit.
func TestDLT698ClientOutcomes(t *testing.T) {
	sim, addr := startACSim(t, "000000000001", proto698.ACSimConfig{Voltages: [3]float64{220, 221, 222}, LostMode: proto698.LostSilent})
	var opens atomic.Int32
	var fail atomic.Bool
	bus := bus698(t, sim.Path(), 115200, &opens, &fail)
	c := client698(bus, addr, proto698.ACClientConfig{})
	quick := client698(bus, addr, proto698.ACClientConfig{Timeout: 100 * time.Millisecond, Retries: -1})
	ctx := context.Background()
	const ua uint32 = 0x20000201
	works := func(t *testing.T, c DLT698Client) {
		t.Helper()
		if v, err := c.Get(ctx, nil, ua); err != nil || v.Value != 2200 {
			t.Fatalf("GET %08X = %+v, %v; want 2200", ua, v, err)
		}
	}
	works(t, c)

	t.Run("called off", func(t *testing.T) {
		served := sim.Served()
		off, cancel := context.WithCancel(ctx)
		cancel()
		_, err := c.Get(off, nil, ua)
		if !errors.Is(err, ErrNotSent) || !errors.Is(err, context.Canceled) || Classify(err) != OutcomeCancelled {
			t.Fatalf("GET: %v, want ErrNotSent", err)
		}
		if err := c.Set(off, nil, 0xF2070201, 1); !errors.Is(err, ErrNotSent) {
			t.Fatalf("SET: %v, want ErrNotSent", err)
		}
		if err := c.Reinit(off); !errors.Is(err, ErrNotSent) {
			t.Fatalf("Reinit: %v, want ErrNotSent", err)
		}
		if n := sim.Served() - served; n != 0 || opens.Load() != 1 {
			t.Fatalf("%d exchanges, %d opens; want none and the port left open", n, opens.Load())
		}
		works(t, c)
	})
	t.Run("silent unit", func(t *testing.T) {
		sim.SetMainsLost(true)
		defer sim.SetMainsLost(false)
		_, err := quick.Get(ctx, nil, ua)
		if !errors.Is(err, ErrTimeout) || !errors.Is(err, proto698.ErrNoAnswer) || Classify(err) != OutcomeTimeout {
			t.Fatalf("GET: %v, want ErrTimeout", err)
		}
		short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		_, err = c.Get(short, nil, ua)
		if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("GET past the deadline: %v, want ErrTimeout", err)
		}
	})
	works(t, c)
	t.Run("closed port", func(t *testing.T) {
		if err := bus.Close(); err != nil {
			t.Fatal(err)
		}
		_, err := c.Get(ctx, nil, ua)
		if !errors.Is(err, ErrLinkDown) || !strings.Contains(err.Error(), "port closed") {
			t.Fatalf("GET on a closed bus: %v, want ErrLinkDown", err)
		}
		if err := quick.Reinit(ctx); err != nil {
			t.Fatalf("Reinit: %v", err)
		}
		works(t, c)
	})
	t.Run("re-open fails", func(t *testing.T) {
		fail.Store(true)
		err := c.Reinit(ctx)
		if !errors.Is(err, ErrLinkDown) || !strings.Contains(err.Error(), "no such device") {
			t.Fatalf("Reinit: %v, want ErrLinkDown with the cause", err)
		}
		if _, err := c.Get(ctx, nil, ua); !errors.Is(err, ErrLinkDown) {
			t.Fatalf("GET after a failed re-open: %v, want ErrLinkDown", err)
		}
		fail.Store(false)
		if err := c.Reinit(ctx); err != nil {
			t.Fatal(err)
		}
		works(t, c)
		works(t, quick)
	})
	if n := opens.Load(); n != 3 {
		t.Errorf("%d opens, want 3 (first, two re-opens)", n)
	}
}

// startRS485 simulates an RS-485 line: what the terminal sends on the
// returned port reaches every unit's port (the pty paths of simulated
// units), what a unit sends reaches the terminal. The line stays up while
// the terminal closes and re-opens its end.
func startRS485(t *testing.T, units ...string) string {
	t.Helper()
	m, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pty: %v", err)
	}
	if err := rawTTY(tty); err != nil {
		t.Fatal(err)
	}
	master, err := pollableMaster(m)
	if err != nil {
		t.Fatal(err)
	}
	var ports []DLT698Port
	for _, u := range units {
		p, err := OpenSerial(SerialConfig{Path: u, Baud: 115200, Parity: "E"})
		if err != nil {
			t.Fatal(err)
		}
		ports = append(ports, p)
	}
	var wg sync.WaitGroup
	wg.Go(func() { // terminal → every unit
		buf := make([]byte, 512)
		for {
			n, err := master.Read(buf)
			for _, p := range ports {
				if n > 0 {
					_, _ = p.Write(buf[:n])
				}
			}
			if err != nil {
				return
			}
		}
	})
	for _, p := range ports {
		wg.Go(func() { // unit → terminal
			buf := make([]byte, 512)
			for {
				n, err := p.Read(buf)
				if n > 0 {
					_, _ = master.Write(buf[:n])
				}
				if err != nil {
					return
				}
			}
		})
	}
	t.Cleanup(func() {
		for _, p := range ports {
			_ = p.Close()
		}
		_ = master.Close()
		wg.Wait()
		_ = tty.Close()
	})
	return tty.Name()
}

// rawTTY puts a terminal in raw mode, so nothing is echoed before the
// terminal's port is opened (and configured) on it.
func rawTTY(f *os.File) error {
	fd := int(f.Fd())
	tio, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return err
	}
	tio.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	tio.Oflag &^= unix.OPOST
	tio.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	tio.Cflag &^= unix.CSIZE | unix.PARENB
	tio.Cflag |= unix.CS8
	tio.Cc[unix.VMIN], tio.Cc[unix.VTIME] = 1, 0
	return unix.IoctlSetTermios(fd, unix.TCSETS, tio)
}

// pollableMaster re-opens a pty master non-blocking, in Go's poller, so
// that Close interrupts a pending Read.
func pollableMaster(m *os.File) (*os.File, error) {
	defer m.Close()
	fd, err := unix.Dup(int(m.Fd()))
	if err != nil {
		return nil, err
	}
	unix.CloseOnExec(fd)
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return os.NewFile(uintptr(fd), m.Name()), nil
}

// TestDLT698SharedBus: two meters on one RS-485 line share one bus port:
// each client reaches its own meter only, their exchanges take turns when
// they run at once, and a re-open under them (from either client's Reinit)
// waits for the exchange on the line and leaves both working.
func TestDLT698SharedBus(t *testing.T) {
	// 9600 baud, the usual line speed: the units' inter-character timeout
	// (20 characters) is then far above any delay the relay adds.
	simA, addrA := startACSim(t, "000000000001", proto698.ACSimConfig{Baud: 9600, Voltages: [3]float64{220, 221, 222}})
	simB, addrB := startACSim(t, "000000000002", proto698.ACSimConfig{Baud: 9600, Voltages: [3]float64{230, 231, 232}})
	line := startRS485(t, simA.Path(), simB.Path())
	var opens atomic.Int32
	bus := bus698(t, line, 9600, &opens, nil)
	a := client698(bus, addrA, proto698.ACClientConfig{})
	b := client698(bus, addrB, proto698.ACClientConfig{})
	ctx := context.Background()
	const ua uint32 = 0x20000201
	read := func(c DLT698Client, want float64) error {
		v, err := c.Get(ctx, nil, ua)
		if err != nil {
			return err
		}
		if v.Value != want {
			return fmt.Errorf("GET %08X = %v, want %v", ua, v.Value, want)
		}
		return nil
	}
	if err := read(a, 2200); err != nil {
		t.Fatalf("meter A: %v", err)
	}
	if err := read(b, 2300); err != nil {
		t.Fatalf("meter B: %v", err)
	}
	// A SET reaches its meter only.
	const mfPort uint32 = 0xF2070201
	if err := a.Set(ctx, nil, mfPort, 2); err != nil {
		t.Fatal(err)
	}
	if v, err := b.Get(ctx, nil, mfPort); err != nil || v.Value != 0 {
		t.Fatalf("meter B's mode after a SET to A: %+v, %v; want 0", v, err)
	}
	if v, err := a.Get(ctx, nil, mfPort); err != nil || v.Value != 2 {
		t.Fatalf("meter A's mode: %+v, %v; want 2", v, err)
	}

	// Both clients at once, with re-opens from both sides in between.
	servedA, servedB := simA.Served(), simB.Served()
	const rounds = 4
	errs := make(chan error, 4*rounds)
	var wg sync.WaitGroup
	for range rounds {
		wg.Go(func() { errs <- read(a, 2200) })
		wg.Go(func() { errs <- read(b, 2300) })
	}
	wg.Go(func() { errs <- a.Reinit(ctx) })
	wg.Go(func() { errs <- b.Reinit(ctx) })
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n, m := simA.Served()-servedA, simB.Served()-servedB; n != rounds || m != rounds {
		t.Errorf("meter A answered %d, meter B %d; want %d each (one exchange per GET, no retries)", n, m, rounds)
	}
	if n := opens.Load(); n != 3 {
		t.Errorf("%d opens, want 3", n)
	}
	if err := read(a, 2200); err != nil {
		t.Fatalf("meter A after re-opens: %v", err)
	}
	if err := read(b, 2300); err != nil {
		t.Fatalf("meter B after re-opens: %v", err)
	}
}
