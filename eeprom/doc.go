// Package eeprom owns access to I2C serial EEPROMs of the AT24 family: the
// bus interface, the part table, the Chip driver (page-split writes, ACK
// polling) and a faithful simulated part. It never relies on in-page address
// rollover and never sleeps a fixed time after a write.
package eeprom
