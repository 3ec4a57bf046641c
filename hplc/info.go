package hplc

import (
	"encoding/binary"
	"fmt"
)

// Info is the 6-byte information field R. Its layout differs by direction:
// fields marked "down" exist only in concentrator → module frames, those
// marked "up" only in module → concentrator frames; the encoder writes the
// layout that Frame.C.Up selects and the decoder fills only that layout's
// fields. Reserved bits of the uplink layout are not kept.
type Info struct {
	Route      bool   `json:"route"`         // D0 byte 1: route flag (1 = module does not route)
	Subsidiary bool   `json:"subsidiary"`    // D1 byte 1: attached-node flag
	ModuleID   bool   `json:"module_id"`     // D2 byte 1: 1 = addressed to a node's module; A field present
	Conflict   bool   `json:"conflict"`      // D3 byte 1 (down): conflict detection
	Relays     uint8  `json:"relay_level"`   // D4..D7 byte 1: relay level (relay addresses in A)
	Channel    uint8  `json:"channel"`       // D0..D3 byte 2: channel identifier
	ECC        uint8  `json:"ecc"`           // D4..D7 byte 2 (down): error-correction code identifier
	ReplyBytes uint8  `json:"reply_bytes"`   // byte 3 (down): expected reply length
	Rate       uint16 `json:"rate"`          // bytes 4-5 D0..D14 (down): communication rate
	RateKbps   bool   `json:"rate_kbps"`     // byte 5 D7 (down): rate unit kbit/s (else bit/s)
	Phase      uint8  `json:"phase"`         // D0..D3 byte 3 (up): measured phase
	MeterCh    uint8  `json:"meter_channel"` // D4..D7 byte 3 (up): meter channel characteristic
	CmdQuality uint8  `json:"cmd_quality"`   // D0..D3 byte 4 (up): end-node command signal quality
	AckQuality uint8  `json:"ack_quality"`   // D4..D7 byte 4 (up): end-node reply signal quality
	Event      bool   `json:"event"`         // D0 byte 5 (up): event flag
	Seq        uint8  `json:"seq"`           // byte 6: message sequence number, echoed in the reply
}

func (r *Info) check(up bool) error {
	over := func(name string, v, max uint16) error {
		if v > max {
			return fmt.Errorf("information field R: %s %d exceeds %d: %w", name, v, max, ErrValue)
		}
		return nil
	}
	errs := [...]error{over("relay level", uint16(r.Relays), MaxRelays), over("channel", uint16(r.Channel), 15),
		nil, nil, nil, nil}
	if up {
		errs[2] = over("phase", uint16(r.Phase), 15)
		errs[3] = over("meter channel", uint16(r.MeterCh), 15)
		errs[4] = over("command quality", uint16(r.CmdQuality), 15)
		errs[5] = over("reply quality", uint16(r.AckQuality), 15)
	} else {
		errs[2] = over("ecc", uint16(r.ECC), 15)
		errs[3] = over("rate", r.Rate, 0x7FFF)
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func (r *Info) put(b []byte, up bool) {
	b0 := r.Relays << 4
	if r.Route {
		b0 |= 0x01
	}
	if r.Subsidiary {
		b0 |= 0x02
	}
	if r.ModuleID {
		b0 |= 0x04
	}
	if !up && r.Conflict {
		b0 |= 0x08
	}
	b[0] = b0
	if up {
		b[1] = r.Channel & 0x0F
		b[2] = r.Phase&0x0F | r.MeterCh<<4
		b[3] = r.CmdQuality&0x0F | r.AckQuality<<4
		b[4] = 0
		if r.Event {
			b[4] = 1
		}
	} else {
		b[1] = r.Channel&0x0F | r.ECC<<4
		b[2] = r.ReplyBytes
		rate := r.Rate & 0x7FFF
		if r.RateKbps {
			rate |= 0x8000
		}
		binary.LittleEndian.PutUint16(b[3:], rate)
	}
	b[5] = r.Seq
}

func parseInfo(b []byte, up bool) Info {
	r := Info{
		Route:      b[0]&0x01 != 0,
		Subsidiary: b[0]&0x02 != 0,
		ModuleID:   b[0]&0x04 != 0,
		Relays:     b[0] >> 4,
		Channel:    b[1] & 0x0F,
		Seq:        b[5],
	}
	if up {
		r.Phase, r.MeterCh = b[2]&0x0F, b[2]>>4
		r.CmdQuality, r.AckQuality = b[3]&0x0F, b[3]>>4
		r.Event = b[4]&0x01 != 0
	} else {
		r.Conflict = b[0]&0x08 != 0
		r.ECC = b[1] >> 4
		r.ReplyBytes = b[2]
		rate := binary.LittleEndian.Uint16(b[3:])
		r.Rate, r.RateKbps = rate&0x7FFF, rate&0x8000 != 0
	}
	return r
}
