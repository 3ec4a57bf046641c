// Package hplc implements Q/GDW 1376.2, the concentrator ↔ local
// communication module protocol, and a driver for the HPLC carrier module
// with a faithful simulator beside it.
//
// It owns:
//   - the 1376.2 frame codec (Frame, Decode, Frame.Append) and a stream
//     deframer (Deframer) that resynchronises after garbage;
//   - typed AFN payloads (AFN 00, 01, 02, 03, 05, 06, 10, 11, 12, 13) with
//     encode and decode (DecodePayload);
//   - the module driver (Module): re-initialisation after power returns,
//     node monitoring through AFN 13 F1, writing a meter item through it
//     (WriteMeter, DL/T 645 write-data and its answer), confirmation of
//     AFN 06 reports;
//   - the module simulator (Sim) with DL/T 645 meters behind it that answer
//     reads and password-checked writes as real meters do, and a simulated
//     reset line.
//
// It never interprets meter data itself beyond what hplc/dlt645 provides,
// never opens a serial port (the daemon opens it with devices.OpenSerial)
// nor closes one it was handed (the caller closes it after Module.Run
// returns), and imports no other project package. A corrupt frame is
// reported as a *FrameError naming the field and byte offset, never
// returned as data.
package hplc
