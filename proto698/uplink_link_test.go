package proto698

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// linkMaster is a hand-written master station for link-layer tests: it
// accepts the uplink's connection, answers its login and then speaks raw
// frames, so a test can send what MasterSim never would (a stalled header,
// fragments in any order) and see every frame the terminal writes.
type linkMaster struct {
	tb   testing.TB
	c    net.Conn
	d    Deframer
	buf  []byte
	term ServerAddress
	seen []Frame // frames read but not yet taken
}

// syncBuf is a log destination safe for the uplink's goroutines.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// fixedServer answers every GET with a long-unsigned of the OAD's low 16
// bits, or with an octet-string of size bytes when size > 0.
type fixedServer struct{ size int }

func (s fixedServer) Get(_ context.Context, o OAD) (Data, DAR) {
	if s.size > 0 {
		return OctetString(bytes.Repeat([]byte{byte(o.Uint32())}, s.size)), DARSuccess
	}
	return LongUnsigned(o.Uint32()), DARSuccess
}

func (fixedServer) Set(context.Context, OAD, Data) DAR { return DARReadDenied }

// startLinkMaster runs an Uplink with cfg against a linkMaster and returns
// the master once the uplink has logged in, with the uplink's log.
func startLinkMaster(tb testing.TB, cfg UplinkConfig) (*linkMaster, *syncBuf) {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	cfg.Master = ln.Addr().String()
	cfg.Addr = mustAddr("000000000322")
	if cfg.Server == nil {
		cfg.Server = fixedServer{}
	}
	logs := &syncBuf{}
	u, err := NewUplink(cfg, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := u.Run(ctx); err != nil {
			tb.Errorf("uplink: %v", err)
		}
	}()
	tb.Cleanup(func() {
		cancel()
		<-done
	})
	_ = ln.(*net.TCPListener).SetDeadline(time.Now().Add(10 * time.Second))
	c, err := ln.Accept()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	m := &linkMaster{tb: tb, c: c, buf: make([]byte, 4096), term: cfg.Addr}
	login := m.next()
	req, ok := m.apdu(login).(*LinkRequest)
	if !ok || req.Type != LinkLogin {
		tb.Fatalf("first frame %+v is not a login", login)
	}
	now := NewDateTime(time.Now())
	m.write(Frame{Control: NewControl(false, false, false, false, FuncLink), Addr: m.term, Client: 0x10},
		&LinkResponse{PIID: PIID(req.PIID) &^ 0x40, Result: 0x80, RequestTime: req.Time, ReceiveTime: now, ResponseTime: now})
	return m, logs
}

// raw writes bytes to the terminal.
func (m *linkMaster) raw(b []byte) {
	m.tb.Helper()
	_ = m.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := m.c.Write(b); err != nil {
		m.tb.Fatalf("master write: %v", err)
	}
}

// frame encodes f (Data set from a when a is not nil).
func (m *linkMaster) frame(f Frame, a APDU) []byte {
	m.tb.Helper()
	if a != nil {
		apdu, err := EncodeAPDU(a)
		if err != nil {
			m.tb.Fatal(err)
		}
		f.Data = apdu
	}
	b, err := AppendFrame(nil, &f)
	if err != nil {
		m.tb.Fatal(err)
	}
	return b
}

func (m *linkMaster) write(f Frame, a APDU) { m.raw(m.frame(f, a)) }

// request is the frame of a master request to the terminal.
func (m *linkMaster) request() Frame {
	return Frame{Control: NewControl(false, true, false, false, FuncUserData), Addr: m.term, Client: 0x10}
}

// next returns the next frame the terminal writes (heartbeats included);
// it fails the test when none comes within 10 s.
func (m *linkMaster) next() Frame {
	m.tb.Helper()
	for len(m.seen) == 0 {
		_ = m.c.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, err := m.c.Read(m.buf)
		m.d.Write(m.buf[:n])
		for {
			raw, _, ok := m.d.Next()
			if !ok {
				break
			}
			f, _, ferr := DecodeFrame(raw)
			if ferr != nil {
				m.tb.Fatalf("terminal wrote a bad frame %X: %v", raw, ferr)
			}
			f.Data = bytes.Clone(f.Data)
			m.seen = append(m.seen, f)
		}
		if err != nil && len(m.seen) == 0 {
			m.tb.Fatalf("master read: %v", err)
		}
	}
	f := m.seen[0]
	m.seen = m.seen[1:]
	return f
}

// nextData is next without heartbeats.
func (m *linkMaster) nextData() Frame {
	for {
		if f := m.next(); f.Control.Function() != FuncLink {
			return f
		}
	}
}

func (m *linkMaster) apdu(f Frame) APDU {
	m.tb.Helper()
	a, err := DecodeAPDU(f.Data)
	if err != nil {
		m.tb.Fatalf("terminal's APDU %X: %v", f.Data, err)
	}
	return a
}

// answer returns the next complete APDU from the terminal: fragments are
// reassembled and confirmed (all but those skip says to leave unconfirmed,
// by sequence number, once each).
func (m *linkMaster) answer(skip map[uint16]bool) (APDU, int) {
	m.tb.Helper()
	var re Reassembler
	frags := 0
	for {
		f := m.nextData()
		if !f.Control.Fragmented() {
			return m.apdu(f), frags
		}
		frags++
		if skip[f.Frag.Seq] {
			delete(skip, f.Frag.Seq)
			continue // the confirm is "lost": the terminal must resend
		}
		out, done, err := re.Add(f.Frag, f.Data)
		if err != nil && !errors.Is(err, ErrRepeatedFragment) {
			m.tb.Fatalf("fragment %d %s: %v", f.Frag.Seq, f.Frag.Type, err)
		}
		c := ConfirmFrame(f)
		m.raw(m.frame(c, nil))
		if done {
			a, err := DecodeAPDU(out)
			if err != nil {
				m.tb.Fatalf("reassembled APDU %X: %v", out, err)
			}
			return a, frags
		}
	}
}

// A header announcing 16 KB must not hold the link: after the inter-byte
// timeout the partial frame is dropped (logged once), the request it had
// swallowed is found and answered, and the link goes on.
func TestUplinkByteTimeout(t *testing.T) {
	m, logs := startLinkMaster(t, UplinkConfig{ByteTimeout: 20 * time.Millisecond, Heartbeat: time.Hour})
	big := m.request()
	big.Data = make([]byte, 16000)
	header := m.frame(big, nil)[:big.headerLen()]
	get := m.frame(m.request(), &GetRequestNormal{PIID: 5, OAD: NewOAD(0x40010200)})
	// One write: the GET is inside the 16 KB the header announces, so only
	// the inter-byte timeout can bring it out.
	m.raw(append(bytes.Clone(header), get...))
	r, ok := m.apdu(m.nextData()).(*GetResponseNormal)
	if !ok || r.PIID.Seq() != 5 || r.Result.Data != LongUnsigned(0x0200) {
		t.Fatalf("answer %+v, want GET-Response PIID 5 with 0200", r)
	}
	// A stalled header alone, then a request: whether the request joins
	// the stalled header or comes after its drop, it is answered.
	m.raw(header)
	m.write(m.request(), &GetRequestNormal{PIID: 6, OAD: NewOAD(0x40010201)})
	r, ok = m.apdu(m.nextData()).(*GetResponseNormal)
	if !ok || r.PIID.Seq() != 6 || r.Result.Data != LongUnsigned(0x0201) {
		t.Fatalf("answer %+v, want GET-Response PIID 6 with 0201", r)
	}
	if n := strings.Count(logs.String(), "partial frame dropped"); n != 2 {
		t.Errorf("%d drops logged, want 2 (one per stalled header):\n%s", n, logs.String())
	}
}

// A GET-Response-NormalList too large for one frame goes out fragmented,
// one fragment per confirm; a fragment whose confirm is lost is sent again
// and the master, confirming the repeat, reassembles the answer.
func TestUplinkFragmentedAnswer(t *testing.T) {
	oads := []OAD{NewOAD(0x20000200), NewOAD(0x20010200), NewOAD(0x20040200), NewOAD(0x00100200)}
	tests := []struct {
		name      string
		maxFrame  int
		skip      map[uint16]bool // fragments left unconfirmed once
		wantFrags int             // fragment frames read, repeats included
	}{
		{"fits one frame", 1024, nil, 0},
		{"fragmented", 100, nil, 5},
		{"start confirm lost", 100, map[uint16]bool{0: true}, 6},
		{"middle confirm lost", 100, map[uint16]bool{2: true}, 6},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, _ := startLinkMaster(t, UplinkConfig{MaxFrame: tc.maxFrame, Server: fixedServer{size: 100}, ResponseTimeout: 200 * time.Millisecond, Heartbeat: time.Hour})
			m.write(m.request(), &GetRequestNormalList{PIID: 9, OADs: oads})
			a, frags := m.answer(tc.skip)
			r, ok := a.(*GetResponseNormalList)
			if !ok || r.PIID.Seq() != 9 || len(r.Results) != len(oads) {
				t.Fatalf("answer %+v", a)
			}
			for i, res := range r.Results {
				if want := OctetString(bytes.Repeat([]byte{byte(oads[i].Uint32())}, 100)); res.OAD != oads[i] || !bytes.Equal(res.Data.(OctetString), want) {
					t.Errorf("result %d: %+v", i, res)
				}
			}
			wantEq(t, "fragment frames", frags, tc.wantFrags)
			// The link goes on after the fragmented answer.
			m.write(m.request(), &GetRequestNormal{PIID: 10, OAD: NewOAD(0x40010200)})
			if a, _ := m.answer(nil); a.(*GetResponseNormal).PIID.Seq() != 10 {
				t.Fatalf("answer after the fragments: %+v", a)
			}
		})
	}
}

// A fragmented request from the master is confirmed fragment by fragment,
// reassembled and answered; a repeated fragment is confirmed again and
// taken once; a fragment that skips one is neither confirmed nor taken.
func TestUplinkFragmentedRequest(t *testing.T) {
	m, logs := startLinkMaster(t, UplinkConfig{Heartbeat: time.Hour})
	oads := make([]OAD, 12)
	for i := range oads {
		oads[i] = NewOAD(0x20000200 + uint32(i))
	}
	whole := m.request()
	whole.Data, _ = EncodeAPDU(&GetRequestNormalList{PIID: 11, OADs: oads})
	frames, err := FragmentFrames(whole, 16, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(frames) < 3 {
		t.Fatalf("%d fragments, want 3 or more", len(frames))
	}
	confirm := func(seq uint16) {
		t.Helper()
		f := m.nextData()
		if !f.Control.Fragmented() || f.Frag.Type != FragConfirm || f.Frag.Seq != seq || !f.Control.FromServer() || f.Client != 0x10 || len(f.Data) != 0 {
			t.Fatalf("frame %+v, want the confirm of fragment %d", f, seq)
		}
	}
	for i, f := range frames {
		m.write(f, nil)
		confirm(f.Frag.Seq)
		if i == 1 { // the confirm "was lost": the same fragment again
			m.write(f, nil)
			confirm(f.Frag.Seq)
		}
	}
	r, ok := m.apdu(m.nextData()).(*GetResponseNormalList)
	if !ok || r.PIID.Seq() != 11 || len(r.Results) != len(oads) {
		t.Fatalf("answer %+v", r)
	}
	for i, res := range r.Results {
		if res.OAD != oads[i] || res.Data != LongUnsigned(oads[i].Uint32()) {
			t.Errorf("result %d: %+v", i, res)
		}
	}
	// A lost fragment: start, then the last. The last is not confirmed
	// (a master waiting for confirms gives up) and nothing is answered;
	// the next request is.
	frames, _ = FragmentFrames(whole, 16, 200)
	m.write(frames[0], nil)
	confirm(frames[0].Frag.Seq)
	m.write(frames[len(frames)-1], nil)
	m.write(m.request(), &GetRequestNormal{PIID: 12, OAD: NewOAD(0x40010200)})
	if g, ok := m.apdu(m.nextData()).(*GetResponseNormal); !ok || g.PIID.Seq() != 12 {
		t.Fatalf("frame after the lost fragment: %+v, want GET-Response PIID 12", g)
	}
	if !strings.Contains(logs.String(), "fragment dropped") {
		t.Errorf("the out-of-sequence fragment is not logged:\n%s", logs.String())
	}
}

// A request from the master whose APDU does not decode is answered with
// ERROR-Response naming why (APDU cannot be parsed, service not
// supported) and its PIID; a frame failing its own checksum, a broadcast,
// and a malformed answer to the terminal's own frame (PRM 0) are not
// answered. After each, a GET is answered: nothing else came first.
func TestUplinkAnswersUndecodableAPDU(t *testing.T) {
	m, logs := startLinkMaster(t, UplinkConfig{Heartbeat: time.Hour})
	broadcast := m.request()
	broadcast.Addr = ServerAddress{Type: AddrBroadcast, Len: 1, Addr: [16]byte{0xAA}}
	response := m.request()
	response.Control = NewControl(false, false, false, false, FuncUserData)
	badFCS := func(b []byte) []byte { b[len(b)-2] ^= 0xFF; return b }
	tests := []struct {
		name   string
		frame  Frame
		apdu   string
		mangle func([]byte) []byte
		want   *ErrorResponse // nil: no answer
	}{
		// GET-Request-Normal PIID 7 cut inside its OAD.
		{"truncated GET", m.request(), "05010740", nil, &ErrorResponse{PIID: 7, DAR: ErrorAPDUUndecodable}},
		// GET-Request-Normal PIID 8 with a bad time-tag flag.
		{"bad optional", m.request(), "0501084001020005", nil, &ErrorResponse{PIID: 8, DAR: ErrorAPDUUndecodable}},
		// GET-Request-Normal PIID 9 (ACD set) with a trailing byte.
		{"trailing byte", m.request(), "05014940010200" + "00" + "77", nil, &ErrorResponse{PIID: 9, DAR: ErrorAPDUUndecodable}},
		{"unknown tag", m.request(), "42010A00", nil, &ErrorResponse{PIID: 10, DAR: ErrorServiceUnsupported}},
		{"CONNECT cut short", m.request(), "020B0016", nil, &ErrorResponse{PIID: 11, DAR: ErrorAPDUUndecodable}},
		{"bad FCS", m.request(), "05010740", badFCS, nil},
		{"broadcast", broadcast, "05010740", nil, nil},
		{"malformed answer (PRM 0)", response, "05010740", nil, nil},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.frame
			f.Data = mustHex(tc.apdu)
			b := m.frame(f, nil)
			if tc.mangle != nil {
				b = tc.mangle(b)
			}
			m.raw(b)
			probe := uint8(40 + i)
			m.write(m.request(), &GetRequestNormal{PIID: PIID(probe), OAD: NewOAD(0x40010200)})
			if tc.want != nil {
				a := m.apdu(m.nextData())
				if e, ok := a.(*ErrorResponse); !ok || *e != *tc.want {
					t.Fatalf("answer %#v, want %#v", a, tc.want)
				}
			}
			if g, ok := m.apdu(m.nextData()).(*GetResponseNormal); !ok || g.PIID.Seq() != probe {
				t.Fatalf("answer %#v, want the probe's GET-Response PIID %d", g, probe)
			}
		})
	}
	if !strings.Contains(logs.String(), "bad APDU from master") {
		t.Errorf("undecodable APDUs not logged:\n%s", logs.String())
	}
}
