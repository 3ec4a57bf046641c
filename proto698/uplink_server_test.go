package proto698

import (
	"bytes"
	"context"
	"errors"
	"io"
	"reflect"
	"sync"
	"testing"
	"time"
)

// tableServer is a terminal's attribute store: it answers what it holds,
// refuses unknown attributes (object undefined), writes to read-only ones
// (read/write denied) and values of another type (type mismatch). Calls on
// a gated OAD wait until the gate opens — or ctx ends, unless ignoreCtx
// (a Server that does not honour cancellation).
type tableServer struct {
	mu        sync.Mutex
	values    map[OAD]Data
	writable  map[OAD]bool
	gates     map[OAD]chan struct{}
	ignoreCtx bool
	started   chan OAD // each call's OAD as it starts
}

func newTableServer() *tableServer {
	return &tableServer{
		values: map[OAD]Data{
			OADVoltageAll: Array{LongUnsigned(2301), LongUnsigned(2299), LongUnsigned(2310)},
			OADCurrentAll: Null{}, // not measured yet: invalid
			OADFrequency:  LongUnsigned(5001),
			OADDateTime:   DateTimeS{2026, 11, 27, 8, 30, 0},
		},
		writable: map[OAD]bool{OADDateTime: true},
		gates:    map[OAD]chan struct{}{},
		started:  make(chan OAD, 16),
	}
}

// gate makes calls on o wait; open releases them.
func (s *tableServer) gate(o OAD) (open func()) {
	ch := make(chan struct{})
	s.mu.Lock()
	s.gates[o] = ch
	s.mu.Unlock()
	var once sync.Once
	return func() { once.Do(func() { close(ch) }) }
}

func (s *tableServer) wait(ctx context.Context, o OAD) bool {
	s.started <- o
	s.mu.Lock()
	g := s.gates[o]
	s.mu.Unlock()
	if g == nil {
		return true
	}
	if s.ignoreCtx {
		<-g
		return true
	}
	select {
	case <-g:
		return true
	case <-ctx.Done():
		return false
	}
}

func (s *tableServer) Get(ctx context.Context, o OAD) (Data, DAR) {
	if !s.wait(ctx, o) {
		return nil, DARRequestTimeout
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.values[o]
	if !ok {
		return nil, DARUndefined
	}
	return d, DARSuccess
}

func (s *tableServer) Set(ctx context.Context, o OAD, v Data) DAR {
	if !s.wait(ctx, o) {
		return DARRequestTimeout
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.values[o]
	switch {
	case !ok:
		return DARUndefined
	case !s.writable[o]:
		return DARReadDenied
	case !sameShape(cur, v):
		return DARTypeMismatch
	}
	s.values[o] = v
	return DARSuccess
}

func wantDAR(t *testing.T, what string, err error, want DAR) {
	t.Helper()
	var de *DARError
	if !errors.As(err, &de) || de.DAR != want || !errors.Is(err, ErrDAR) {
		t.Fatalf("%s: %v, want DAR %v", what, err, want)
	}
}

// Reads and plaintext+MAC writes, each answered inside a
// SECURITY-Response whose MAC the master checks.
func TestUplinkServesMasterRequests(t *testing.T) {
	srv := newTableServer()
	cfg := fastUplink()
	cfg.Server = srv
	r := startSecured(t, cfg, VerifyRNMAC)
	r.await(MasterLogin, 2*time.Second)
	m, ctx := r.master, context.Background()
	unknown := NewOAD(0x20020200)

	for _, tc := range []struct {
		name string
		oad  OAD
		want Data
		dar  DAR
	}{
		{"value", OADVoltageAll, Array{LongUnsigned(2301), LongUnsigned(2299), LongUnsigned(2310)}, 0},
		{"invalid value is NULL", OADCurrentAll, Null{}, 0},
		{"unknown attribute", unknown, nil, DARUndefined},
	} {
		t.Run("GET "+tc.name, func(t *testing.T) {
			got, err := m.Get(ctx, tc.oad)
			if tc.dar != DARSuccess {
				wantDAR(t, "GET", err, tc.dar)
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("GET %v = %#v, %v; want %#v", tc.oad, got, err, tc.want)
			}
		})
	}

	t.Run("GET list", func(t *testing.T) {
		got, err := m.GetList(ctx, []OAD{OADFrequency, OADCurrentAll, unknown, OADVoltageAll})
		want := []ResultNormal{
			{OAD: OADFrequency, Data: LongUnsigned(5001)},
			{OAD: OADCurrentAll, Data: Null{}},
			{OAD: unknown, DAR: DARUndefined},
			{OAD: OADVoltageAll, Data: Array{LongUnsigned(2301), LongUnsigned(2299), LongUnsigned(2310)}},
		}
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("GET list = %+v, %v; want %+v", got, err, want)
		}
	})

	for _, tc := range []struct {
		name  string
		oad   OAD
		value Data
		dar   DAR
		after Data // read back after the SET
	}{
		{"writable", OADDateTime, DateTimeS{2027, 1, 2, 3, 4, 5}, 0, DateTimeS{2027, 1, 2, 3, 4, 5}},
		{"wrong type", OADDateTime, Unsigned(1), DARTypeMismatch, DateTimeS{2027, 1, 2, 3, 4, 5}},
		{"read-only refused", OADFrequency, LongUnsigned(6000), DARReadDenied, LongUnsigned(5001)},
		{"unknown refused", unknown, Unsigned(1), DARUndefined, nil},
	} {
		t.Run("SET "+tc.name, func(t *testing.T) {
			err := m.Set(ctx, tc.oad, tc.value)
			if tc.dar == DARSuccess {
				if err != nil {
					t.Fatalf("SET %v: %v", tc.oad, err)
				}
			} else {
				wantDAR(t, "SET", err, tc.dar)
			}
			if tc.after != nil {
				if got, err := m.Get(ctx, tc.oad); err != nil || !reflect.DeepEqual(got, tc.after) {
					t.Errorf("read back %v = %#v, %v; want %#v", tc.oad, got, err, tc.after)
				}
			}
		})
	}
	if st := r.master.Stats(); st.Unauthorized != 0 || st.Logins != 1 {
		t.Errorf("stats %+v: want one login, nothing unauthorised", st)
	}
}

func TestUplinkWithoutServerRefuses(t *testing.T) {
	r := startSecured(t, fastUplink(), VerifyRNMAC)
	r.await(MasterLogin, 2*time.Second)
	ctx := context.Background()
	_, err := r.master.Get(ctx, OADVoltageAll)
	wantDAR(t, "GET", err, DARUndefined)
	wantDAR(t, "SET", r.master.Set(ctx, OADDateTime, DateTimeS{2027, 1, 1, 0, 0, 0}), DARUndefined)
	res, err := r.master.GetList(ctx, []OAD{OADVoltageAll, OADFrequency})
	want := []ResultNormal{{OAD: OADVoltageAll, DAR: DARUndefined}, {OAD: OADFrequency, DAR: DARUndefined}}
	if err != nil || !reflect.DeepEqual(res, want) {
		t.Errorf("GET list = %+v, %v; want %+v", res, err, want)
	}
}

type getResult struct {
	d   Data
	err error
}

func (r *uplinkRig) getAsync(o OAD) <-chan getResult {
	ch := make(chan getResult, 1)
	go func() {
		d, err := r.master.Get(context.Background(), o)
		ch <- getResult{d, err}
	}()
	return ch
}

func recvStarted(t *testing.T, s *tableServer) OAD {
	t.Helper()
	select {
	case o := <-s.started:
		return o
	case <-time.After(5 * time.Second):
		t.Fatal("the server was not called")
		return OAD{}
	}
}

func recvGet(t *testing.T, ch <-chan getResult) getResult {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("no answer to GET")
		return getResult{}
	}
}

// A Server call that takes long does not hold up the link: heartbeats are
// sent and answered and a power report is delivered while it runs.
func TestUplinkSlowServerDoesNotBlockLink(t *testing.T) {
	srv := newTableServer()
	open := srv.gate(OADFrequency)
	defer open()
	cfg := fastUplink()
	cfg.Server = srv
	cfg.RequestTimeout = time.Minute
	r := startUplink(t, cfg)
	r.await(MasterLogin, 2*time.Second)

	res := r.getAsync(OADFrequency)
	recvStarted(t, srv)
	r.await(MasterHeartbeat, 2*time.Second)
	r.await(MasterHeartbeat, 2*time.Second)
	ev := PowerEvent{Seq: 3, Kind: PowerOff, Start: time.Date(2026, 11, 27, 1, 0, 0, 0, r.loc)}
	if err := r.up.ReportPowerEvent(ev); err != nil {
		t.Fatal(err)
	}
	if got := r.await(MasterReport, 2*time.Second); got.Event.Key() != ev.Key() {
		t.Errorf("report %v, want %v", got.Event.Key(), ev.Key())
	}
	select {
	case g := <-res:
		t.Fatalf("GET answered while the server call was still running: %+v", g)
	default:
	}
	open()
	if g := recvGet(t, res); g.err != nil || g.d != LongUnsigned(5001) {
		t.Errorf("GET after the slow call = %v, %v", g.d, g.err)
	}
}

// A Server that does not answer within RequestTimeout — even one that
// ignores ctx — gets the master a DAR request timeout; in a list only the
// unanswered OADs do.
func TestUplinkRequestTimeout(t *testing.T) {
	srv := newTableServer()
	srv.ignoreCtx = true
	open := srv.gate(OADFrequency)
	defer open()
	cfg := fastUplink()
	cfg.Server = srv
	cfg.RequestTimeout = 100 * time.Millisecond
	r := startUplink(t, cfg)
	r.await(MasterLogin, 2*time.Second)
	ctx := context.Background()

	_, err := r.master.Get(ctx, OADFrequency)
	wantDAR(t, "GET of a stuck attribute", err, DARRequestTimeout)
	res, err := r.master.GetList(ctx, []OAD{OADVoltageAll, OADFrequency, OADDateTime})
	want := []ResultNormal{
		{OAD: OADVoltageAll, Data: Array{LongUnsigned(2301), LongUnsigned(2299), LongUnsigned(2310)}},
		{OAD: OADFrequency, DAR: DARRequestTimeout},
		{OAD: OADDateTime, DAR: DARRequestTimeout}, // never asked: the list stopped at the stuck OAD
	}
	if err != nil || !reflect.DeepEqual(res, want) {
		t.Errorf("GET list = %+v, %v; want %+v", res, err, want)
	}
	// The link is fine and other requests are served (2 of 4 slots are
	// held by the stuck calls).
	if d, err := r.master.Get(ctx, OADDateTime); err != nil || d != (DateTimeS{2026, 11, 27, 8, 30, 0}) {
		t.Errorf("GET after timeouts = %v, %v", d, err)
	}
	r.await(MasterHeartbeat, 2*time.Second)
}

// At most MaxRequests requests reach the Server at once; one more is
// refused at once with DAR temporarily unavailable. Answers that come back
// out of order are matched to their requests by PIID.
func TestUplinkConcurrencyBound(t *testing.T) {
	srv := newTableServer()
	openV, openF := srv.gate(OADVoltageAll), srv.gate(OADFrequency)
	defer openV()
	defer openF()
	cfg := fastUplink()
	cfg.Server = srv
	cfg.MaxRequests = 2
	cfg.RequestTimeout = time.Minute
	cfg.Security.AllowPlainControl = true // the bound, not the authentication, is tested
	r := startUplink(t, cfg)
	r.await(MasterLogin, 2*time.Second)

	resV := r.getAsync(OADVoltageAll)
	recvStarted(t, srv)
	resF := r.getAsync(OADFrequency)
	recvStarted(t, srv)
	_, err := r.master.Get(context.Background(), OADDateTime)
	wantDAR(t, "third concurrent GET", err, DARTemporary)
	wantDAR(t, "SET while busy", r.master.Set(context.Background(), OADDateTime, DateTimeS{2027, 1, 1, 0, 0, 0}), DARTemporary)
	select {
	case o := <-srv.started:
		t.Fatalf("server called for %v beyond the bound", o)
	default:
	}

	openF() // the later request is answered first
	if g := recvGet(t, resF); g.err != nil || g.d != LongUnsigned(5001) {
		t.Errorf("frequency = %v, %v", g.d, g.err)
	}
	openV()
	if g := recvGet(t, resV); g.err != nil || !reflect.DeepEqual(g.d, Array{LongUnsigned(2301), LongUnsigned(2299), LongUnsigned(2310)}) {
		t.Errorf("voltage = %v, %v", g.d, g.err)
	}
	if d, err := r.master.Get(context.Background(), OADDateTime); err != nil || d != (DateTimeS{2026, 11, 27, 8, 30, 0}) {
		t.Errorf("GET after the slots freed = %v, %v", d, err)
	}
}

func TestMasterSimRequestWithoutTerminal(t *testing.T) {
	m, err := NewMasterSim("127.0.0.1:0", time.UTC, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); m.Run(ctx) }()
	if _, err := m.Get(context.Background(), OADVoltageAll); !errors.Is(err, ErrNotLoggedIn) {
		t.Errorf("GET with no terminal: %v, want ErrNotLoggedIn", err)
	}
	if err := m.Set(context.Background(), OADDateTime, DateTimeS{}); !errors.Is(err, ErrNotLoggedIn) {
		t.Errorf("SET with no terminal: %v, want ErrNotLoggedIn", err)
	}
	if _, err := m.GetList(context.Background(), nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("empty GET list: %v, want ErrInvalid", err)
	}
	cancel()
	<-done
	if _, err := m.Get(context.Background(), OADVoltageAll); err == nil {
		t.Error("GET after Run ended succeeded")
	}
}

// A request pending when the link drops fails at once, and the terminal's
// Server call is cancelled.
func TestMasterSimRequestFailsWhenLinkDrops(t *testing.T) {
	srv := newTableServer()
	open := srv.gate(OADFrequency)
	defer open()
	cfg := fastUplink()
	cfg.Server = srv
	cfg.RequestTimeout = time.Minute
	r := startUplink(t, cfg)
	r.await(MasterLogin, 2*time.Second)
	res := r.getAsync(OADFrequency)
	recvStarted(t, srv)
	r.master.DropLinks()
	if g := recvGet(t, res); !errors.Is(g.err, io.ErrUnexpectedEOF) {
		t.Errorf("GET across a dropped link: %v, %v; want ErrUnexpectedEOF", g.d, g.err)
	}
	// After the terminal logs in again, requests work on the new link.
	r.await(MasterLogin, 2*time.Second)
	if d, err := r.master.Get(context.Background(), OADDateTime); err != nil || d == nil {
		t.Errorf("GET on the new link = %v, %v", d, err)
	}
}

// The context bounds the master's wait; the late answer is then ignored.
func TestMasterSimRequestContext(t *testing.T) {
	srv := newTableServer()
	open := srv.gate(OADFrequency)
	defer open()
	cfg := fastUplink()
	cfg.Server = srv
	cfg.RequestTimeout = time.Minute
	r := startUplink(t, cfg)
	r.await(MasterLogin, 2*time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { _, err := r.master.Get(ctx, OADFrequency); errc <- err }()
	recvStarted(t, srv)
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled GET: %v", err)
	}
	open() // the answer arrives for a request nobody waits for
	if d, err := r.master.Get(context.Background(), OADVoltageAll); err != nil || d == nil {
		t.Errorf("next GET = %v, %v", d, err)
	}
}

// The whole path the daemon will use: the master reads and writes the
// AC-sampling unit (on a pty) through the terminal's uplink; the Server
// maps the client's errors to DARs.
func TestUplinkServesACUnitEndToEnd(t *testing.T) {
	_, c := loadedSim(t, ACSimConfig{})
	cfg := fastUplink()
	cfg.Server = acServer{c}
	r := startSecured(t, cfg, VerifyRNMAC)
	r.await(MasterLogin, 2*time.Second)
	ctx := context.Background()
	if d, err := r.master.Get(ctx, NewOAD(0x20010201)); err != nil || d != DoubleLong(1234) {
		t.Errorf("phase A current via the terminal = %v, %v", d, err)
	}
	if err := r.master.Set(ctx, OADDateTime, DateTimeS{2027, 5, 6, 7, 8, 9}); err != nil {
		t.Errorf("SET date-time via the terminal: %v", err)
	}
	if d, err := r.master.Get(ctx, OADDateTime); err != nil || d != (DateTimeS{2027, 5, 6, 7, 8, 9}) {
		t.Errorf("date-time read back = %v, %v", d, err)
	}
	wantDAR(t, "SET voltage via the terminal", r.master.Set(ctx, OADVoltagePhase(1), LongUnsigned(1)), DARReadDenied)
}

// acServer answers the master from the AC-sampling unit.
type acServer struct{ c *ACClient }

func darOf(err error) DAR {
	var de *DARError
	switch {
	case errors.As(err, &de):
		return de.DAR
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return DARRequestTimeout
	}
	return DARHardware
}

func (s acServer) Get(ctx context.Context, o OAD) (Data, DAR) {
	d, err := s.c.Get(ctx, o)
	if err != nil {
		return nil, darOf(err)
	}
	return d, DARSuccess
}

func (s acServer) Set(ctx context.Context, o OAD, v Data) DAR {
	if err := s.c.Set(ctx, o, v); err != nil {
		return darOf(err)
	}
	return DARSuccess
}

// Get-Result is CHOICE { DAR [0], Data [1] }: an invalid value is the Data
// choice carrying NULL (01 00), not a DAR.
func TestGetResponseNullEncoding(t *testing.T) {
	for _, tc := range []struct {
		name string
		a    APDU
		want []byte
	}{
		{"NULL value", &GetResponseNormal{PIID: 5, Result: ResultNormal{OAD: OADCurrentAll, Data: Null{}}},
			[]byte{0x85, 0x01, 0x05, 0x20, 0x01, 0x02, 0x00, 0x01, 0x00, 0x00, 0x00}},
		{"DAR", &GetResponseNormal{PIID: 5, Result: ResultNormal{OAD: OADCurrentAll, DAR: DARUndefined}},
			[]byte{0x85, 0x01, 0x05, 0x20, 0x01, 0x02, 0x00, 0x00, 0x04, 0x00, 0x00}},
		{"list with NULL", &GetResponseNormalList{PIID: 6, Results: []ResultNormal{{OAD: OADFrequency, Data: Null{}}, {OAD: OADFrequency, DAR: DARRequestTimeout}}},
			[]byte{0x85, 0x02, 0x06, 0x02, 0x20, 0x0F, 0x02, 0x00, 0x01, 0x00, 0x20, 0x0F, 0x02, 0x00, 0x00, 0x21, 0x00, 0x00}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := EncodeAPDU(tc.a)
			if err != nil || !bytes.Equal(b, tc.want) {
				t.Fatalf("encoded % X, %v; want % X", b, err, tc.want)
			}
			back, err := DecodeAPDU(b)
			if err != nil || !reflect.DeepEqual(back, tc.a) {
				t.Errorf("decoded %#v, %v; want %#v", back, err, tc.a)
			}
		})
	}
}
