package devices

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/creack/pty"
)

// ServePTY serves sim on a new pseudo-terminal pair until ctx ends and
// returns the path of the terminal end, which a modbus-rtu device names as
// its port (this is how `holdup sim` puts simulated slaves behind real
// serial ports). wait stops nothing by itself: it waits for the server to
// end after ctx is cancelled and returns its error.
func ServePTY(ctx context.Context, sim *SimSlave) (port string, wait func() error, err error) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		return "", nil, fmt.Errorf("devices: sim pty: %w", err)
	}
	var (
		wg     sync.WaitGroup
		served error
	)
	wg.Go(func() {
		served = sim.Serve(ctx, ptmx)
		if errors.Is(served, os.ErrClosed) {
			served = nil
		}
	})
	// A read on the master is not interrupted by closing it: wake the
	// server with one byte from the terminal side; it then sees ctx ended.
	stop := context.AfterFunc(ctx, func() { _, _ = tty.Write([]byte{0}) })
	wait = func() error {
		wg.Wait()
		stop()
		// The terminal end stays open while the server runs: with no
		// slave side open the master reads EIO (hang-up) whenever a
		// driver closes and re-opens the port.
		_ = ptmx.Close()
		_ = tty.Close()
		return served
	}
	return tty.Name(), wait, nil
}
