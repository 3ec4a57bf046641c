package devices

import (
	"sync"
	"testing"
	"time"
)

// Exported for the external tests (package devices_test) that wire the
// drivers into the scheduler.

// StartSimPTY serves sim on a fresh pty pair until the test ends and
// returns the path of the other end.
func StartSimPTY(t *testing.T, sim *SimSlave) string {
	t.Helper()
	return StartSimPTYB(t, sim)
}

// StartSimPTYB is StartSimPTY for benchmarks. The bus simBus opens on the
// pty is closed again so the caller can open the port itself.
func StartSimPTYB(tb testing.TB, sim *SimSlave) string {
	tb.Helper()
	bus, _, d := simBus(tb, sim, time.Second)
	_ = bus.Close()
	return d.Port
}

// Recorder opens serial ports through OpenSerial and counts the bytes
// written to each port path, across re-opens.
type Recorder struct {
	mu    sync.Mutex
	ports map[string]*countingPort
	total map[string]int64
}

// NewRecorder returns an empty recorder.
func NewRecorder() *Recorder {
	return &Recorder{ports: map[string]*countingPort{}, total: map[string]int64{}}
}

// Open is an Env.OpenSerial that records.
func (r *Recorder) Open(c SerialConfig) (SerialPort, error) {
	p, err := OpenSerial(c)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if old := r.ports[c.Path]; old != nil {
		r.total[c.Path] += old.written.Load()
	}
	cp := &countingPort{SerialPort: p}
	r.ports[c.Path] = cp
	return cp, nil
}

// Written returns the bytes written to path so far.
func (r *Recorder) Written(path string) int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := r.total[path]
	if p := r.ports[path]; p != nil {
		n += p.written.Load()
	}
	return n
}

// InterFrameGap is the t3.5 silence the RTU transport keeps for d's line.
func InterFrameGap(d Device) time.Duration {
	return interFrameGap(d.Baud, charBits(d.DataBits, d.Parity, d.StopBits))
}
