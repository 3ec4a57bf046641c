// Package proto698 implements DL/T 698.45 (object-oriented electricity data
// exchange protocol): frames, APDUs, data types, a stream deframer, the
// AC-sampling client, the master-station uplink, and simulators of both peers.
package proto698
