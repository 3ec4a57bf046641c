// Package dlt645 implements DL/T 645-2007 meter frames as carried over HPLC:
// the frame codec (FE preambles, byte-reversed address, +0x33 data scrambling,
// byte-sum checksum), read, read-response and exception frames, write-data
// requests (DI, password, operator code, value) and their answers, the
// broadcast read-address frame, data identifiers (DI, low byte first on the
// wire), the BCD value formats of the common measurement and parameter
// items, and which parameters may be written and within which limits.
//
// It owns only the byte format: it does no I/O and imports no project package.
// A frame that fails any check is reported as a *FrameError naming the field
// and byte offset; it is never returned as data.
package dlt645
