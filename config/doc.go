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
// configuration file itself.
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
