package hplc_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.bug.st/serial"

	"holdup/hplc"
	"holdup/hplc/dlt645"
)

// The power lifecycle re-initialises the module on warm restore, then reads
// a meter's voltage through it.
func ExampleModule_Reinit() {
	port, err := serial.Open("/dev/ttyS2", &serial.Mode{BaudRate: 9600, DataBits: 8, Parity: serial.EvenParity, StopBits: serial.OneStopBit})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer port.Close() // the module never closes the port it was handed
	meter := hplc.MustParseAddr("000000003304")
	mod := hplc.NewModule(port, hplc.Config{
		Master: hplc.MustParseAddr("049999888888"),
		Nodes:  []hplc.Node{{Addr: meter, Protocol: hplc.ProtoDLT645_2007}},
	}, slog.Default())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	ran := make(chan error, 1)
	go func() { ran <- mod.Run(ctx) }()
	defer func() { cancel(); <-ran }() // Run returns before the port is closed
	if err := mod.Reinit(ctx); err != nil {
		fmt.Println(err) // names the step: hplc: reinit step "wait for module (AFN 03 F10 poll)": …
		return
	}
	req := dlt645.NewRead(dlt645.Address(meter), dlt645.DIVoltageA)
	b, _ := req.Encode()
	resp, err := mod.MonitorNode(ctx, meter, b)
	if err != nil {
		fmt.Println(err)
		return
	}
	f, _, _ := dlt645.Decode(resp)
	di, val, _ := f.ReadResponse()
	vals, _, _ := dlt645.DecodeValues(di, val)
	fmt.Println(vals[0], vals[0].Unit)
}

// The terminal sets a meter's demand period to 15 minutes through the
// module; the meter's refusal comes back as a typed error.
func ExampleModule_WriteMeter() {
	port, err := serial.Open("/dev/ttyS2", &serial.Mode{BaudRate: 9600, DataBits: 8, Parity: serial.EvenParity, StopBits: serial.OneStopBit})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer port.Close() // the module never closes the port it was handed
	meter := hplc.MustParseAddr("000000003304")
	mod := hplc.NewModule(port, hplc.Config{Master: hplc.MustParseAddr("049999888888")}, slog.Default())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	ran := make(chan error, 1)
	go func() { ran <- mod.Run(ctx) }()
	defer func() { cancel(); <-ran }() // Run returns before the port is closed

	value, err := dlt645.EncodeValue(dlt645.DIDemandPeriod, 15)
	if err != nil {
		fmt.Println(err) // not writable, or out of the item's range
		return
	}
	pw, _ := dlt645.ParsePassword("02123456")
	err = mod.WriteMeter(ctx, meter, dlt645.WriteRequest{DI: dlt645.DIDemandPeriod, Password: pw, Operator: 0x00000001, Data: value})
	switch {
	case errors.Is(err, dlt645.ErrCodeAuth):
		fmt.Println("wrong password or read-only item:", err)
	case err != nil:
		fmt.Println(err)
	}
}

func ExampleDescribe() {
	d, err := hplc.Describe([]byte{0x68, 0x0F, 0x00, 0x43, 0x00, 0x00, 0x28, 0x32, 0x00, 0x4E, 0x10, 0x01, 0x00, 0xFC, 0x16})
	if err != nil {
		fmt.Println(err)
		return
	}
	desc := d.(*hplc.Description)
	fmt.Println(desc.AFN, desc.Fn, desc.Type, desc.Info.(*hplc.DownInfoDesc).Seq)
	// Output: 10 1 NoData 78
}
