// Package devices owns the device and point model and the drivers that
// perform field IO: Modbus RTU/TCP (goburrow/modbus, with this package's
// transports: RTU over go.bug.st/serial keeping t3.5 between frames, and
// TCP), GPIO switch outputs (go-gpiocdev), DL/T 698.45 meters (DLT698Bus,
// NewDLT698Client on proto698) and DL/T 645 meters behind the HPLC module
// (NewHPLCMeterClient on hplc), which the daemon wires in through the
// DLT698Client and HPLCClient interfaces.
//
// Device and Point are plain runtime data. The config package builds them
// from the configuration file and reports the file's mistakes with key and
// line; Validate keeps the runtime's own rules (a device built by code that
// the drivers cannot run is refused, a port that does not exist on this
// machine is found) and returns the valid devices with a joined error
// naming device and key for the rest; OpenAll opens them the same way,
// sharing one bus per serial port. OpenSerial (a SerialConfig: path, baud,
// data bits, parity, stop bits) is the terminal's one serial-port opener:
// the daemon opens every port with it — field buses, DL/T 698.45 units,
// the HPLC module, the console — and a simulator's opener has its shape. Every driver error names its exchange
// outcome (ok, timeout, length mismatch, checksum mismatch, exception, link
// down) through an IOOutcome method, so the scheduler can watch error rates
// without importing this package.
//
// Beside each real driver sits a simulator that keeps the part's rules:
// SimSlave (a Modbus RTU slave with fault injection) and SimChip (a GPIO
// chip). This package never decides when IO happens: that is sched's job.
package devices
