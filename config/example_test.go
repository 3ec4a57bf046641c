package config_test

import (
	"fmt"

	"holdup/config"
)

func ExampleParse() {
	file := `
[eeprom]
bus = "/dev/i2c-5"
address = 0x50
part = "at24c256"
page_size = 32

[power]
loss_v = 0
restore_vv = 187

[power.fail_line]
chip = "gpiochip0"
offset = 17
`
	_, err := config.Parse([]byte(file), "holdup.toml")
	fmt.Println(err)
	// Output:
	// holdup.toml:6: key "eeprom.page_size": at24c256 has 64-byte pages (got 32)
	// holdup.toml:9: key "power.loss_v": must be > 0 V (got 0)
	// holdup.toml:10: key "power.restore_vv": unknown key (did you mean "restore_v"?)
	// holdup.toml: key "ac_sampling": required section [ac_sampling] is missing
	// holdup.toml: key "store": required section [store] is missing
}
