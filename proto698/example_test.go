package proto698_test

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

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
