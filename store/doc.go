// Package store owns holdup's durable data: the power-cut-proof CBOR journal
// written directly to EEPROM pages (on an eeprom.Chip), and the data store on
// the terminal's flash into which journaled records are replayed exactly once.
package store
