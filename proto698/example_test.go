package proto698_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"holdup/proto698"
)

func ExampleDecodeFrame() {
	raw, _ := hex.DecodeString("FEFE682400C305010020032501000E29850100200002000101031208C11200001200000000F2EC16")
	f, n, err := proto698.DecodeFrame(raw)
	if err != nil {
		fmt.Println(err)
		return
	}
	a, _ := proto698.DecodeAPDU(f.Data)
	r := a.(*proto698.GetResponseNormal)
	fmt.Println(n, f.Addr, f.Control.FromServer(), a.Service(), r.Result.OAD)
	fmt.Println(float64(r.Result.Data.(proto698.Array)[0].(proto698.LongUnsigned)) / proto698.VoltageDivisor)
	// Output:
	// 40 012503200001 true GET-Response-Normal 20000200
	// 224.1
}

func ExampleDescribe() {
	raw, _ := hex.DecodeString("681C00C30500000000000000BCFF850100200002010112096D0000DEF116")
	d, _ := proto698.Describe(raw)
	b, _ := json.Marshal(d.APDU["result"])
	fmt.Println(d.Control.Dir, d.Address.SA, string(b))

	raw[20] ^= 1 // corrupt an APDU byte: the FCS catches it
	_, err := proto698.Describe(raw)
	var fe *proto698.FrameError
	if errors.As(err, &fe) {
		fmt.Println(fe.Field, fe.Offset, errors.Is(err, proto698.ErrChecksum))
	}
	// Output:
	// server-to-client 000000000000 {"data":{"type":"long-unsigned","value":2413},"oad":"20000201","object":"voltage","scaled":241.3,"unit":"V"}
	// FCS 27 true
}

// meterTable is a Server: the terminal's view of one meter.
type meterTable struct{ freq proto698.Data }

func (m *meterTable) Get(_ context.Context, oad proto698.OAD) (proto698.Data, proto698.DAR) {
	switch oad {
	case proto698.OADFrequency:
		return m.freq, proto698.DARSuccess
	case proto698.OADCurrentAll:
		return proto698.Null{}, proto698.DARSuccess // not measured: invalid
	}
	return nil, proto698.DARUndefined
}

func (m *meterTable) Set(_ context.Context, oad proto698.OAD, v proto698.Data) proto698.DAR {
	if oad == proto698.OADFrequency {
		return proto698.DARReadDenied
	}
	return proto698.DARUndefined
}

// The master station reads and writes the terminal's attributes; the
// uplink answers through its Server. A write counts only when its MAC
// verifies (plaintext+MAC under the key both sides hold) or the link is
// mutually authenticated TLS.
func ExampleServer() {
	key, _ := proto698.NewHMACVerifier([]byte("example key, 16+ bytes"))
	master, _ := proto698.NewMasterSim("127.0.0.1:0", time.UTC, nil)
	addr, _ := proto698.ParseAddress(proto698.AddrSingle, "000000000322")
	up, _ := proto698.NewUplink(proto698.UplinkConfig{
		Master: master.Addr(), Addr: addr,
		Server: &meterTable{freq: proto698.LongUnsigned(5002)}, RequestTimeout: 2 * time.Second,
		Security: proto698.SecurityConfig{Verifier: key},
	}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	go func() { master.Run(ctx); done <- struct{}{} }()
	go func() { up.Run(ctx); done <- struct{}{} }()
	for e := range master.Events() {
		if e.Kind == proto698.MasterLogin {
			break
		}
	}

	f, err := master.Get(ctx, proto698.OADFrequency)
	fmt.Println(f, err)
	i, err := master.Get(ctx, proto698.OADCurrentAll)
	fmt.Println(i.Type(), err)
	err = master.Set(ctx, proto698.OADFrequency, proto698.LongUnsigned(1))
	var dar *proto698.DARError
	fmt.Println(errors.As(err, &dar), dar.DAR) // plaintext: not authenticated
	master.Secure(&proto698.MasterSecurity{Verify: proto698.VerifyRNMAC, Key: key})
	err = master.Set(ctx, proto698.OADFrequency, proto698.LongUnsigned(1))
	fmt.Println(errors.As(err, &dar), dar.DAR) // authenticated: the Server's answer

	cancel()
	<-done
	<-done
	// Output:
	// 5002 <nil>
	// NULL <nil>
	// true security authentication mismatch
	// true read/write denied
}
