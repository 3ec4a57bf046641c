package proto698

import (
	"context"
	"errors"
	"testing"
	"time"
)

// refusals collects what SecurityConfig.OnRefused is told.
type refusals chan Refusal

func (r refusals) next(t *testing.T, what string) Refusal {
	t.Helper()
	select {
	case x := <-r:
		return x
	case <-time.After(5 * time.Second):
		t.Fatalf("%s: OnRefused not called", what)
		return Refusal{}
	}
}

func (r refusals) none(t *testing.T, what string) {
	t.Helper()
	select {
	case x := <-r:
		t.Fatalf("%s: OnRefused called: %v", what, x)
	default:
	}
}

// Every request refused on security grounds is told to OnRefused with its
// reason and DAR, once; reads, accepted control and requests refused for
// other reasons are not.
func TestUplinkOnRefused(t *testing.T) {
	srv := newTableServer()
	cfg := fastUplink()
	cfg.Server = srv
	got := make(refusals, 16)
	cfg.Security.OnRefused = func(r Refusal) { got <- r }
	r := startSecured(t, cfg, VerifyRNMAC)
	r.await(MasterLogin, 2*time.Second)
	ctx := context.Background()
	key := mustVerifier(t, testKey)
	set := func(p PIID) APDU {
		return &SetRequestNormal{PIID: p, OAD: OADDateTime, Value: DateTimeS{2030, 1, 1, 0, 0, 0}}
	}
	stale := &TimeTag{Send: NewDateTimeS(time.Now().Add(-10 * time.Minute).In(r.loc)), Delay: TI{Unit: 1, Interval: 1}}
	for _, tc := range []struct {
		name    string
		sec     *MasterSecurity // nil: plain
		sa      *ServerAddress
		req     func(PIID) APDU
		reason  string // "": not refused
		dar     DAR
		service string
		err     error
	}{
		{name: "plaintext+MAC SET", sec: &MasterSecurity{Verify: VerifyRNMAC, Key: key, RN: []byte("random number 01")}, req: set},
		{name: "its random number again", sec: &MasterSecurity{Verify: VerifyRNMAC, Key: key, RN: []byte("random number 01")}, req: set,
			reason: "replayed random number", dar: DARSecurityFailed, service: "SECURITY-Request", err: ErrReplayed},
		{name: "bad MAC", sec: &MasterSecurity{Verify: VerifyRNMAC, BadMAC: true}, req: set,
			reason: "MAC", dar: DAREsamFailed, service: "SECURITY-Request", err: ErrBadMAC},
		{name: "short random number", sec: &MasterSecurity{Verify: VerifyRNMAC, Key: key, RN: []byte("short")}, req: set,
			reason: "random number too short", dar: DARSecurityFailed, service: "SECURITY-Request", err: ErrInvalid},
		{name: "stale time tag", sec: &MasterSecurity{Verify: VerifyRNMAC, Key: key, TimeTag: stale}, req: set,
			reason: "time tag", dar: DARTimeTagInvalid, service: "SET-Request-Normal", err: ErrReplayed}, // older than the first SET
		{name: "no time tag", sec: &MasterSecurity{Verify: VerifyRNMAC, Key: key, NoTimeTag: true}, req: set,
			reason: "time tag", dar: DARTimeTagInvalid, service: "SET-Request-Normal", err: ErrInvalid},
		{name: "plain SET", req: set, reason: "unauthenticated control", dar: DARSecurityMismatch, service: "SET-Request-Normal"},
		{name: "SET with RN, no MAC", sec: &MasterSecurity{Verify: VerifyRN, Key: key}, req: set,
			reason: "unauthenticated control", dar: DARSecurityMismatch, service: "SET-Request-Normal"},
		{name: "group address", sec: &MasterSecurity{Verify: VerifyRNMAC, Key: key}, req: set, sa: ptr(mustParse(t, AddrGroup, "000000000322")),
			reason: "control to a wildcard or group address", dar: DARAddressAbnormal, service: "SET-Request-Normal"},
		{name: "ciphertext", req: func(PIID) APDU {
			return &SecurityRequest{Cipher: true, Payload: []byte{1, 2, 3, 4}, Verify: VerifySIDMAC, SID: SID{Tag: 0x81000000, Data: []byte{1}}, MAC: []byte{1, 2, 3, 4}}
		}, reason: "ciphertext (no ESAM to decrypt it)", dar: DARSecurityMismatch, service: "SECURITY-Request", err: ErrCipherNotSupported},
		{name: "plain GET", req: func(p PIID) APDU { return &GetRequestNormal{PIID: p, OAD: OADFrequency} }},
		{name: "SET the server refuses (not writable)", sec: &MasterSecurity{Verify: VerifyRNMAC, Key: key},
			req: func(p PIID) APDU { return &SetRequestNormal{PIID: p, OAD: OADFrequency, Value: LongUnsigned(1)} }},
	} {
		r.master.Secure(tc.sec)
		var err error
		if tc.sa != nil {
			_, err = r.master.RequestTo(ctx, *tc.sa, tc.req)
		} else {
			_, err = r.master.Request(ctx, tc.req)
		}
		drain(srv.started)
		if tc.reason == "" {
			if err != nil && !errors.Is(err, ErrDAR) {
				t.Fatalf("%s: %v", tc.name, err)
			}
			got.none(t, tc.name)
			continue
		}
		x := got.next(t, tc.name)
		if x.Reason != tc.reason || x.DAR != tc.dar || x.Service != tc.service || (tc.err != nil) != (x.Err != nil) || (tc.err != nil && !errors.Is(x.Err, tc.err)) {
			t.Errorf("%s: refusal %+v, want %s / %v / %s / %v", tc.name, x, tc.service, tc.dar, tc.reason, tc.err)
		}
		got.none(t, tc.name+" (once)")
	}
}

func ptr[T any](v T) *T { return &v }

func drain[T any](ch chan T) {
	for {
		select {
		case <-ch:
		default:
			return
		}
	}
}

func TestRefusalString(t *testing.T) {
	for _, tc := range []struct {
		r    Refusal
		want string
	}{
		{Refusal{Service: "SET-Request-Normal", Reason: "unauthenticated control", DAR: DARSecurityMismatch},
			"SET-Request-Normal refused: unauthenticated control (DAR " + DARSecurityMismatch.String() + ")"},
		{Refusal{Service: "SECURITY-Request", Reason: "MAC", DAR: DAREsamFailed, Err: ErrBadMAC},
			"SECURITY-Request refused: MAC (DAR " + DAREsamFailed.String() + "): MAC does not verify"},
	} {
		if got := tc.r.String(); got != tc.want {
			t.Errorf("%q, want %q", got, tc.want)
		}
	}
}
