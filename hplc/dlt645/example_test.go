package dlt645_test

import (
	"errors"
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

// A terminal sets a meter's demand period to 15 minutes with the level 02
// password and checks the answer.
func ExampleNewWrite() {
	addr, _ := dlt645.ParseAddress("000000003304")
	value, err := dlt645.EncodeValue(dlt645.DIDemandPeriod, 15)
	if err != nil {
		fmt.Println(err)
		return
	}
	pw, _ := dlt645.ParsePassword("02123456")
	req, _ := dlt645.NewWrite(addr, dlt645.DIDemandPeriod, pw, 0x12345678, value)
	b, _ := req.Encode()
	fmt.Printf("% X\n", b)

	// The meter refuses: C=D4, error byte 04.
	ans, _, _ := dlt645.Decode([]byte{0x68, 0x04, 0x33, 0x00, 0x00, 0x00, 0x00, 0x68, 0xD4, 0x01, 0x37, 0x13, 0x16})
	err = ans.WriteResponse()
	fmt.Println(errors.Is(err, dlt645.ErrCodeAuth), err)

	_, err = dlt645.EncodeValue(dlt645.DIYearZones, 15)
	fmt.Println(err)
	// Output:
	// 68 04 33 00 00 00 00 68 14 0D 36 34 33 37 35 89 67 45 AB 89 67 45 48 8E 16
	// true dlt645: meter write exception: password error or unauthorised (04)
	// dlt645: year time zone count (04000201) value 15: 15 above the maximum 14: value out of range
}
