package dlt645_test

import (
	"fmt"

	"holdup/hplc/dlt645"
)

func Example() {
	addr, _ := dlt645.ParseAddress("100023669245")
	req := dlt645.NewRead(addr, dlt645.DIVoltageA)
	b, _ := req.Encode()
	fmt.Printf("% X\n", b)

	resp, _, _ := dlt645.Decode([]byte{0x68, 0x45, 0x92, 0x66, 0x23, 0x00, 0x10, 0x68, 0x91, 0x06,
		0x33, 0x34, 0x34, 0x35, 0x66, 0x55, 0x62, 0x16})
	di, val, _ := resp.ReadResponse()
	vals, _, _ := dlt645.DecodeValues(di, val)
	fmt.Println(di, vals[0], vals[0].Unit)
	// Output:
	// 68 45 92 66 23 00 10 68 11 04 33 34 34 35 25 16
	// 02010100 223.3 V
}
