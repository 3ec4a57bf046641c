// Package config owns holdup's configuration file: the TOML schema, a strict
// decoder that names the key and line of every mistake, range and
// cross-field checks, and the slog set-up the [log] section describes.
//
// It imports only the two packages whose models it fills in: devices (the
// [[device]] tables become devices.Device and devices.Point, the model the
// runtime runs; devices.Validate keeps the rules only the runtime can check,
// such as a port existing on this machine) and eeprom (eeprom.part is looked
// up in the driver's own part table and stored as the eeprom.Part). The
// other sections are plain data here; the daemon maps them onto the
// packages that do the work (power, sched, proto698, hplc, store). This
// package must never open a device, a port or a file other than the
// configuration file itself; its one look at the machine is a stat of
// store.path, to refuse a directory there.
//
// Beyond each key's own range, the checks look across parts: a serial port
// (ac_sampling, hplc, console, a device's bus) that is the EEPROM's I2C bus
// or another part's port, devices sharing a bus at one address (a Modbus
// unit, a DL/T 698.45 server address), two modbus-tcp devices on one
// server and unit or on the master station's address, two hplc meters
// with one address, store.path and sim.eeprom_image naming one file. A
// conflict names both keys and both lines.
//
// Errors: [Parse] and [Load] collect every problem in the file rather than
// stopping at the first, and return them as an [ErrorList] whose entries
// read
//
//	FILE:LINE: key "power.loss_v": must be > 0 V (got 0)
//
// errors.Is(err, ErrInvalid) tells a bad file from one that could not be
// read.
package config
