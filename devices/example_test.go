package devices_test

import (
	"fmt"
	"time"

	"holdup/devices"
)

// Devices built by code (the config package builds them the same way from
// the configuration's [[device]] tables): Validate keeps the usable one,
// defaults applied, and names device and key of the other's problem.
func ExampleValidate() {
	devs := []devices.Device{
		{Name: "meter1", Driver: devices.DriverModbusTCP, Port: "127.0.0.1:502", DrawMW: 120, Points: []devices.Point{
			{Name: "energy", Class: devices.ClassCollection, Period: 15 * time.Second, Kind: devices.KindHolding,
				Register: 10, Type: devices.TypeU32, Scale: 0.01},
		}},
		{Name: "meter2", Driver: devices.DriverModbusTCP, Port: "127.0.0.1:503", Points: []devices.Point{
			{Name: "energy", Class: "colection", Kind: devices.KindHolding},
		}},
	}
	valid, err := devices.Validate(devs, nil)
	for _, d := range valid {
		p, _ := d.Point("energy")
		fmt.Printf("%s on %s: %s every %v, integrity %s\n", d.Name, devices.InterfaceOf(d), p.Name, p.Period, p.Integrity)
	}
	fmt.Println(err)
	// Output:
	// meter1 on tcp:127.0.0.1:502: energy every 15s, integrity unchecked
	// devices: device "meter2": points[0].class: invalid value "colection" (want control|collection)
}
