// Package proto698 implements DL/T 698.45 (object-oriented electricity data
// exchange protocol): frames, APDUs, data types, a stream deframer, the
// AC-sampling client, the master-station uplink, and simulators of both peers.
//
// What it owns:
//
//   - Link layer: DecodeFrame / AppendFrame (0x68, 14-bit length, control,
//     address flag + byte-reversed server address, CA, HCS and FCS as
//     CRC-16/X-25, 0x16, FE preambles, +0x33 scrambling), the stream
//     Deframer, and application-layer fragmentation (SplitAPDU,
//     FragmentFrames, Reassembler, ConfirmFrame). The header path does not
//     allocate.
//   - Application layer: Data values (A-XDR, big-endian) and the APDUs the
//     terminal needs (LINK, GET Normal/NormalList, SET Normal, ACTION Normal,
//     REPORT List and RecordList, SECURITY plaintext, PROXY TransCommand, ERROR), each
//     with encoder and decoder, plus Describe for `holdup frame decode`.
//   - The terminal's own objects (objects.go): the OADs and encodings of
//     4000 date-time, 4001 communication address and 3106's class-7
//     attributes, and the standard data type and scaler of measured values
//     (EncodeScaled); the daemon serves them.
//   - Security (security.go): the master's control only over mutual TLS
//     (SecurityConfig.TLS) or plaintext+MAC SECURITY-Requests a Verifier
//     accepts (HMACVerifier), with replay protection by random number and
//     time tag; every request refused on security grounds is told to
//     SecurityConfig.OnRefused (the daemon raises the 3109 alarm from it).
//   - Event reports: 3106 power events (powerevent.go) and alarms as 3109
//     message authentication error / 310A device fault records
//     (alarmevent.go), queued until the master confirms them; the master
//     deduplicates alarms by object, sequence number and start time.
//   - Peers: ACClient reads (GET) and writes (SET) the AC-sampling unit's
//     attributes over a serial Port; Uplink keeps the TCP link to the
//     master station, delivers 0x3106 power-off/power-on reports until
//     confirmed, reports attribute snapshots (REPORT-Notification-List,
//     latest snapshot wins, invalid values as Data NULL), and answers the master's GET and SET requests through a
//     Server off its link loop. ACSim (on a pty) and MasterSim (on TCP
//     loopback) model the other ends faithfully for tests and `make sim`.
//
// What it must never do: return a corrupt frame or APDU as data (every
// decoder error is a *FrameError naming the field and byte offset), block a
// caller on a full queue (Uplink.ReportPowerEvent never blocks), pretend
// to check security it cannot (ciphertext reports ErrCipherNotSupported;
// a MAC is checked only by a configured Verifier), let the master change
// anything (SET, ACTION) over a channel that is not authenticated —
// mutual TLS or plaintext+MAC (security.go) — unless configured for a lab,
// take a recorded plaintext+MAC control request again (random number and
// time tag checks, security.go), or leave a request to this terminal
// unanswered (one that does not decode gets ERROR-Response). It imports no other
// holdup package.
package proto698
