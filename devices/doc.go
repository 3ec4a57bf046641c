// Package devices owns the device and point model declared in the
// configuration and the drivers that perform field IO: Modbus RTU/TCP,
// GPIO outputs, and adapters for the DL/T 698.45 and HPLC clients.
package devices
