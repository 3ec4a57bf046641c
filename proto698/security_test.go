package proto698

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"reflect"
	"testing"
	"time"
)

var testKey = []byte("holdup test key: not for any terminal")

func mustVerifier(t testing.TB, key []byte) *HMACVerifier {
	t.Helper()
	v, err := NewHMACVerifier(key)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// startSecured starts an uplink holding testKey and a master sending
// every request in SECURITY-Request with verify (VerifyRN or
// VerifyRNMAC) under the same key.
func startSecured(t *testing.T, cfg UplinkConfig, verify uint8) *uplinkRig {
	t.Helper()
	key := mustVerifier(t, testKey)
	cfg.Security.Verifier = key
	r := startUplink(t, cfg)
	r.master.Secure(&MasterSecurity{Verify: verify, Key: key})
	return r
}

func TestHMACVerifier(t *testing.T) {
	v := mustVerifier(t, testKey)
	other := mustVerifier(t, []byte("another key of sixteen+ bytes"))
	rn, apdu := []byte("0123456789abcdef"), mustHex("0601014000020019")
	good := v.RequestMAC(rn, apdu)
	respMAC, _ := v.ResponseMAC(rn, apdu)
	for _, tc := range []struct {
		name          string
		rn, apdu, mac []byte
		ok            bool
	}{
		{"good", rn, apdu, good, true},
		{"other key", rn, apdu, other.RequestMAC(rn, apdu), false},
		{"other RN", []byte("0123456789abcdeF"), apdu, good, false},
		{"other APDU", rn, mustHex("0601014000020018"), good, false},
		{"truncated MAC", rn, apdu, good[:4], false},
		{"response MAC as request MAC", rn, apdu, respMAC, false},
		{"RN bytes moved into the APDU", rn[:15], append([]byte{rn[15]}, apdu...), good, false},
		{"no MAC", rn, apdu, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := v.VerifyRequest(tc.rn, tc.apdu, tc.mac)
			if tc.ok != (err == nil) || (err != nil && !errors.Is(err, ErrBadMAC)) {
				t.Fatalf("VerifyRequest = %v, want ok=%v", err, tc.ok)
			}
		})
	}
	if err := v.VerifyResponse(rn, apdu, respMAC); err != nil {
		t.Errorf("VerifyResponse: %v", err)
	}
	if err := v.VerifyResponse(rn, apdu, good); !errors.Is(err, ErrBadMAC) {
		t.Errorf("a request MAC passed as response MAC: %v", err)
	}
	if _, err := NewHMACVerifier(make([]byte, MinKeyLen-1)); !errors.Is(err, ErrInvalid) {
		t.Errorf("short key: %v", err)
	}
}

func TestReplayCache(t *testing.T) {
	c := newReplayCache(3)
	rn := func(i byte) []byte { return []byte{i, i, i, i, i, i, i, i} }
	for i := range byte(3) {
		if !c.admit(rn(i)) {
			t.Fatalf("fresh RN %d refused", i)
		}
	}
	if c.admit(rn(1)) {
		t.Fatal("replayed RN 1 admitted")
	}
	if !c.admit(rn(3)) { // pushes RN 0 out of the window
		t.Fatal("fresh RN 3 refused")
	}
	if !c.admit(rn(0)) {
		t.Fatal("RN 0, out of the window, refused")
	}
	if c.admit(rn(3)) || c.admit(rn(2)) {
		t.Fatal("an RN in the window admitted twice")
	}
}

func TestSecurityDAR(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want DAR
	}{
		{ErrBadMAC, DAREsamFailed},
		{ErrReplayed, DARSecurityFailed},
		{errors.New("ESAM did not answer"), DAREsamFailed},
	} {
		if got := SecurityDAR(tc.err); got != tc.want {
			t.Errorf("SecurityDAR(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

// Over plain TCP: reads in plaintext work; a SET in plaintext, or secured
// with a random number but no MAC, is refused with DAR security
// authentication mismatch and never reaches the Server.
func TestUplinkPlainControlRefused(t *testing.T) {
	srv := newTableServer()
	cfg := fastUplink()
	cfg.Server = srv
	cfg.Security.Verifier = mustVerifier(t, testKey)
	r := startUplink(t, cfg)
	r.await(MasterLogin, 2*time.Second)
	ctx := context.Background()
	if d, err := r.master.Get(ctx, OADFrequency); err != nil || d != LongUnsigned(5001) {
		t.Fatalf("plaintext GET = %v, %v", d, err)
	}
	<-srv.started
	wantDAR(t, "plaintext SET", r.master.Set(ctx, OADDateTime, DateTimeS{2030, 1, 1, 0, 0, 0}), DARSecurityMismatch)
	r.master.Secure(&MasterSecurity{Verify: VerifyRN, Key: mustVerifier(t, testKey)})
	if d, err := r.master.Get(ctx, OADFrequency); err != nil || d != LongUnsigned(5001) {
		t.Fatalf("secured GET (RN, response MAC checked) = %v, %v", d, err)
	}
	<-srv.started
	wantDAR(t, "SET with RN but no MAC", r.master.Set(ctx, OADDateTime, DateTimeS{2030, 1, 1, 0, 0, 0}), DARSecurityMismatch)
	select {
	case o := <-srv.started:
		t.Fatalf("refused SET reached the server (%v)", o)
	default:
	}
	r.master.Secure(nil)
	if d, _ := r.master.Get(ctx, OADDateTime); d != (DateTimeS{2026, 11, 27, 8, 30, 0}) {
		t.Errorf("date-time after refused SETs = %v, want unchanged", d)
	}
}

// A SET with a MAC that does not verify, and one replaying the random
// number of an accepted SET, are refused with their DARs; lab mode lets
// plaintext control through.
func TestUplinkBadMACAndReplay(t *testing.T) {
	srv := newTableServer()
	cfg := fastUplink()
	cfg.Server = srv
	r := startSecured(t, cfg, VerifyRNMAC)
	r.await(MasterLogin, 2*time.Second)
	ctx := context.Background()
	key := mustVerifier(t, testKey)
	rn := []byte("fixed random num")

	r.master.Secure(&MasterSecurity{Verify: VerifyRNMAC, BadMAC: true})
	wantDAR(t, "SET with a bad MAC", r.master.Set(ctx, OADDateTime, DateTimeS{2030, 1, 1, 0, 0, 0}), DAREsamFailed)
	r.master.Secure(&MasterSecurity{Verify: VerifyRNMAC, Key: mustVerifier(t, []byte("the wrong key, 16+ bytes"))})
	wantDAR(t, "SET under another key", r.master.Set(ctx, OADDateTime, DateTimeS{2030, 1, 1, 0, 0, 0}), DAREsamFailed)
	r.master.Secure(&MasterSecurity{Verify: VerifyRNMAC, Key: key, RN: []byte("short")})
	wantDAR(t, "SET with a short RN", r.master.Set(ctx, OADDateTime, DateTimeS{2030, 1, 1, 0, 0, 0}), DARSecurityFailed)

	r.master.Secure(&MasterSecurity{Verify: VerifyRNMAC, Key: key, RN: rn})
	if err := r.master.Set(ctx, OADDateTime, DateTimeS{2030, 1, 1, 0, 0, 0}); err != nil {
		t.Fatalf("first SET with the RN: %v", err)
	}
	<-srv.started
	wantDAR(t, "replayed RN", r.master.Set(ctx, OADDateTime, DateTimeS{2031, 1, 1, 0, 0, 0}), DARSecurityFailed)
	// A replay on a new link is refused as well.
	r.master.DropLinks()
	r.await(MasterLogin, 2*time.Second)
	wantDAR(t, "replayed RN after re-login", r.master.Set(ctx, OADDateTime, DateTimeS{2031, 1, 1, 0, 0, 0}), DARSecurityFailed)
	select {
	case o := <-srv.started:
		t.Fatalf("refused SET reached the server (%v)", o)
	default:
	}
	r.master.Secure(&MasterSecurity{Verify: VerifyRN, Key: key})
	if d, err := r.master.Get(ctx, OADDateTime); err != nil || d != (DateTimeS{2030, 1, 1, 0, 0, 0}) {
		t.Errorf("date-time = %v, %v; want the accepted SET's value only", d, err)
	}
}

func TestUplinkAllowPlainControl(t *testing.T) {
	cfg := fastUplink()
	cfg.Server = newTableServer()
	cfg.Security.AllowPlainControl = true
	r := startUplink(t, cfg)
	r.await(MasterLogin, 2*time.Second)
	if err := r.master.Set(context.Background(), OADDateTime, DateTimeS{2030, 1, 1, 0, 0, 0}); err != nil {
		t.Fatalf("plaintext SET in lab mode: %v", err)
	}
}

// A SET to a wildcard or group address is refused (address abnormal) even
// when authenticated; a broadcast gets no answer at all.
func TestUplinkControlNeedsOwnAddress(t *testing.T) {
	srv := newTableServer()
	cfg := fastUplink()
	cfg.Server = srv
	r := startSecured(t, cfg, VerifyRNMAC)
	r.await(MasterLogin, 2*time.Second)
	ctx := context.Background()
	set := func(p PIID) APDU {
		return &SetRequestNormal{PIID: p, OAD: OADDateTime, Value: DateTimeS{2030, 1, 1, 0, 0, 0}}
	}
	for _, sa := range []ServerAddress{mustParse(t, AddrWildcard, "0000000003AA"), mustParse(t, AddrGroup, "000000000322")} {
		a, err := r.master.RequestTo(ctx, sa, set)
		if err != nil {
			t.Fatalf("SET to %v: %v", sa, err)
		}
		if s, ok := a.(*SetResponseNormal); !ok || s.DAR != DARAddressAbnormal {
			t.Errorf("SET to %v address %v = %#v, want DAR address abnormal", sa.Type, sa, a)
		}
	}
	// A GET to the wildcard address is answered.
	a, err := r.master.RequestTo(ctx, mustParse(t, AddrWildcard, "0000000003AA"), func(p PIID) APDU { return &GetRequestNormal{PIID: p, OAD: OADFrequency} })
	if g, ok := a.(*GetResponseNormal); err != nil || !ok || g.Result.Data != LongUnsigned(5001) {
		t.Errorf("GET to the wildcard address = %#v, %v", a, err)
	}
	<-srv.started
	bctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if a, err := r.master.RequestTo(bctx, mustParse(t, AddrBroadcast, "AA"), set); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("broadcast SET answered: %#v, %v", a, err)
	}
	select {
	case o := <-srv.started:
		t.Fatalf("refused SET reached the server (%v)", o)
	default:
	}
}

func mustParse(t *testing.T, typ AddrType, s string) ServerAddress {
	t.Helper()
	a, err := ParseAddress(typ, s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// actionServer is a tableServer with methods: 4000 method 127 sets the
// clock to its parameter.
type actionServer struct{ *tableServer }

func (s actionServer) Action(_ context.Context, omd OMD, param Data) (Data, DAR) {
	if omd != (OMD{OI: 0x4000, Method: 127}) {
		return nil, DARUndefined
	}
	if _, ok := param.(DateTimeS); !ok {
		return nil, DARTypeMismatch
	}
	s.mu.Lock()
	s.values[OADDateTime] = param
	s.mu.Unlock()
	return nil, DARSuccess
}

// Every request a master may send gets an answer: the service's
// response with a DAR where the request decodes, ERROR-Response where it
// does not.
func TestUplinkAnswersEveryService(t *testing.T) {
	for _, withAction := range []bool{false, true} {
		srv := newTableServer()
		cfg := fastUplink()
		cfg.Server = srv
		if withAction {
			cfg.Server = actionServer{srv}
		}
		r := startSecured(t, cfg, VerifyRNMAC)
		r.await(MasterLogin, 2*time.Second)
		ctx := context.Background()
		setClock := OMD{OI: 0x4000, Method: 127}
		actionDAR := DARUndefined
		if withAction {
			actionDAR = DARSuccess
		}
		raw := func(h string) func(PIID) APDU {
			return func(p PIID) APDU {
				b := mustHex(h)
				b[2] = byte(p)
				a, err := DecodeAPDU(b)
				if err != nil {
					t.Fatalf("%s: %v", h, err)
				}
				return a
			}
		}
		for _, tc := range []struct {
			name string
			req  func(PIID) APDU
			want func(PIID) APDU
		}{
			{"SET-Request-NormalList", func(p PIID) APDU {
				return &SetRequestNormalList{PIID: p, Items: []SetItem{{OADDateTime, DateTimeS{2030, 1, 1, 0, 0, 0}}, {OADFrequency, LongUnsigned(1)}}}
			}, func(p PIID) APDU {
				return &SetResponseNormalList{PIID: PIIDACD(p), Results: []SetResult{{OADDateTime, DARSuccess}, {OADFrequency, DARReadDenied}}}
			}},
			{"ACTION-Request-Normal", func(p PIID) APDU {
				return &ActionRequestNormal{PIID: p, OMD: setClock, Param: DateTimeS{2030, 2, 3, 4, 5, 6}}
			}, func(p PIID) APDU { return &ActionResponseNormal{PIID: PIIDACD(p), OMD: setClock, DAR: actionDAR} }},
			{"GET-Request-Next", func(p PIID) APDU { return &GetRequestNext{PIID: p, LastBlock: 3} },
				func(p PIID) APDU {
					return &GetResponseNext{PIID: PIIDACD(p), Last: true, Block: 3, DAR: DARNotFragmented}
				}},
			{"PROXY-Request-TransCommand", func(p PIID) APDU {
				return &ProxyTransCommandRequest{PIID: p, Port: NewOAD(0xF2010201), DCB: COMDCB{Baud: 3, Parity: 2, DataBits: 8, StopBits: 1}, FrameTimeout: 5, ByteTimeout: 100, Command: []byte{0x68}}
			}, func(p PIID) APDU {
				return &ProxyTransCommandResponse{PIID: PIIDACD(p), Port: NewOAD(0xF2010201), IsDAR: true, DAR: DARUndefined}
			}},
			// GET-Record 05 03: OAD 60120300, RSD selector 9 (last n), RCSD empty.
			{"GET-Request-Record", raw("050300601203000901" + "00" + "00"),
				func(p PIID) APDU { return &ErrorResponse{PIID: PIIDACD(p), DAR: ErrorServiceUnsupported} }},
			{"GET-Request-RecordList", raw("050400" + "00"),
				func(p PIID) APDU { return &ErrorResponse{PIID: PIIDACD(p), DAR: ErrorServiceUnsupported} }},
			{"ACTION-Request-List", raw("070200" + "00" + "00"),
				func(p PIID) APDU { return &ErrorResponse{PIID: PIIDACD(p), DAR: ErrorServiceUnsupported} }},
			{"PROXY-Request-GetList", raw("090100" + "0000" + "00"),
				func(p PIID) APDU { return &ErrorResponse{PIID: PIIDACD(p), DAR: ErrorServiceUnsupported} }},
			{"unknown GET choice", raw("05090000"),
				func(p PIID) APDU { return &ErrorResponse{PIID: PIIDACD(p), DAR: ErrorServiceUnsupported} }},
			{"RELEASE-Request", func(p PIID) APDU { return &ReleaseRequest{PIID: p} },
				func(p PIID) APDU { return &ReleaseResponse{PIID: PIIDACD(p)} }},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got, err := r.master.Request(ctx, tc.req)
				if err != nil {
					t.Fatal(err)
				}
				seq, _ := responsePIID(got)
				if want := tc.want(PIID(seq)); !reflect.DeepEqual(got, want) {
					t.Fatalf("answer %#v, want %#v", got, want)
				}
			})
		}
		if withAction {
			if d, err := r.master.Get(ctx, OADDateTime); err != nil || d != (DateTimeS{2030, 2, 3, 4, 5, 6}) {
				t.Errorf("date-time after ACTION = %v, %v", d, err)
			}
			// ACTION in plaintext is control too: refused.
			r.master.Secure(nil)
			a, err := r.master.Request(ctx, func(p PIID) APDU {
				return &ActionRequestNormal{PIID: p, OMD: setClock, Param: DateTimeS{2031, 1, 1, 0, 0, 0}}
			})
			if ar, ok := a.(*ActionResponseNormal); err != nil || !ok || ar.DAR != DARSecurityMismatch {
				t.Errorf("plaintext ACTION = %#v, %v; want DAR security authentication mismatch", a, err)
			}
		}
	}
}

// A ciphertext SECURITY-Request is answered with a SECURITY-Response
// carrying the DAR: no ESAM here to decrypt it.
func TestUplinkCipherRefused(t *testing.T) {
	cfg := fastUplink()
	cfg.Server = newTableServer()
	r := startUplink(t, cfg)
	r.await(MasterLogin, 2*time.Second)
	a, err := r.master.Request(context.Background(), func(p PIID) APDU {
		return &SecurityRequest{Cipher: true, Payload: []byte{1, 2, 3, 4}, Verify: VerifySIDMAC, SID: SID{Tag: 0x81000000, Data: []byte{1}}, MAC: []byte{1, 2, 3, 4}}
	})
	wantDAR(t, "ciphertext request", err, DARSecurityMismatch)
	if a != nil {
		t.Errorf("answer %#v", a)
	}
}

// CONNECT-Request negotiates the frame sizes: each the smaller of the
// master's and the terminal's; a mechanism the terminal cannot check is
// refused.
func TestUplinkConnectNegotiates(t *testing.T) {
	cfg := fastUplink()
	cfg.Security.Factory = FactoryVersion{Vendor: "HLDP", SoftwareVersion: "0001"}
	r := startUplink(t, cfg)
	r.await(MasterLogin, 2*time.Second)
	ctx := context.Background()
	master := ConnectParams{Version: 0x17, SendMax: 512, RecvMax: 2048, RecvWindow: 4, APDUMax: 8192, Timeout: 600}
	master.Protocol[0], master.Function[15] = 0xF0, 0x01
	resp, err := r.master.Connect(ctx, master)
	if err != nil {
		t.Fatal(err)
	}
	// The terminal sends frames of MaxFrame APDU bytes with their header
	// (6-byte address: 19 bytes around a fragment's APDU bytes).
	if oh := r.up.frameOverhead(); oh != 19 {
		t.Fatalf("frame overhead %d, want 19", oh)
	}
	want := ConnectParams{Version: connectVersion, SendMax: DefaultMaxFrameAPDU + 19, RecvMax: 512, RecvWindow: 1, APDUMax: connectAPDU, Timeout: 600}
	want.Protocol[0], want.Function[15] = 0xF0, 0x01
	if resp.Result != ConnectAllowed || resp.ConnectParams != want {
		t.Errorf("CONNECT-Response %v %+v, want allowed %+v", resp.Result, resp.ConnectParams, want)
	}
	if resp.Factory.Vendor != "HLDP" || resp.Factory.Extension != "        " {
		t.Errorf("factory version %+v", resp.Factory)
	}
	a, err := r.master.Request(ctx, func(p PIID) APDU {
		return &ConnectRequest{PIID: p, ConnectParams: master, Mechanism: ConnectMechanism{Kind: ConnectPassword, Password: "000000"}}
	})
	if c, ok := a.(*ConnectResponse); err != nil || !ok || c.Result != ConnectBadPassword {
		t.Errorf("password CONNECT = %#v, %v", a, err)
	}
}

func TestNegotiate(t *testing.T) {
	term := ConnectParams{Version: 0x16, SendMax: 1024, RecvMax: 1024, RecvWindow: 1, APDUMax: 4096, Timeout: 7200}
	for _, tc := range []struct {
		name   string
		master ConnectParams
		want   ConnectParams
	}{
		{"master smaller", ConnectParams{Version: 0x10, SendMax: 256, RecvMax: 512, RecvWindow: 1, APDUMax: 1000, Timeout: 60},
			ConnectParams{Version: 0x10, SendMax: 512, RecvMax: 256, RecvWindow: 1, APDUMax: 1000, Timeout: 60}},
		{"master larger", ConnectParams{Version: 0x20, SendMax: 4000, RecvMax: 4000, RecvWindow: 8, APDUMax: 65535, Timeout: 86400},
			ConnectParams{Version: 0x16, SendMax: 1024, RecvMax: 1024, RecvWindow: 1, APDUMax: 4096, Timeout: 7200}},
		{"master zero: no preference", ConnectParams{},
			ConnectParams{Version: 0x16, SendMax: 1024, RecvMax: 1024, RecvWindow: 1, APDUMax: 4096, Timeout: 7200}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Negotiate(term, tc.master); got != tc.want {
				t.Errorf("Negotiate = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// testPKI is a CA and certificates issued by it, made in the test.
type testPKI struct {
	ca     *x509.Certificate
	caKey  *ecdsa.PrivateKey
	serial int64
}

func newPKI(t *testing.T, name string) *testPKI {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testPKI{ca: ca, caKey: key, serial: 1}
}

func (p *testPKI) pool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(p.ca)
	return pool
}

// issue returns a certificate for a server (IP 127.0.0.1) or a client.
func (p *testPKI) issue(t *testing.T, name string, server bool) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p.serial++
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(p.serial), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// Mutual TLS: the terminal verifies the master against the configured CA
// and presents its certificate; control over it needs no MAC. A master
// whose certificate another CA signed is refused by the terminal, and a
// terminal without a certificate by the master: no login either way.
func TestUplinkMutualTLS(t *testing.T) {
	grid, rogue := newPKI(t, "grid CA"), newPKI(t, "rogue CA")
	terminalCert := grid.issue(t, "terminal 000000000322", false)
	masterTLS := func(p *testPKI) *tls.Config {
		return &tls.Config{Certificates: []tls.Certificate{p.issue(t, "master", true)}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: grid.pool(), MinVersion: tls.VersionTLS12}
	}
	for _, tc := range []struct {
		name      string
		master    *tls.Config
		terminal  *tls.Config
		wantLogin bool
	}{
		{"mutual", masterTLS(grid), &tls.Config{Certificates: []tls.Certificate{terminalCert}, RootCAs: grid.pool()}, true},
		{"TLS 1.2 only master", func() *tls.Config { c := masterTLS(grid); c.MaxVersion = tls.VersionTLS12; return c }(),
			&tls.Config{Certificates: []tls.Certificate{terminalCert}, RootCAs: grid.pool()}, true},
		{"master from another CA", masterTLS(rogue), &tls.Config{Certificates: []tls.Certificate{terminalCert}, RootCAs: grid.pool()}, false},
		{"terminal without certificate", masterTLS(grid), &tls.Config{RootCAs: grid.pool()}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := NewMasterSimTLS("127.0.0.1:0", nil, tc.master, nil)
			if err != nil {
				t.Fatal(err)
			}
			srv := newTableServer()
			cfg := fastUplink()
			cfg.Server = srv
			cfg.Security.TLS = tc.terminal
			r := startWithMaster(t, cfg, m)
			if !tc.wantLogin {
				e := r.awaitFirst(5*time.Second, MasterLogin, MasterHandshakeFailed)
				if e.Kind != MasterHandshakeFailed {
					t.Fatalf("got %v, want the handshake refused", e.Kind)
				}
				if st := m.Stats(); st.Logins != 0 {
					t.Fatalf("%d logins over a refused handshake", st.Logins)
				}
				return
			}
			r.await(MasterLogin, 5*time.Second)
			ctx := context.Background()
			if err := m.Set(ctx, OADDateTime, DateTimeS{2030, 1, 1, 0, 0, 0}); err != nil {
				t.Fatalf("plaintext SET over mutual TLS: %v", err)
			}
			if d, err := m.Get(ctx, OADDateTime); err != nil || d != (DateTimeS{2030, 1, 1, 0, 0, 0}) {
				t.Errorf("read back = %v, %v", d, err)
			}
		})
	}
}

// tlsConfig never goes below TLS 1.2 and fills in the master's host.
func TestTLSConfigFloor(t *testing.T) {
	c := tlsConfig(&tls.Config{MinVersion: tls.VersionTLS10}, "10.0.0.1:9000")
	if c.MinVersion != tls.VersionTLS12 || c.ServerName != "10.0.0.1" {
		t.Errorf("MinVersion %x ServerName %q", c.MinVersion, c.ServerName)
	}
	if c := tlsConfig(&tls.Config{MinVersion: tls.VersionTLS13, ServerName: "master.example"}, "10.0.0.1:9000"); c.MinVersion != tls.VersionTLS13 || c.ServerName != "master.example" {
		t.Errorf("kept settings changed: %x %q", c.MinVersion, c.ServerName)
	}
	if tlsConfig(nil, "x:1") != nil {
		t.Error("nil config")
	}
}
