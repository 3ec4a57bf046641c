package proto698

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// The AC-sampling unit answers in fragments (its frame size is small):
// the client confirms each one, reassembles the answer and reads it, for
// every fragment size down to one byte per frame.
func TestACClientFragmentedAnswers(t *testing.T) {
	addr := mustAddr("012503200001")
	for _, max := range []int{1, 7, 16} {
		sim, port := startACSim(t, ACSimConfig{Addr: addr, Baud: 115200, Voltages: [3]float64{224.1, 225.2, 226.3}, MaxFrame: max})
		c := NewACClient(port, ACClientConfig{Addr: addr, Timeout: 2 * time.Second}, nil)
		v, err := c.ReadVoltages(context.Background())
		if err != nil {
			t.Fatalf("frame size %d: %v", max, err)
		}
		if v != [3]float64{224.1, 225.2, 226.3} {
			t.Errorf("frame size %d: voltages %v", max, v)
		}
		// One reply frame per fragment: the unit sent each after a confirm.
		if n, want := sim.Served(), 1; n <= want {
			t.Errorf("frame size %d: %d frames served, want more than %d", max, n, want)
		}
	}
}

// scriptPort is a Port that plays reads from a script: each element is
// what one Read returns; an empty one is a read timeout (no byte). After
// the script every read times out. Writes are recorded.
type scriptPort struct {
	reads   [][]byte
	written bytes.Buffer
	timeout time.Duration
}

func (p *scriptPort) Read(b []byte) (int, error) {
	if len(p.reads) == 0 {
		return 0, nil
	}
	r := p.reads[0]
	n := copy(b, r)
	if n < len(r) {
		p.reads[0] = r[n:]
	} else {
		p.reads = p.reads[1:]
	}
	return n, nil
}

func (p *scriptPort) Write(b []byte) (int, error)          { return p.written.Write(b) }
func (p *scriptPort) SetReadTimeout(t time.Duration) error { p.timeout = t; return nil }

var _ Port = (*scriptPort)(nil)

// A header announcing a long frame (2 KB, the most the client's deframer
// waits for) holds the client only until the line has been
// silent for the inter-byte timeout: then it is dropped (logged once) and
// the answer it had swallowed is read.
func TestACClientByteTimeout(t *testing.T) {
	addr := mustAddr("012503200001")
	answer := func(piid uint8) []byte {
		apdu, _ := EncodeAPDU(&GetResponseNormal{PIID: PIIDACD(piid), Result: ResultNormal{OAD: OADVoltagePhase(1), Data: LongUnsigned(2241)}})
		b, _ := AppendFrame(nil, &Frame{Control: NewControl(true, true, false, false, FuncUserData), Addr: addr, Data: apdu})
		return b
	}
	big := Frame{Control: NewControl(true, true, false, false, FuncUserData), Addr: addr, Data: make([]byte, 1900)}
	long, _ := AppendFrame(nil, &big)
	header := long[:big.headerLen()]
	tests := []struct {
		name   string
		reads  [][]byte
		drops  int
		silent int // empty reads (timeouts) the script holds
	}{
		{"answer swallowed by a stalled header", [][]byte{header, answer(1)}, 1, 0},
		{"stalled header, silence, answer", [][]byte{header, {}, {}, {}, answer(1)}, 1, 3},
		{"answer split by silence shorter than the timeout", [][]byte{answer(1)[:5], {}, answer(1)[5:]}, 0, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			p := &scriptPort{reads: tc.reads}
			// 30 ms inter-byte timeout, reads cut at readPoll (50 ms): one
			// empty read is a silence of the whole timeout. A silence inside
			// a frame shorter than the timeout is the third case's: 40 ms
			// would be cut into 30 + 10.
			bt := 30 * time.Millisecond
			if tc.drops == 0 {
				bt = 2 * readPoll
			}
			c := NewACClient(p, ACClientConfig{Addr: addr, Timeout: 5 * time.Second, Retries: -1, Preamble: -1, ByteTimeout: bt},
				slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn})))
			v, err := c.ReadPhaseVoltage(context.Background(), 1)
			if err != nil {
				t.Fatal(err)
			}
			if v != 224.1 {
				t.Errorf("voltage %v, want 224.1", v)
			}
			wantEq(t, "drops logged", strings.Count(logs.String(), "partial frame dropped"), tc.drops)
		})
	}
}

// A request longer than the frame size goes fragmented, each fragment
// after the unit's confirm; an unconfirmed fragment is no answer.
func TestACClientFragmentedRequest(t *testing.T) {
	addr := mustAddr("012503200001")
	value := OctetString(bytes.Repeat([]byte{0x5A}, 40))
	req, _ := EncodeAPDU(&SetRequestNormal{PIID: 1, OAD: NewOAD(0x40010200), Value: value})
	frames, err := FragmentFrames(Frame{Control: NewControl(false, true, false, false, FuncUserData), Addr: addr, Data: req}, 16, 0)
	if err != nil {
		t.Fatal(err)
	}
	var reads [][]byte
	var want bytes.Buffer
	for _, f := range frames {
		b, _ := AppendFrame(nil, &f)
		want.Write(b)
		c := ConfirmFrame(f)
		cb, _ := AppendFrame(nil, &c)
		reads = append(reads, cb)
	}
	apdu, _ := EncodeAPDU(&SetResponseNormal{PIID: 1, OAD: NewOAD(0x40010200), DAR: DARSuccess})
	resp, _ := AppendFrame(nil, &Frame{Control: NewControl(true, true, false, false, FuncUserData), Addr: addr, Data: apdu})
	p := &scriptPort{reads: append(reads, resp)}
	c := NewACClient(p, ACClientConfig{Addr: addr, Timeout: 5 * time.Second, Retries: -1, Preamble: -1, MaxFrame: 16}, nil)
	if err := c.Set(context.Background(), NewOAD(0x40010200), value); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(p.written.Bytes(), want.Bytes()) {
		t.Errorf("written\n%X\nwant the fragments\n%X", p.written.Bytes(), want.Bytes())
	}
	// Without the confirms: only the first fragment goes out, and the
	// exchange ends without an answer.
	p = &scriptPort{}
	c = NewACClient(p, ACClientConfig{Addr: addr, Timeout: 100 * time.Millisecond, Retries: -1, Preamble: -1, MaxFrame: 16}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := c.Set(context.Background(), NewOAD(0x40010200), value); !errorsIsNoAnswer(err) {
		t.Fatalf("unconfirmed fragment: %v", err)
	}
	first, _ := AppendFrame(nil, &frames[0])
	if !bytes.Equal(p.written.Bytes(), first) {
		t.Errorf("written %X, want only the first fragment", p.written.Bytes())
	}
}

func errorsIsNoAnswer(err error) bool { return errors.Is(err, ErrNoAnswer) }
