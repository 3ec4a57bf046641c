//go:build linux

package devices

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"holdup/proto698"
)

// TestOpenSerial8E1OnPTY: the one serial opener sets the line a DL/T
// 698.45 unit needs (8E1) and a real client reads through it; settings a
// line cannot take are refused before the port is touched.
func TestOpenSerial8E1OnPTY(t *testing.T) {
	addr, err := proto698.ParseAddress(proto698.AddrSingle, "012503200001")
	if err != nil {
		t.Fatal(err)
	}
	link := t.TempDir() + "/ttyAC"
	sim, err := proto698.NewACSim(proto698.ACSimConfig{Addr: addr, Baud: 9600, CharBits: 11, Voltages: [3]float64{231, 232, 233}, Link: link}, nil)
	if err != nil {
		t.Skipf("no pty: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = sim.Run(ctx) })
	defer func() { cancel(); wg.Wait() }()
	for _, bad := range []SerialConfig{
		{Path: sim.Path(), Parity: "X"},
		{Path: sim.Path(), DataBits: 9},
		{Path: sim.Path(), StopBits: 3},
	} {
		if p, err := OpenSerial(bad); err == nil || !strings.Contains(err.Error(), sim.Path()) {
			if p != nil {
				p.Close()
			}
			t.Errorf("%+v: %v, want an error naming the port", bad, err)
		}
	}
	if _, err := OpenSerial(SerialConfig{Path: link + "-missing"}); !errors.Is(err, ErrLinkDown) {
		t.Errorf("missing port: %v, want ErrLinkDown", err)
	}
	c := SerialConfig{Path: link, Baud: 9600, Parity: "e"}
	if got := c.String(); got != link+" 9600 8E1" {
		t.Errorf("String() = %q", got)
	}
	port, err := OpenSerial(c)
	if err != nil {
		t.Fatal(err)
	}
	defer port.Close()
	v, err := proto698.NewACClient(port, proto698.ACClientConfig{Addr: addr}, nil).ReadVoltages(context.Background())
	if err != nil || v[1] < 231.9 || v[1] > 232.1 {
		t.Errorf("8E1 read = %v, %v", v, err)
	}
	if got, want := sim.CharTime(), 11*time.Second/9600; got != want {
		t.Errorf("char time on the line %v, want %v (8E1: 11 bits)", got, want)
	}
	cancel()
	wg.Wait()
	if _, err := os.Lstat(link); !os.IsNotExist(err) {
		t.Errorf("link %s left behind: %v", link, err)
	}
}
