package devices

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// tcpPeer accepts connections and answers each request with answer(req);
// a nil answer means silence.
func tcpPeer(t *testing.T, answer func(req []byte) []byte) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() {
				hdr := make([]byte, mbapLen)
				for {
					if _, err := io.ReadFull(c, hdr); err != nil {
						return
					}
					body := make([]byte, int(binary.BigEndian.Uint16(hdr[4:6]))-1)
					if _, err := io.ReadFull(c, body); err != nil {
						return
					}
					if a := answer(append(append([]byte(nil), hdr...), body...)); a != nil {
						_, _ = c.Write(a)
					}
				}
			})
		}
	})
	t.Cleanup(func() {
		_ = l.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return l.Addr().String()
}

// mbap builds an answer ADU for req with the given PDU.
func mbap(req []byte, pdu ...byte) []byte {
	a := make([]byte, mbapLen, mbapLen+len(pdu))
	copy(a, req[:4])
	binary.BigEndian.PutUint16(a[4:], uint16(1+len(pdu)))
	a[6] = req[6]
	return append(a, pdu...)
}

func TestTCPOutcomes(t *testing.T) {
	tests := []struct {
		name   string
		answer func(req []byte) []byte
		want   Outcome
	}{
		{"ok", func(r []byte) []byte { return mbap(r, 3, 2, 0x12, 0x34) }, OutcomeOK},
		{"silent", func([]byte) []byte { return nil }, OutcomeTimeout},
		{"wrong transaction", func(r []byte) []byte { a := mbap(r, 3, 2, 0, 1); a[1]++; return a }, OutcomeLengthMismatch},
		{"short answer", func(r []byte) []byte { return mbap(r, 3, 2, 0x12) }, OutcomeLengthMismatch},
		{"exception", func(r []byte) []byte { return mbap(r, 0x83, 2) }, OutcomeException},
		{"half a frame, then silence", func(r []byte) []byte { return mbap(r, 3, 2, 0x12, 0x34)[:9] }, OutcomeTimeout},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			addr := tcpPeer(t, tc.answer)
			m := NewModbusTCP(Device{Name: "tcp", Driver: DriverModbusTCP, Port: addr, Unit: 1, Timeout: 100 * time.Millisecond}, nil, nil)
			defer m.Close()
			v, err := m.ReadHoldingRegisters(context.Background(), 0, 1)
			if got := Classify(err); got != tc.want {
				t.Fatalf("outcome %v (%v), want %v", got, err, tc.want)
			}
			if err == nil && v[0] != 0x1234 {
				t.Fatalf("value %04X", v[0])
			}
		})
	}
}

// A cancelled context stops the exchange before anything is sent.
func TestTCPNotSentWhenCancelled(t *testing.T) {
	var got int
	var mu sync.Mutex
	addr := tcpPeer(t, func(r []byte) []byte { mu.Lock(); got++; mu.Unlock(); return mbap(r, 6, 0, 1, 0, 2) })
	m := NewModbusTCP(Device{Name: "tcp", Driver: DriverModbusTCP, Port: addr, Unit: 1}, nil, nil)
	defer m.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := m.WriteRegister(ctx, 1, 2); Classify(err) != OutcomeCancelled {
		t.Fatalf("cancelled write: %v", err)
	}
	if err := m.WriteRegister(context.Background(), 1, 2); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if got != 1 {
		t.Fatalf("peer saw %d requests, want 1", got)
	}
}
