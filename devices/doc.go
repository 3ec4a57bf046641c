// Package devices owns the device and point model declared in the
// configuration and the drivers that perform field IO: Modbus RTU/TCP
// (goburrow/modbus, with this package's transports: RTU over go.bug.st/serial
// keeping t3.5 between frames, and TCP), GPIO switch outputs (go-gpiocdev),
// and adapters for the DL/T 698.45 and HPLC clients, which main wires in
// through the DLT698Client and HPLCClient interfaces.
//
// Validate checks each device on its own and returns the valid ones with a
// joined error naming device and key for the rest; OpenAll opens them the
// same way, sharing one bus per serial port. Every driver error names its
// exchange outcome (ok, timeout, length mismatch, checksum mismatch,
// exception, link down) through an IOOutcome method, so the scheduler can
// watch error rates without importing this package.
//
// Beside each real driver sits a simulator that keeps the part's rules:
// SimSlave (a Modbus RTU slave with fault injection) and SimChip (a GPIO
// chip). This package never decides when IO happens: that is sched's job.
package devices
