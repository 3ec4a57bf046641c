package devices_test

import (
	"fmt"

	"github.com/BurntSushi/toml"

	"holdup/devices"
)

func ExampleValidate() {
	const cfg = `
[[devices]]
name = "meter1"
driver = "modbus-tcp"
port = "127.0.0.1:502"
draw_mw = 120
  [[devices.points]]
  name = "energy"
  class = "collection"
  period = "15s"
  kind = "holding"
  register = 10
  type = "u32"
  scale = 0.01

[[devices]]
name = "meter2"
driver = "modbus-tcp"
port = "127.0.0.1:503"
  [[devices.points]]
  name = "energy"
  class = "colection"
  kind = "holding"
`
	var file struct {
		Devices []devices.Device `toml:"devices"`
	}
	if _, err := toml.Decode(cfg, &file); err != nil {
		fmt.Println(err)
		return
	}
	valid, err := devices.Validate(file.Devices, nil)
	for _, d := range valid {
		p, _ := d.Point("energy")
		fmt.Printf("%s on %s: %s every %v, integrity %s\n", d.Name, devices.InterfaceOf(d), p.Name, p.Period.Duration, p.Integrity)
	}
	fmt.Println(err)
	// Output:
	// meter1 on tcp:127.0.0.1:502: energy every 15s, integrity unchecked
	// devices: device "meter2": points[0].class: invalid value "colection" (want control|collection)
}
