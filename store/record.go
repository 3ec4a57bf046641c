package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/fxamacker/cbor/v2"
)

// BusinessType says what kind of business datum a record carries.
type BusinessType uint8

// Business types. The numbers are the CBOR encoding (see the package doc).
const (
	BusinessControl    BusinessType = 1 // a control action, e.g. a switch output
	BusinessCollection BusinessType = 2 // a collected reading
	BusinessEvent      BusinessType = 3 // a lifecycle event (outage begin/end)
	BusinessAlarm      BusinessType = 4 // an alarm raised by holdup or a device
)

var businessNames = map[BusinessType]string{
	BusinessControl: "control", BusinessCollection: "collection",
	BusinessEvent: "event", BusinessAlarm: "alarm",
}

// String returns the business type's name.
func (b BusinessType) String() string {
	if n, ok := businessNames[b]; ok {
		return n
	}
	return fmt.Sprintf("business(%d)", uint8(b))
}

// MarshalText encodes the name, for JSON.
func (b BusinessType) MarshalText() ([]byte, error) {
	if _, ok := businessNames[b]; !ok {
		return nil, fmt.Errorf("store: unknown business type %d", uint8(b))
	}
	return []byte(b.String()), nil
}

// UnmarshalText decodes a name.
func (b *BusinessType) UnmarshalText(t []byte) error {
	for k, n := range businessNames {
		if n == string(t) {
			*b = k
			return nil
		}
	}
	return fmt.Errorf("store: unknown business type %q", t)
}

// IntegrityKind names the check a protocol carried with the datum.
type IntegrityKind uint8

// Integrity kinds. The numbers are the CBOR encoding.
const (
	IntegrityNone        IntegrityKind = 0 // unchecked data
	IntegrityCRC16Modbus IntegrityKind = 1 // Modbus RTU CRC-16
	IntegrityCRC16X25    IntegrityKind = 2 // DL/T 698.45 FCS
	IntegritySum8        IntegrityKind = 3 // DL/T 645 and Q/GDW 1376.2 byte sum
	IntegrityCRC32C      IntegrityKind = 4 // CRC-32C
)

var integrityNames = map[IntegrityKind]string{
	IntegrityNone: "none", IntegrityCRC16Modbus: "crc16-modbus", IntegrityCRC16X25: "crc16-x25",
	IntegritySum8: "sum8", IntegrityCRC32C: "crc32c",
}

var integrityMax = map[IntegrityKind]uint32{
	IntegrityNone: 0, IntegrityCRC16Modbus: 0xFFFF, IntegrityCRC16X25: 0xFFFF,
	IntegritySum8: 0xFF, IntegrityCRC32C: 0xFFFFFFFF,
}

// String returns the kind's name.
func (k IntegrityKind) String() string {
	if n, ok := integrityNames[k]; ok {
		return n
	}
	return fmt.Sprintf("integrity(%d)", uint8(k))
}

// MarshalText encodes the name, for JSON.
func (k IntegrityKind) MarshalText() ([]byte, error) {
	if _, ok := integrityNames[k]; !ok {
		return nil, fmt.Errorf("store: unknown integrity kind %d", uint8(k))
	}
	return []byte(k.String()), nil
}

// UnmarshalText decodes a name.
func (k *IntegrityKind) UnmarshalText(t []byte) error {
	for v, n := range integrityNames {
		if n == string(t) {
			*k = v
			return nil
		}
	}
	return fmt.Errorf("store: unknown integrity kind %q", t)
}

// Integrity is the checksum the field protocol carried with a datum.
type Integrity struct {
	Kind  IntegrityKind `json:"kind"`
	Value uint32        `json:"value"`
}

// Record is one critical datum. JSON uses the CDDL field names; the
// journal stores the compact CBOR form described in the package doc.
type Record struct {
	// Seq is assigned by the journal; strictly increasing.
	Seq uint64 `json:"sequence"`
	// Time is when the datum was taken (stored at millisecond resolution).
	Time time.Time `json:"time"`
	// Business says what kind of datum this is.
	Business BusinessType `json:"business_type"`
	// Interface names the IO interface ("rs485-2", "hplc", "gpio").
	Interface string `json:"io_interface"`
	// Device names the device on that interface.
	Device string `json:"device"`
	// Attrs carries small attributes such as topic and QoS.
	Attrs map[string]any `json:"attributes,omitempty"`
	// Value is nil, bool, an integer, a float64, a string or []byte.
	Value any `json:"value"`
	// Integrity is the protocol checksum that protected the datum.
	Integrity Integrity `json:"integrity"`
	// Invalid marks a value known not to be valid (e.g. read under outage).
	Invalid bool `json:"invalid"`
}

// Limits a record must respect: Validate checks them before an append, and
// the second verification at replay checks them again.
const (
	// MaxNameLen is the longest io_interface, device or attribute name,
	// in bytes of UTF-8 (names are never empty).
	MaxNameLen = 64
	// MaxAttrs is the most attributes a record carries.
	MaxAttrs = 8
	// MaxStringLen is the longest string, in bytes of UTF-8, or byte
	// string a value or an attribute may hold.
	MaxStringLen = 256
)

// Clip returns s as at most n bytes of valid UTF-8: invalid bytes are
// dropped and a cut never splits a sequence. A valid string that fits is
// returned unchanged. Clip(name, MaxNameLen) fits a non-empty name to an
// io_interface or device, Clip(s, MaxStringLen) fits a string value.
func Clip(s string, n int) string {
	if len(s) <= n && utf8.ValidString(s) {
		return s
	}
	s = strings.ToValidUTF8(s, "")
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:max(n, 0)], "")
}

// AddAttr sets attrs[key] to value, clipped to MaxStringLen, when a record
// can take it: key is a valid attribute name (1 to MaxNameLen bytes of
// UTF-8), not yet in attrs, and attrs holds fewer than MaxAttrs entries.
// It reports whether it set the attribute. Adding in a fixed order (the
// essential attributes first, the rest sorted) decides deterministically
// which attributes a full record keeps; a map built only by AddAttr passes
// Validate's attribute checks.
func AddAttr(attrs map[string]any, key, value string) bool {
	if len(attrs) >= MaxAttrs || checkName("attribute name", key) != nil {
		return false
	}
	if _, taken := attrs[key]; taken {
		return false
	}
	attrs[key] = Clip(value, MaxStringLen)
	return true
}

// The time range a record may carry. The lower bound is the Unix epoch,
// not a plausible date: a terminal without a battery-backed RTC boots at
// 1970 until NTP or the master station sets its clock, and an outage right
// after boot must still be journaled (the record's time is then relative).
var (
	minTime = time.Unix(0, 0).UTC()
	maxTime = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
)

// wireRecord is the CBOR form: a map with small integer keys.
type wireRecord struct {
	Seq       uint64         `cbor:"1,keyasint"`
	Time      int64          `cbor:"2,keyasint"`
	Business  uint8          `cbor:"3,keyasint"`
	Interface string         `cbor:"4,keyasint"`
	Device    string         `cbor:"5,keyasint"`
	Attrs     map[string]any `cbor:"6,keyasint,omitempty"`
	Value     any            `cbor:"7,keyasint"`
	Integrity [2]uint32      `cbor:"8,keyasint"`
	Invalid   bool           `cbor:"9,keyasint,omitempty"`
}

// markerPayload is the CBOR form of a consume marker.
type markerPayload struct {
	_        struct{} `cbor:",toarray"`
	ID       []byte
	Consumed uint64
}

// codec holds the CBOR modes; it is immutable after newCodec.
type codec struct {
	enc cbor.EncMode
	dec cbor.DecMode
}

func newCodec() codec {
	eo := cbor.CoreDetEncOptions()
	enc, err := eo.EncMode()
	if err != nil {
		panic(err) // static options
	}
	do := cbor.DecOptions{
		DupMapKey:         cbor.DupMapKeyEnforcedAPF,
		IndefLength:       cbor.IndefLengthForbidden,
		TagsMd:            cbor.TagsForbidden,
		MaxNestedLevels:   4,
		MaxArrayElements:  16,
		MaxMapPairs:       16,
		ExtraReturnErrors: cbor.ExtraDecErrorUnknownField,
		IntDec:            cbor.IntDecConvertNone,
		DefaultMapType:    nil,
	}
	dec, err := do.DecMode()
	if err != nil {
		panic(err)
	}
	return codec{enc: enc, dec: dec}
}

// Validate checks a record against the schema and value ranges. The
// sequence number is not checked (the journal assigns it).
func (r *Record) Validate() error {
	if _, ok := businessNames[r.Business]; !ok {
		return fmt.Errorf("store: record: business_type %d unknown", r.Business)
	}
	if err := checkName("io_interface", r.Interface); err != nil {
		return err
	}
	if err := checkName("device", r.Device); err != nil {
		return err
	}
	if r.Time.Before(minTime) || !r.Time.Before(maxTime) {
		return fmt.Errorf("store: record: time %s outside 1970..2100", r.Time.UTC().Format(time.RFC3339))
	}
	mx, ok := integrityMax[r.Integrity.Kind]
	if !ok {
		return fmt.Errorf("store: record: integrity kind %d unknown", r.Integrity.Kind)
	}
	if r.Integrity.Value > mx {
		return fmt.Errorf("store: record: integrity value 0x%x too wide for %s", r.Integrity.Value, r.Integrity.Kind)
	}
	if len(r.Attrs) > MaxAttrs {
		return fmt.Errorf("store: record: %d attributes, at most %d", len(r.Attrs), MaxAttrs)
	}
	for k, v := range r.Attrs {
		if err := checkName("attribute name", k); err != nil {
			return err
		}
		if _, ok := v.([]byte); ok {
			return fmt.Errorf("store: record: attribute %q: byte strings are not allowed", k)
		}
		if err := checkScalar("attribute "+k, v); err != nil {
			return err
		}
	}
	return checkScalar("value", r.Value)
}

func checkName(what, s string) error {
	if s == "" || len(s) > MaxNameLen || !utf8.ValidString(s) {
		return fmt.Errorf("store: record: %s %q must be 1..%d bytes of UTF-8", what, s, MaxNameLen)
	}
	return nil
}

func checkScalar(what string, v any) error {
	switch x := v.(type) {
	case nil, bool, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return nil
	case float32:
		return checkScalar(what, float64(x))
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("store: record: %s is %v; mark the record invalid instead", what, x)
		}
		return nil
	case string:
		if len(x) > MaxStringLen || !utf8.ValidString(x) {
			return fmt.Errorf("store: record: %s: string must be ≤ %d bytes of UTF-8", what, MaxStringLen)
		}
		return nil
	case []byte:
		if len(x) > MaxStringLen {
			return fmt.Errorf("store: record: %s: %d bytes, at most %d", what, len(x), MaxStringLen)
		}
		return nil
	}
	return fmt.Errorf("store: record: %s has unsupported type %T", what, v)
}

// normalize maps Go integer and float types onto the ones CBOR decoding
// yields (uint64, int64, float64), so a decoded record equals the input.
func normalize(v any) any {
	switch x := v.(type) {
	case int:
		return normInt(int64(x))
	case int8:
		return normInt(int64(x))
	case int16:
		return normInt(int64(x))
	case int32:
		return normInt(int64(x))
	case int64:
		return normInt(x)
	case uint:
		return uint64(x)
	case uint8:
		return uint64(x)
	case uint16:
		return uint64(x)
	case uint32:
		return uint64(x)
	case float32:
		return float64(x)
	}
	return v
}

func normInt(i int64) any {
	if i >= 0 {
		return uint64(i)
	}
	return i
}

// encode returns the deterministic CBOR encoding of r with sequence seq.
func (c codec) encode(r *Record, seq uint64) ([]byte, error) {
	w := wireRecord{
		Seq: seq, Time: r.Time.UnixMilli(), Business: uint8(r.Business),
		Interface: r.Interface, Device: r.Device, Value: normalize(r.Value),
		Integrity: [2]uint32{uint32(r.Integrity.Kind), r.Integrity.Value}, Invalid: r.Invalid,
	}
	if len(r.Attrs) > 0 {
		w.Attrs = make(map[string]any, len(r.Attrs))
		for k, v := range r.Attrs {
			w.Attrs[k] = normalize(v)
		}
	}
	b, err := c.enc.Marshal(&w)
	if err != nil {
		return nil, fmt.Errorf("store: encode record: %w", err)
	}
	return b, nil
}

// ErrCorrupt marks a record or frame that failed verification.
var ErrCorrupt = errors.New("corrupt")

// decode parses and verifies a record payload: strict CBOR, the schema and
// value ranges, and canonical form (re-encoding gives the same bytes).
func (c codec) decode(b []byte) (Record, error) {
	var w wireRecord
	if err := c.dec.Unmarshal(b, &w); err != nil {
		return Record{}, fmt.Errorf("store: record: %w: %v", ErrCorrupt, err)
	}
	r := Record{
		Seq: w.Seq, Time: time.UnixMilli(w.Time).UTC(), Business: BusinessType(w.Business),
		Interface: w.Interface, Device: w.Device, Attrs: w.Attrs, Value: w.Value,
		Integrity: Integrity{Kind: IntegrityKind(w.Integrity[0]), Value: w.Integrity[1]},
		Invalid:   w.Invalid,
	}
	if w.Integrity[0] > math.MaxUint8 { // the uint8 conversion above would wrap
		return Record{}, fmt.Errorf("store: record seq %d: %w: integrity kind %d", w.Seq, ErrCorrupt, w.Integrity[0])
	}
	if err := r.Validate(); err != nil {
		return Record{}, fmt.Errorf("store: record seq %d: %w: %v", w.Seq, ErrCorrupt, err)
	}
	again, err := c.enc.Marshal(&w)
	if err != nil || !bytes.Equal(again, b) {
		return Record{}, fmt.Errorf("store: record seq %d: %w: not in canonical form", w.Seq, ErrCorrupt)
	}
	return r, nil
}

func (c codec) encodeMarker(id []byte, consumed uint64) []byte {
	b, err := c.enc.Marshal(markerPayload{ID: id, Consumed: consumed})
	if err != nil {
		panic(err) // a byte string and an integer always encode
	}
	return b
}

func (c codec) decodeMarker(b []byte) (markerPayload, error) {
	var m markerPayload
	if err := c.dec.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("store: marker: %w: %v", ErrCorrupt, err)
	}
	if len(m.ID) != idLen {
		return m, fmt.Errorf("store: marker: %w: journal id is %d bytes, want %d", ErrCorrupt, len(m.ID), idLen)
	}
	return m, nil
}

// MarshalJSON writes the record with the CDDL field names, time in UTC.
func (r Record) MarshalJSON() ([]byte, error) {
	type plain Record
	p := plain(r)
	p.Time = r.Time.UTC()
	return json.Marshal(p)
}
