package store

import (
	"bytes"
	"fmt"
	"math"
	"time"
)

// The compact record format (version 2): the repeated strings of a record
// (IO interface, device, the attribute set with its names and short
// values) and the lap's time epoch are dictionary entries, written in
// dictionary frames and referenced by small integers; see the package doc
// for the CDDL and dict.go for the dictionary's life on the chip.

// A version-2 record is the array [epoch, delta, source, value, check,
// ? invalid, ? attributes] (see the package doc): epoch and source are
// dictionary ids, check the integrity value (its kind is the source's).

// maxEpochDelta bounds a record's time offset from its epoch; a record
// further away gets a new epoch entry.
const maxEpochDelta = 1<<32 - 1

// Limits on the dictionary: a source is interned only when its encoding
// is small, and the live entries (with their framing) stay within what
// one dictionary frame holds, so a refresh of all of them always fits.
const (
	maxInternValue  = 32
	maxInternSource = 160
	maxDictEntries  = 64
)

// internableAttrs reports whether an attribute set belongs to the source:
// every value a short string or a bool, and no lifecycle event (those
// carry times and evidence of their own).
func internableAttrs(a map[string]any) bool {
	if _, ev := a["event"]; ev {
		return false
	}
	for _, v := range a {
		switch x := v.(type) {
		case bool:
		case string:
			if len(x) > maxInternValue {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// source is the dictionary value shared by a point's records.
func sourceOf(r *Record, attrs map[string]any) []any {
	if attrs == nil {
		attrs = map[string]any{}
	}
	return []any{uint64(r.Business), r.Interface, r.Device, uint64(r.Integrity.Kind), attrs}
}

// checkSource validates a decoded source value and returns it with its
// attribute map as map[string]any.
func checkSource(v []any) ([]any, error) {
	if len(v) != 5 {
		return nil, fmt.Errorf("source has %d elements, want 5", len(v))
	}
	b, ok1 := v[0].(uint64)
	iface, ok2 := v[1].(string)
	dev, ok3 := v[2].(string)
	kind, ok4 := v[3].(uint64)
	m, ok5 := v[4].(map[any]any)
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || b > math.MaxUint8 || kind > math.MaxUint8 {
		return nil, fmt.Errorf("source element types %T %T %T %T %T", v[0], v[1], v[2], v[3], v[4])
	}
	attrs := make(map[string]any, len(m))
	for k, x := range m {
		ks, ok := k.(string)
		if !ok {
			return nil, fmt.Errorf("source attribute key %v is not text", k)
		}
		attrs[ks] = x
	}
	return []any{b, iface, dev, kind, attrs}, nil
}

// resolver looks a dictionary id up for the record with sequence seq.
type resolver func(id, seq uint64) (any, bool)

// decode2 parses and verifies a version-2 record payload of sequence seq,
// resolving its references through res: strict CBOR, canonical form, then
// the same schema and value checks as version 1.
func (c codec) decode2(b []byte, seq uint64, res resolver) (Record, error) {
	bad := func(format string, a ...any) (Record, error) {
		return Record{}, fmt.Errorf("store: record seq %d: %w: %s", seq, ErrCorrupt, fmt.Sprintf(format, a...))
	}
	var w []any
	if err := c.dec.Unmarshal(b, &w); err != nil {
		return bad("%v", err)
	}
	again, err := c.enc.Marshal(w)
	if err != nil || !bytes.Equal(again, b) {
		return bad("not in canonical form")
	}
	if len(w) < 5 || len(w) > 7 {
		return bad("%d elements, want 5 to 7", len(w))
	}
	epochID, ok1 := w[0].(uint64)
	srcID, ok2 := w[2].(uint64)
	check, ok3 := w[4].(uint64)
	var delta int64
	switch d := w[1].(type) {
	case uint64:
		delta = int64(min(d, maxEpochDelta+1))
	case int64:
		delta = d
	default:
		return bad("time offset is %T", w[1])
	}
	if !ok1 || !ok2 || !ok3 || check > math.MaxUint32 || delta > maxEpochDelta || delta < -maxEpochDelta {
		return bad("element types or ranges")
	}
	ep, ok := res(epochID, seq)
	epoch, isU := ep.(uint64)
	if !ok || !isU || epoch > math.MaxInt64/2 {
		return bad("epoch %d is not in the dictionary", epochID)
	}
	sv, ok := res(srcID, seq)
	src, isA := sv.([]any)
	if !ok || !isA || len(src) != 5 {
		return bad("source %d is not in the dictionary", srcID)
	}
	r := Record{Seq: seq, Time: time.UnixMilli(int64(epoch) + delta).UTC(), Business: BusinessType(src[0].(uint64)),
		Interface: src[1].(string), Device: src[2].(string), Value: w[3],
		Integrity: Integrity{Kind: IntegrityKind(src[3].(uint64)), Value: uint32(check)}}
	if sa := src[4].(map[string]any); len(sa) > 0 {
		r.Attrs = make(map[string]any, len(sa))
		for k, v := range sa {
			r.Attrs[k] = v
		}
	}
	if len(w) >= 6 {
		inv, ok := w[5].(bool)
		if !ok || (len(w) == 6 && !inv) {
			return bad("invalid flag %v", w[5])
		}
		r.Invalid = inv
	}
	if len(w) == 7 {
		m, ok := w[6].(map[any]any)
		if !ok || len(m) == 0 || len(r.Attrs) > 0 {
			return bad("attributes %T beside the source's", w[6])
		}
		r.Attrs = make(map[string]any, len(m))
		for k, v := range m {
			ks, ok := k.(string)
			if !ok {
				return bad("attribute key %v is not text", k)
			}
			r.Attrs[ks] = v
		}
	}
	if err := r.Validate(); err != nil {
		return bad("%v", err)
	}
	return r, nil
}

// encode2 encodes r as a version-2 payload; attrs are the attributes the
// record carries itself (nil when the source holds them).
func (c codec) encode2(r *Record, epochID, epochMs, srcID uint64, attrs map[string]any) ([]byte, error) {
	w := []any{epochID, r.Time.UnixMilli() - int64(epochMs), srcID, normalize(r.Value), uint64(r.Integrity.Value)}
	if w[1].(int64) >= 0 {
		w[1] = uint64(w[1].(int64))
	}
	switch {
	case len(attrs) > 0:
		w = append(w, r.Invalid, attrs)
	case r.Invalid:
		w = append(w, true)
	}
	b, err := c.enc.Marshal(w)
	if err != nil {
		return nil, fmt.Errorf("store: encode record: %w", err)
	}
	return b, nil
}

// normAttrs returns the attributes as the CBOR decoder yields them.
func normAttrs(a map[string]any) map[string]any {
	out := make(map[string]any, len(a))
	for k, v := range a {
		out[k] = normalize(v)
	}
	return out
}
