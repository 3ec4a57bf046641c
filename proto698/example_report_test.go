package proto698_test

import (
	"context"
	"fmt"
	"time"

	"holdup/proto698"
)

// The terminal reports attribute values on its own (REPORT-Notification-
// List); what it can no longer measure, e.g. at a power outage, goes as
// Data NULL, never as the last good value. The master confirms with
// REPORT-Response-List.
func ExampleUplink_ReportAttributes() {
	master, _ := proto698.NewMasterSim("127.0.0.1:0", time.UTC, nil)
	addr, _ := proto698.ParseAddress(proto698.AddrSingle, "000000000322")
	confirmed := make(chan int, 4)
	up, _ := proto698.NewUplink(proto698.UplinkConfig{
		Master: master.Addr(), Addr: addr,
		OnDataConfirm: func(n int) { confirmed <- n },
	}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	go func() { master.Run(ctx); done <- struct{}{} }()
	go func() { up.Run(ctx); done <- struct{}{} }()

	err := up.ReportAttributes([]proto698.ResultNormal{
		{OAD: proto698.OADVoltageAll, Data: proto698.Null{}}, // mains gone: invalid
		{OAD: proto698.OADFrequency, DAR: proto698.DARHardware},
	})
	fmt.Println(err)
	for e := range master.Events() {
		if e.Kind == proto698.MasterDataReport {
			fmt.Printf("% X\n", e.APDU[3:]) // after 88 01 PIID
			break
		}
	}
	fmt.Println("confirmed results:", <-confirmed)

	cancel()
	<-done
	<-done
	// Output:
	// <nil>
	// 02 20 00 02 00 01 00 20 0F 02 00 00 01 00 00
	// confirmed results: 2
}
