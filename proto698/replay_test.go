package proto698

import (
	"strings"
	"sync"
	"testing"
	"time"
)

// testClock is the terminal's clock in the replay tests, moved by hand.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

var replayLoc = time.FixedZone("CST", 8*3600)

// replayCfg is an uplink holding testKey whose time tags are checked
// against clock, with srv behind it.
func replayCfg(t *testing.T, clock *testClock, srv Server) UplinkConfig {
	return UplinkConfig{Heartbeat: time.Hour, Location: replayLoc, Server: srv,
		Security: SecurityConfig{Verifier: mustVerifier(t, testKey), Now: clock.Now}}
}

// securedFrame is the frame of a plaintext+MAC request a under testKey
// with random number rn, as a master (or a recording of it) sends it.
func (m *linkMaster) securedFrame(a APDU, rn string) []byte {
	m.tb.Helper()
	payload, err := EncodeAPDU(a)
	if err != nil {
		m.tb.Fatal(err)
	}
	key := mustVerifier(m.tb, testKey)
	return m.frame(m.request(), &SecurityRequest{Payload: payload, Verify: VerifyRNMAC, RN: []byte(rn), MAC: key.RequestMAC([]byte(rn), payload)})
}

// securedDAR sends b and returns the DAR of the answer: the SET's or
// ACTION's result in the SECURITY-Response, or the DAR it carries alone.
func (m *linkMaster) securedDAR(b []byte) DAR {
	m.tb.Helper()
	m.raw(b)
	a := m.apdu(m.nextData())
	sr, ok := a.(*SecurityResponse)
	if !ok {
		m.tb.Fatalf("answer %#v, want SECURITY-Response", a)
	}
	if sr.Kind == SecDAR {
		return sr.DAR
	}
	inner, err := DecodeAPDU(sr.Payload)
	if err != nil {
		m.tb.Fatal(err)
	}
	switch r := inner.(type) {
	case *SetResponseNormal:
		return r.DAR
	case *ActionResponseNormal:
		return r.DAR
	case *GetResponseNormal:
		return r.Result.DAR
	}
	m.tb.Fatalf("answer %#v", inner)
	return 0
}

func tag(t time.Time, delay TI) *TimeTag {
	return &TimeTag{Send: NewDateTimeS(t.In(replayLoc)), Delay: delay}
}

// A SET or ACTION in plaintext+MAC must carry a time tag whose send time
// is within its allowed delay (at most MaxTimeTagDelay) of the
// terminal's clock and not older than the newest accepted; the clock
// settings skip the clock comparisons. Reads need no time tag. Only what
// is accepted reaches the Server.
func TestUplinkTimeTagChecks(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 10, 0, 0, 0, replayLoc)
	clock := &testClock{now: t0}
	srv := &countingServer{}
	m, _ := startLinkMaster(t, replayCfg(t, clock, srv))
	minute := TI{Unit: 1, Interval: 1}
	set := func(tt *TimeTag) APDU {
		return &SetRequestNormal{PIID: 1, OAD: OADFrequency, Value: LongUnsigned(5000), TimeTag: tt}
	}
	setClock := func(tt *TimeTag) APDU {
		return &SetRequestNormal{PIID: 2, OAD: OADTerminalClock, Value: DateTimeS{2026, 11, 27, 8, 0, 0}, TimeTag: tt}
	}
	steps := []struct {
		name string
		now  time.Duration // the terminal's clock, from t0
		req  APDU
		want DAR
	}{
		{"no time tag", 10 * time.Second, set(nil), DARTimeTagInvalid},
		{"GET without time tag", 10 * time.Second, &GetRequestNormal{PIID: 3, OAD: OADFrequency}, DARSuccess},
		{"fresh", 20 * time.Second, set(tag(t0.Add(15*time.Second), minute)), DARSuccess},
		{"same second again, new RN", 20 * time.Second, set(tag(t0.Add(15*time.Second), minute)), DARSuccess},
		{"older than the newest accepted", 20 * time.Second, set(tag(t0.Add(14*time.Second), minute)), DARTimeTagInvalid},
		{"delay passed", 5 * time.Minute, set(tag(t0.Add(3*time.Minute), minute)), DARTimeTagInvalid},
		{"zero delay is the maximum (5 min)", 5 * time.Minute, set(tag(t0.Add(3*time.Minute), TI{})), DARSuccess},
		{"a day's delay is capped at 5 min", 20 * time.Minute, set(tag(t0.Add(10*time.Minute), TI{Unit: 3, Interval: 1})), DARTimeTagInvalid},
		{"sent in the future", 20 * time.Minute, set(tag(t0.Add(22*time.Minute), minute)), DARTimeTagInvalid},
		{"bad delay unit", 20 * time.Minute, set(tag(t0.Add(20*time.Minute), TI{Unit: 9, Interval: 1})), DARTimeTagInvalid},
		{"ACTION without time tag", 20 * time.Minute, &ActionRequestNormal{PIID: 4, OMD: OMDBroadcastTime, Param: DateTimeS{2026, 11, 27, 10, 20, 0}}, DARTimeTagInvalid},
		// The terminal's clock ran 2 h ahead: control is refused, the
		// master's clock setting is taken.
		{"clock ahead: SET", 2*time.Hour + 21*time.Minute, set(tag(t0.Add(21*time.Minute), minute)), DARTimeTagInvalid},
		{"clock ahead: clock setting", 2*time.Hour + 21*time.Minute, setClock(tag(t0.Add(21*time.Minute), minute)), DARSuccess},
		{"clock setting older than the newest accepted", 21 * time.Minute, setClock(tag(t0.Add(20*time.Minute), minute)), DARTimeTagInvalid},
	}
	accepted := int32(0)
	for i, st := range steps {
		clock.set(t0.Add(st.now))
		got := m.securedDAR(m.securedFrame(st.req, "random number "+string(rune('A'+i))))
		if got != st.want {
			t.Errorf("%s: DAR %v, want %v", st.name, got, st.want)
		}
		if _, read := st.req.(*GetRequestNormal); got == DARSuccess && !read {
			accepted++
		}
		if n := srv.writes.Load(); n != accepted {
			t.Fatalf("%s: %d writes reached the server, want %d", st.name, n, accepted)
		}
	}
}

// A recorded plaintext+MAC SET, replayed byte for byte: refused on the
// same run (its random number), and after a restart — a new Uplink with
// nothing remembered, 20 s later, well within the request's allowed
// delay — refused as sent before the terminal started. A fresh request
// after the restart is taken.
func TestUplinkReplayAfterRestart(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 10, 0, 0, 0, replayLoc)
	clock := &testClock{now: t0}
	srv := &countingServer{}
	m, _ := startLinkMaster(t, replayCfg(t, clock, srv))
	clock.set(t0.Add(10 * time.Second))
	set := &SetRequestNormal{PIID: 7, OAD: OADFrequency, Value: LongUnsigned(4990), TimeTag: tag(t0.Add(10*time.Second), TI{Unit: 1, Interval: 1})}
	recorded := m.securedFrame(set, "recorded random")
	if dar := m.securedDAR(recorded); dar != DARSuccess {
		t.Fatalf("original SET: DAR %v", dar)
	}
	clock.set(t0.Add(15 * time.Second))
	if dar := m.securedDAR(recorded); dar != DARSecurityFailed {
		t.Fatalf("replay on the same run: DAR %v, want %v", dar, DARSecurityFailed)
	}

	// The restart: a new Uplink, same key and address, nothing kept.
	clock.set(t0.Add(30 * time.Second))
	m2, logs := startLinkMaster(t, replayCfg(t, clock, srv))
	if dar := m2.securedDAR(recorded); dar != DARTimeTagInvalid {
		t.Fatalf("replay after the restart: DAR %v, want %v", dar, DARTimeTagInvalid)
	}
	if !containsAll(logs.String(), "before the uplink started") {
		t.Errorf("refusal not logged with its reason:\n%s", logs.String())
	}
	fresh := &SetRequestNormal{PIID: 8, OAD: OADFrequency, Value: LongUnsigned(5010), TimeTag: tag(t0.Add(31*time.Second), TI{Unit: 1, Interval: 1})}
	clock.set(t0.Add(32 * time.Second))
	if dar := m2.securedDAR(m2.securedFrame(fresh, "a fresh random")); dar != DARSuccess {
		t.Fatalf("fresh SET after the restart: DAR %v", dar)
	}
	wantEq(t, "writes that reached the server", srv.writes.Load(), int32(2))
}

func containsAll(s string, subs ...string) bool {
	for _, x := range subs {
		if !strings.Contains(s, x) {
			return false
		}
	}
	return true
}
