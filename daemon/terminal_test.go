package daemon

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"holdup/proto698"
)

// cst is the uplink's time zone in these tests (China Standard Time).
var cst = time.FixedZone("CST", 8*3600)

// strictPoints is the points' server the terminal delegates to: it
// answers the OADs it was given and fails the test on any other, and
// records every call.
type strictPoints struct {
	t     *testing.T
	mu    sync.Mutex
	get   map[uint32]proto698.Data
	calls []string
}

func (s *strictPoints) Get(_ context.Context, oad proto698.OAD) (proto698.Data, proto698.DAR) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, "GET "+oad.String())
	d, ok := s.get[oad.Uint32()]
	if !ok {
		s.t.Errorf("points asked for %s", oad)
		return nil, proto698.DARUndefined
	}
	return d, proto698.DARSuccess
}

func (s *strictPoints) Set(_ context.Context, oad proto698.OAD, v proto698.Data) proto698.DAR {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, fmt.Sprintf("SET %s %v", oad, v))
	return proto698.DARSuccess
}

func (s *strictPoints) called() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.calls...)
}

// testTerminal is a terminal on a simulated clock at now, its logs in buf.
func testTerminal(t *testing.T, now time.Time, setClock bool) (*terminal, *SimClock, *strictPoints, *bytes.Buffer) {
	t.Helper()
	var buf bytes.Buffer
	pts := &strictPoints{t: t, get: map[uint32]proto698.Data{0x2F000200: proto698.LongUnsigned(2241)}}
	clk := NewSimClock(func() time.Time { return now })
	term := &terminal{points: pts, addr: []byte{0, 0, 0, 0, 0x03, 0x22}, clock: clk, loc: cst,
		setClock: setClock, maxStep: time.Hour, floor: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC),
		power: proto698.PowerEventConfig{LossV: 154, RestoreV: 187},
		outages: func(context.Context) (int, time.Duration, error) {
			return 3, 95 * time.Second, nil
		},
		log: slog.New(slog.NewTextHandler(&buf, nil))}
	return term, clk, pts, &buf
}

// TestTerminalGet: the terminal's own objects, element selection, and
// every other OAD to the points.
func TestTerminalGet(t *testing.T) {
	now := time.Date(2026, 12, 4, 8, 39, 23, 0, time.UTC)
	term, _, pts, _ := testTerminal(t, now, false)
	ctx := context.Background()
	for _, c := range []struct {
		oad  uint32
		want proto698.Data // nil: dar
		dar  proto698.DAR
	}{
		{0x40010200, proto698.OctetString{0, 0, 0, 0, 0x03, 0x22}, 0},
		{0x40010100, proto698.OctetString{0x40, 0x01}, 0},
		{0x40010201, nil, proto698.DAROutOfRange},
		{0x40010300, nil, proto698.DARUndefined},
		{0x40000200, proto698.DateTimeS{Year: 2026, Month: 12, Day: 4, Hour: 16, Minute: 39, Second: 23}, 0}, // in CST
		{0x40000100, proto698.OctetString{0x40, 0x00}, 0},
		{0x40000500, nil, proto698.DARUndefined},
		{0x31060100, proto698.OctetString{0x31, 0x06}, 0},
		{0x31060200, nil, proto698.DARReadDenied},
		{0x31060300, proto698.Array{proto698.NewOAD(0x33090206)}, 0},
		{0x31060400, proto698.LongUnsigned(3), 0},
		{0x31060500, proto698.LongUnsigned(65535), 0},
		{0x31060600, proto698.Structure{
			proto698.Structure{proto698.BitString{Len: 8, Bits: []byte{0}}, proto698.Unsigned(0), proto698.Unsigned(0), proto698.Array{}},
			proto698.Structure{proto698.LongUnsigned(0), proto698.LongUnsigned(0), proto698.LongUnsigned(0), proto698.LongUnsigned(0),
				proto698.LongUnsigned(1540), proto698.LongUnsigned(1870)}}, 0},
		{0x31060602, proto698.Structure{proto698.LongUnsigned(0), proto698.LongUnsigned(0), proto698.LongUnsigned(0), proto698.LongUnsigned(0),
			proto698.LongUnsigned(1540), proto698.LongUnsigned(1870)}, 0},
		{0x31060603, nil, proto698.DAROutOfRange},
		{0x31060700, proto698.Array{proto698.Structure{proto698.Null{}, proto698.Structure{proto698.DoubleLongUnsigned(3), proto698.DoubleLongUnsigned(95)}}}, 0},
		{0x31060800, proto698.Enum(3), 0},
		{0x31060900, proto698.Bool(true), 0},
		{0x31060A00, nil, proto698.DARUndefined},
		{0x2F000200, proto698.LongUnsigned(2241), 0},
	} {
		d, dar := term.Get(ctx, proto698.NewOAD(c.oad))
		if c.want == nil {
			if dar != c.dar || d != nil {
				t.Errorf("GET %08X = %v, %v; want %v", c.oad, d, dar, c.dar)
			}
			continue
		}
		if dar != proto698.DARSuccess || !reflect.DeepEqual(d, c.want) {
			t.Errorf("GET %08X = %#v, %v; want %#v", c.oad, d, dar, c.want)
		}
		if _, err := proto698.AppendData(nil, d); err != nil {
			t.Errorf("GET %08X: %v cannot be sent: %v", c.oad, d, err)
		}
	}
	if got := pts.called(); !reflect.DeepEqual(got, []string{"GET 2F000200"}) {
		t.Errorf("the points were asked %v, want only 2F000200", got)
	}

	// The outage history unavailable: temporarily.
	term.outages = func(context.Context) (int, time.Duration, error) { return 0, 0, errNoDataStore }
	if _, dar := term.Get(ctx, proto698.NewOAD(0x31060400)); dar != proto698.DARTemporary {
		t.Errorf("3106 record count without a data store: %v", dar)
	}
	// Without points, other objects are undefined.
	term.points = nil
	if _, dar := term.Get(ctx, proto698.NewOAD(0x2F000200)); dar != proto698.DARUndefined {
		t.Errorf("no points: %v", dar)
	}
}

// TestTerminalSetOwnObjects: the address and the event object are
// read-only; other SETs go to the points.
func TestTerminalSetOwnObjects(t *testing.T) {
	term, _, pts, _ := testTerminal(t, time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC), true)
	ctx := context.Background()
	for oad, want := range map[uint32]proto698.DAR{
		0x40010200: proto698.DARReadDenied,
		0x40000100: proto698.DARReadDenied,
		0x40000201: proto698.DARReadDenied,
		0x40000700: proto698.DARUndefined,
		0x31060600: proto698.DARReadDenied,
		0x31060400: proto698.DARReadDenied,
		0x31061100: proto698.DARUndefined,
		0x2F010200: proto698.DARSuccess,
	} {
		if dar := term.Set(ctx, proto698.NewOAD(oad), proto698.LongUnsigned(1)); dar != want {
			t.Errorf("SET %08X = %v, want %v", oad, dar, want)
		}
	}
	if got := pts.called(); !reflect.DeepEqual(got, []string{"SET 2F010200 1"}) {
		t.Errorf("the points were asked %v, want only SET 2F010200", got)
	}
}

// deniedClock is a clock the process may not set (EPERM).
type deniedClock struct{ now time.Time }

func (c deniedClock) Now() time.Time { return c.now }
func (c deniedClock) Set(t time.Time) error {
	return fmt.Errorf("daemon: clock_settime: %w", syscall.EPERM)
}

// TestTerminalClockSetting: SET 40000200 and ACTION 40007F00 step the
// clock where the configuration allows it and the time is plausible;
// every refusal leaves the clock alone and says why.
func TestTerminalClockSetting(t *testing.T) {
	now := time.Date(2026, 12, 4, 8, 0, 0, 0, time.UTC) // 16:00 CST
	dts := func(y, mo, d, h, mi, s int) proto698.DateTimeS {
		return proto698.DateTimeS{Year: uint16(y), Month: uint8(mo), Day: uint8(d), Hour: uint8(h), Minute: uint8(mi), Second: uint8(s)}
	}
	set := func(term *terminal, v proto698.Data) proto698.DAR {
		return term.Set(context.Background(), proto698.NewOAD(0x40000200), v)
	}
	action := func(term *terminal, v proto698.Data) proto698.DAR {
		ret, dar := term.Action(context.Background(), proto698.OMDBroadcastTime, v)
		if ret != nil {
			t.Errorf("broadcast time setting returned %v", ret)
		}
		return dar
	}
	for _, c := range []struct {
		name     string
		allowed  bool
		now      time.Time // the clock before; zero: now
		v        proto698.Data
		call     func(*terminal, proto698.Data) proto698.DAR
		dar      proto698.DAR
		want     time.Time // the clock after, when set
		logWants string
	}{
		{"SET accepted", true, time.Time{}, dts(2026, 12, 4, 16, 5, 30), set, proto698.DARSuccess,
			time.Date(2026, 12, 4, 8, 5, 30, 0, time.UTC), "step=5m30s"},
		{"SET backwards accepted", true, time.Time{}, dts(2026, 12, 4, 15, 59, 58), set, proto698.DARSuccess,
			time.Date(2026, 12, 4, 7, 59, 58, 0, time.UTC), "step=-2s"},
		{"broadcast time setting accepted", true, time.Time{}, dts(2026, 12, 4, 16, 0, 7), action, proto698.DARSuccess,
			time.Date(2026, 12, 4, 8, 0, 7, 0, time.UTC), "request=\"ACTION 40007F00\""},
		{"not allowed", false, time.Time{}, dts(2026, 12, 4, 16, 5, 30), set, proto698.DARReadDenied, time.Time{}, "set_clock = false"},
		{"broadcast not allowed", false, time.Time{}, dts(2026, 12, 4, 16, 5, 30), action, proto698.DARReadDenied, time.Time{}, "set_clock = false"},
		{"not a date_time_s", true, time.Time{}, proto698.DoubleLongUnsigned(1), set, proto698.DARTypeMismatch, time.Time{}, "not a date_time_s"},
		{"no parameter", true, time.Time{}, nil, action, proto698.DARTypeMismatch, time.Time{}, "type=none"},
		{"no such day", true, time.Time{}, dts(2026, 2, 30, 12, 0, 0), set, proto698.DAROutOfRange, time.Time{}, "2026-02-30"},
		{"unspecified fields", true, time.Time{}, dts(0xFFFF, 12, 4, 16, 0, 0), set, proto698.DAROutOfRange, time.Time{}, "refused"},
		{"absurd step", true, time.Time{}, dts(2026, 12, 5, 16, 0, 0), set, proto698.DAROutOfRange, time.Time{}, "step=24h0m0s"},
		{"absurd step back", true, time.Time{}, dts(2026, 12, 4, 14, 59, 59), set, proto698.DAROutOfRange, time.Time{}, "clock_max_step"},
		{"before the build date", true, time.Time{}, dts(2026, 5, 31, 23, 0, 0), set, proto698.DAROutOfRange, time.Time{}, "build date"},
		{"decades ahead", true, time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), dts(2099, 1, 1, 0, 0, 0), set, proto698.DAROutOfRange, time.Time{}, "decades"},
		{"unset clock stepped any distance forward", true, time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), dts(2026, 12, 4, 16, 0, 0), action,
			proto698.DARSuccess, time.Date(2026, 12, 4, 8, 0, 0, 0, time.UTC), "old=2000-01-01T08:00:00+08:00"},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := now
			if !c.now.IsZero() {
				before = c.now
			}
			term, clk, _, logs := testTerminal(t, before, c.allowed)
			if dar := c.call(term, c.v); dar != c.dar {
				t.Fatalf("%v: %v, want %v (log %s)", c.v, dar, c.dar, logs)
			}
			after := clk.Now()
			switch {
			case c.dar == proto698.DARSuccess && (!after.Equal(c.want) || clk.Sets() != 1):
				t.Errorf("clock %v after %d set(s), want %v", after, clk.Sets(), c.want)
			case c.dar != proto698.DARSuccess && (!after.Equal(before) || clk.Sets() != 0):
				t.Errorf("refused, yet the clock is %v (%d sets), was %v", after, clk.Sets(), before)
			}
			if !strings.Contains(logs.String(), c.logWants) {
				t.Errorf("log lacks %q:\n%s", c.logWants, logs)
			}
			if c.dar == proto698.DARSuccess {
				for _, k := range []string{"old=", "new=", "step=", "system clock set by the master station"} {
					if !strings.Contains(logs.String(), k) {
						t.Errorf("the setting's log lacks %q:\n%s", k, logs)
					}
				}
			}
		})
	}

	// Another method of 4000, or of another object: undefined.
	term, clk, _, _ := testTerminal(t, now, true)
	for _, omd := range []proto698.OMD{{OI: 0x4000, Method: 1}, {OI: 0x4001, Method: 127}} {
		if _, dar := term.Action(context.Background(), omd, dts(2026, 12, 4, 16, 0, 1)); dar != proto698.DARUndefined || clk.Sets() != 0 {
			t.Errorf("ACTION %v: %v (%d sets)", omd, dar, clk.Sets())
		}
	}

	// The unit refuses the system call: read/write denied, and the log
	// says what the unit lacks.
	term.clock = deniedClock{now: now}
	var buf bytes.Buffer
	term.log = slog.New(slog.NewTextHandler(&buf, nil))
	if dar := set(term, dts(2026, 12, 4, 16, 0, 5)); dar != proto698.DARReadDenied {
		t.Errorf("EPERM: %v", dar)
	}
	if !strings.Contains(buf.String(), "CAP_SYS_TIME") {
		t.Errorf("the EPERM log names no remedy:\n%s", &buf)
	}
	if !errors.Is(deniedClock{}.Set(now), fs.ErrPermission) {
		t.Fatal("EPERM is not fs.ErrPermission")
	}
}

// TestSimClock: a SimClock keeps its offset from the base as the base
// advances.
func TestSimClock(t *testing.T) {
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	c := NewSimClock(func() time.Time { return base })
	if err := c.Set(base.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	base = base.Add(10 * time.Second)
	if got := c.Now(); !got.Equal(time.Date(2026, 1, 2, 2, 4, 15, 0, time.UTC)) || c.Sets() != 1 {
		t.Fatalf("Now %v, %d sets", got, c.Sets())
	}
}

// TestTerminalOverUplink: the master station reads the terminal's own
// objects and a point through a running Uplink, and sets the clock over
// the authenticated (plaintext+MAC) path, SET and the broadcast time
// setting alike; the same SET unauthenticated is refused.
func TestTerminalOverUplink(t *testing.T) {
	key := bytes.Repeat([]byte{0x5A}, 32)
	ver, err := proto698.NewHMACVerifier(key)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 4, 8, 0, 0, 0, time.UTC)
	term, clk, _, _ := testTerminal(t, now, true)
	m, err := proto698.NewMasterSim("127.0.0.1:0", cst, nil)
	if err != nil {
		t.Fatal(err)
	}
	addr, err := proto698.ParseAddress(proto698.AddrSingle, "000000000322")
	if err != nil {
		t.Fatal(err)
	}
	up, err := proto698.NewUplink(proto698.UplinkConfig{Master: m.Addr(), Addr: addr, Location: cst, Server: term,
		Security: proto698.SecurityConfig{Verifier: ver}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); _ = m.Run(ctx) }()
	go func() { defer wg.Done(); _ = up.Run(ctx) }()
	defer func() { cancel(); wg.Wait() }()
	for e := range m.Events() {
		if e.Kind == proto698.MasterLogin {
			break
		}
	}
	rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
	defer rcancel()

	res, err := m.GetList(rctx, []proto698.OAD{proto698.OADTerminalAddress, proto698.OADTerminalClock, proto698.NewOAD(0x31060400), proto698.NewOAD(0x2F000200)})
	if err != nil {
		t.Fatal(err)
	}
	want := []proto698.Data{proto698.OctetString{0, 0, 0, 0, 0x03, 0x22}, proto698.DateTimeS{Year: 2026, Month: 12, Day: 4, Hour: 16},
		proto698.LongUnsigned(3), proto698.LongUnsigned(2241)}
	for i, r := range res {
		if r.DAR != proto698.DARSuccess || !reflect.DeepEqual(r.Data, want[i]) {
			t.Errorf("GET %s = %#v, %v; want %#v", r.OAD, r.Data, r.DAR, want[i])
		}
	}

	// Plain SET: refused by the uplink before the terminal sees it.
	v := proto698.DateTimeS{Year: 2026, Month: 12, Day: 4, Hour: 16, Minute: 0, Second: 9}
	if err := m.Set(rctx, proto698.OADTerminalClock, v); !errors.Is(err, proto698.ErrDAR) {
		t.Fatalf("plain SET of the clock: %v, want a DAR", err)
	}
	if clk.Sets() != 0 {
		t.Fatal("a plain SET set the clock")
	}
	m.Secure(&proto698.MasterSecurity{Verify: proto698.VerifyRNMAC, Key: ver})
	if err := m.Set(rctx, proto698.OADTerminalClock, v); err != nil {
		t.Fatalf("authenticated SET of the clock: %v", err)
	}
	if got := clk.Now(); !got.Equal(now.Add(9 * time.Second)) {
		t.Fatalf("clock %v after the SET", got)
	}
	a, err := m.Request(rctx, func(p proto698.PIID) proto698.APDU {
		return &proto698.ActionRequestNormal{PIID: p, OMD: proto698.OMDBroadcastTime,
			Param: proto698.DateTimeS{Year: 2026, Month: 12, Day: 4, Hour: 16, Minute: 0, Second: 20}}
	})
	if err != nil {
		t.Fatal(err)
	}
	if r, ok := a.(*proto698.ActionResponseNormal); !ok || r.DAR != proto698.DARSuccess {
		t.Fatalf("broadcast time setting answered %#v", a)
	}
	if got := clk.Now(); !got.Equal(now.Add(20*time.Second)) || clk.Sets() != 2 {
		t.Fatalf("clock %v after the broadcast time setting (%d sets)", got, clk.Sets())
	}
}
