package store

import (
	"fmt"
	"sort"
	"strconv"
)

// The dictionary of the compact record format (see the package doc,
// "Version 2"). An entry maps a small id to a name, an attribute set or a
// lap's time epoch, and carries since: the sequence of the dictionary
// frame that first gave the id this meaning. An id is given a new meaning
// only when no unconsumed record uses the old one, so the entry a record
// at sequence s means is, among the definitions of its id on the chip, the
// one with the largest since ≤ s (copies written again keep their since).
//
// The writer keeps every entry an unconsumed record uses on the chip: the
// pages of its newest committed copy are not free (Journal.free) until
// that copy is superseded, and before it programs pages near such a copy
// it writes the entry again ahead of the record or marker it places
// (refresh), in a dictionary frame that ends before those pages. An entry
// is also written again at its first use in each lap, so a lap's records
// normally find their dictionary in the same lap.

// dictDef is one definition in a dictionary frame: [since, value].
type dictDef struct {
	_     struct{} `cbor:",toarray"`
	Since uint64
	Value any
}

// dictEntry is the writer's state of one dictionary id.
type dictEntry struct {
	id    uint64
	since uint64 // 0: not yet placed in a frame
	val   any    // string, uint64 (epoch ms) or map[string]any
	key   string
	size  int
	// lastUse is the highest sequence of a placed record using the entry.
	lastUse uint64
	// lap is the lap in which a copy was last placed (-1: none yet).
	lap int
	// The newest committed copy: its frame's pages.
	hasCopy             bool
	copyFirst, copyLast int
	copySeq             uint64
	// pending: a copy is placed and not yet committed.
	pending bool
}

// dictView resolves ids for decoding: every definition known, per id,
// sorted by since.
type dictView map[uint64][]dictDef

func (v dictView) add(id uint64, d dictDef) {
	ds := v[id]
	for i := range ds {
		if ds[i].Since == d.Since {
			ds[i] = d
			return
		}
	}
	ds = append(ds, d)
	sort.Slice(ds, func(a, b int) bool { return ds[a].Since < ds[b].Since })
	v[id] = ds
}

// resolve returns the meaning id has for the record at seq.
func (v dictView) resolve(id, seq uint64) (any, bool) {
	ds := v[id]
	for i := len(ds) - 1; i >= 0; i-- {
		if ds[i].Since < seq {
			return ds[i].Value, true
		}
	}
	return nil, false
}

func (v dictView) clone() dictView {
	out := make(dictView, len(v))
	for id, ds := range v {
		out[id] = append([]dictDef(nil), ds...)
	}
	return out
}

// dictKey is the lookup key of a dictionary value.
func (c codec) dictKey(val any) (string, int) {
	switch x := val.(type) {
	case uint64:
		return "e" + strconv.FormatUint(x, 10), 9 + dictEntryOverhead
	}
	b, err := c.enc.Marshal(val)
	if err != nil {
		panic(err) // interned sets hold strings and bools only
	}
	return "m" + string(b), len(b) + dictEntryOverhead
}

// dictEntryOverhead bounds what an entry costs in a dictionary frame
// besides its value: the id, the definition array and since.
const dictEntryOverhead = 12

// encodeDict is the payload of a dictionary frame holding es.
func (c codec) encodeDict(es []*dictEntry) []byte {
	m := make(map[uint64]dictDef, len(es))
	for _, e := range es {
		m[e.id] = dictDef{Since: e.since, Value: e.val}
	}
	b, err := c.enc.Marshal(m)
	if err != nil {
		panic(err)
	}
	return b
}

// decodeDict parses a dictionary frame's payload.
func (c codec) decodeDict(b []byte) (map[uint64]dictDef, error) {
	var m map[uint64]dictDef
	if err := c.dec.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("store: dictionary: %w: %v", ErrCorrupt, err)
	}
	if len(m) == 0 {
		return nil, fmt.Errorf("store: dictionary: %w: no entries", ErrCorrupt)
	}
	for id, d := range m {
		switch x := d.Value.(type) {
		case uint64:
		case []any:
			src, err := checkSource(x)
			if err != nil {
				return nil, fmt.Errorf("store: dictionary entry %d: %w: %v", id, ErrCorrupt, err)
			}
			d.Value = src
			m[id] = d
		default:
			return nil, fmt.Errorf("store: dictionary entry %d: %w: value is %T", id, ErrCorrupt, d.Value)
		}
	}
	return m, nil
}

// refs2 are the dictionary references of a version-2 payload.
func (c codec) refs2(b []byte) []uint64 {
	var w []any
	if c.dec.Unmarshal(b, &w) != nil || len(w) < 3 {
		return nil
	}
	var out []uint64
	for _, v := range []any{w[0], w[2]} {
		if id, ok := v.(uint64); ok {
			out = append(out, id)
		}
	}
	return out
}

// viewOf builds the dictionary view of the verified frames of a scan.
func viewOf(frames []frameInfo, c codec) (dictView, []Region, int) {
	v := dictView{}
	var bad []Region
	for _, f := range frames {
		if f.tag != tagDict {
			continue
		}
		m, err := c.decodeDict(f.payload)
		if err != nil {
			bad = append(bad, Region{Page: f.firstPage, Offset: -1, Reason: err.Error()})
			continue
		}
		for id, d := range m {
			v.add(id, d)
		}
	}
	return v, bad, 0
}

// decodeFrame decodes the record of a record frame of either version.
func (c codec) decodeFrame(tag byte, seq uint64, payload []byte, v dictView) (Record, error) {
	if tag == tagRecord2 {
		return c.decode2(payload, seq, v.resolve)
	}
	r, err := c.decode(payload)
	if err == nil && r.Seq != seq {
		return Record{}, fmt.Errorf("store: record seq %d: %w: record carries sequence %d", seq, ErrCorrupt, r.Seq)
	}
	return r, err
}

// rawOf is the self-contained CBOR form of a record (version 1, names
// spelled out): what Entry.Raw, the data store and `journal dump -format
// cbor` carry for a record of either version.
func (c codec) rawOf(tag byte, payload []byte, r *Record) []byte {
	if tag != tagRecord2 {
		return payload
	}
	b, err := c.encode(r, r.Seq)
	if err != nil {
		return nil
	}
	return b
}

// dictState is the writer's dictionary (owned by the writer goroutine).
type dictState struct {
	byKey  map[string]*dictEntry
	byID   map[uint64]*dictEntry
	view   dictView
	epoch  *dictEntry
	lap    int
	budget int // most bytes of live entries
	win    int // look-ahead pages for a refresh
}

func newDictState(g geometry, maxPayload int) dictState {
	budget := maxPayload - 8
	return dictState{byKey: map[string]*dictEntry{}, byID: map[uint64]*dictEntry{}, view: dictView{},
		budget: budget, win: (budget+g.pageSize-2)/(g.pageSize-1) + 2}
}

// clone returns a copy of d whose entries can be changed (interned,
// marked) without touching d's: the dry run of an append (Admits) works
// on it. The view is shared: a dry run does not change it.
func (d dictState) clone() dictState {
	c := d
	copies := make(map[*dictEntry]*dictEntry, len(d.byID))
	cp := func(e *dictEntry) *dictEntry {
		if e == nil {
			return nil
		}
		if x := copies[e]; x != nil {
			return x
		}
		x := *e
		copies[e] = &x
		return &x
	}
	c.byID = make(map[uint64]*dictEntry, len(d.byID))
	for id, e := range d.byID {
		c.byID[id] = cp(e)
	}
	c.byKey = make(map[string]*dictEntry, len(d.byKey))
	for k, e := range d.byKey {
		c.byKey[k] = cp(e)
	}
	c.epoch = cp(d.epoch)
	return c
}

// loadDict learns the dictionary from a mount: every definition for the
// view, the newest copy of each id for the writer, and which ids the
// unconsumed version-2 records use.
func (j *Journal) loadDict(frames []frameInfo) []Region {
	view, bad, _ := viewOf(frames, j.c)
	j.d.view = view
	for _, f := range frames {
		if f.tag != tagDict {
			continue
		}
		m, err := j.c.decodeDict(f.payload)
		if err != nil {
			continue
		}
		for id, d := range m {
			e := j.d.byID[id]
			if e != nil && e.copySeq > f.seq {
				continue
			}
			if e != nil {
				delete(j.d.byKey, e.key)
			}
			key, size := j.c.dictKey(d.Value)
			e = &dictEntry{id: id, since: d.Since, val: d.Value, key: key, size: size, lap: -1,
				hasCopy: true, copyFirst: f.firstPage, copyLast: f.lastPage, copySeq: f.seq}
			j.d.byID[id] = e
			j.d.byKey[key] = e
		}
	}
	for _, e := range j.entries {
		if e.tag != tagRecord2 {
			continue
		}
		for _, id := range j.c.refs2(e.payload) {
			if d := j.d.byID[id]; d != nil {
				d.lastUse = max(d.lastUse, e.seq)
			}
		}
	}
	return bad
}

// dictPinned reports whether page p holds the newest committed copy of an
// entry an unconsumed record uses, with no newer copy placed.
func (j *Journal) dictPinned(p int) bool {
	for _, e := range j.d.byID {
		if e.lastUse > j.consumed && e.hasCopy && !e.pending && p >= e.copyFirst && p <= e.copyLast {
			return true
		}
	}
	return false
}

// intern returns the entry for val, creating it (or giving a dead id a new
// meaning) when the dictionary has room; nil: write the value inline.
func (j *Journal) intern(val any, force bool, using []*dictEntry) *dictEntry {
	key, size := j.c.dictKey(val)
	if e := j.d.byKey[key]; e != nil {
		return e
	}
	used := 0
	var dead *dictEntry
	for _, e := range j.d.byID {
		live := e.lastUse > j.consumed || e.pending || e.lap == j.d.lap
		if live {
			used += e.size
		} else if !containsEntry(using, e) && (dead == nil || e.id < dead.id) {
			dead = e
		}
	}
	if !force && used+size > j.d.budget {
		return nil
	}
	if dead != nil && (len(j.d.byID) >= maxDictEntries || dead.id < uint64(len(j.d.byID))) {
		delete(j.d.byKey, dead.key)
		*dead = dictEntry{id: dead.id, val: val, key: key, size: size, lap: -1,
			hasCopy: dead.hasCopy, copyFirst: dead.copyFirst, copyLast: dead.copyLast, copySeq: dead.copySeq}
		j.d.byKey[key] = dead
		return dead
	}
	if len(j.d.byID) >= maxDictEntries && !force {
		return nil
	}
	id := uint64(0)
	for j.d.byID[id] != nil {
		id++
	}
	e := &dictEntry{id: id, val: val, key: key, size: size, lap: -1}
	j.d.byID[id] = e
	j.d.byKey[key] = e
	return e
}

func containsEntry(es []*dictEntry, e *dictEntry) bool {
	for _, x := range es {
		if x == e {
			return true
		}
	}
	return false
}

// refreshSet adds to defs every live entry whose newest committed copy
// lies in the pages from..to (ring order) the writer is about to claim.
// An entry in uses (the unit's frame references it) is live whatever its
// last use so far: a record that uses an entry again makes its copy's
// pages pinned, so the copy is written again now if the writer is near it
// — else the writer may come to stand on a pinned page, where nothing,
// not even a consume marker, can be placed.
func (j *Journal) refreshSet(defs, uses []*dictEntry, from, to int) []*dictEntry {
	in := func(p int) bool { return j.dist(from, p) <= j.dist(from, to) }
	for _, e := range j.d.byID {
		live := e.lastUse > j.consumed || containsEntry(uses, e)
		if !live || !e.hasCopy || e.pending || containsEntry(defs, e) {
			continue
		}
		for p := e.copyFirst; p <= e.copyLast; p++ {
			if in(p) {
				defs = append(defs, e)
				break
			}
		}
	}
	sort.Slice(defs, func(a, b int) bool { return defs[a].id < defs[b].id })
	return defs
}

// placeUnit places a dictionary frame holding defs (when any; new entries
// get its sequence as since) and then the frame tag/payload, as one unit:
// both or neither, the dictionary first, with every live entry whose copy
// the unit's pages (and reserve and look-ahead after them) reach written
// again in it. uses lists the entries the frame references (its seq
// becomes their lastUse).
//
// dry only checks (Admits): nothing is placed or changed but the entries'
// since and pending marks, which the caller's clone of the dictionary
// takes (see dictState.clone).
func (j *Journal) placeUnit(r *request, tag byte, payload []byte, reserve int, consumed uint64, defs, uses []*dictEntry, dry bool) (bool, error) {
	main := frameSize(j.nextSeq+1, len(payload))
	start := j.w
	if _, wrap, _ := j.room(main+j.d.budget, 0); wrap {
		start = 0
	}
	defs = j.refreshSet(defs, uses, start, (start+j.g.span(1, main)+1+reserve+j.d.win)%j.g.pages)
	if len(defs) == 0 {
		if dry {
			_, _, err := j.room(frameSize(j.nextSeq, len(payload)), reserve)
			return false, err
		}
		if _, err := j.prepare(frameSize(j.nextSeq, len(payload)), reserve); err != nil {
			return false, err
		}
		seq := j.nextSeq
		for _, e := range uses {
			e.lastUse = max(e.lastUse, seq)
		}
		return j.put(r, tag, seq, payload, consumed, nil)
	}
	var fresh []*dictEntry
	for _, e := range defs {
		if e.since == 0 {
			e.since = j.nextSeq
			fresh = append(fresh, e)
		}
		e.pending = true
	}
	undo := func() {
		for _, e := range fresh {
			e.since = 0
		}
		for _, e := range defs {
			e.pending = false
		}
	}
	dict := j.c.encodeDict(defs)
	if len(dict) > j.opts.MaxPayload {
		undo()
		return false, fmt.Errorf("%w: dictionary frame of %d bytes", ErrTooLarge, len(dict))
	}
	dl := frameSize(j.nextSeq, len(dict))
	total := dl + frameSize(j.nextSeq+1, len(payload))
	_, wrap, err := j.room(total, reserve)
	if err != nil {
		undo()
		return false, err
	}
	// The dictionary frame's own pages must hold no copy a live record
	// needs, not even one this frame writes again.
	first, last := j.w, j.w+j.g.span(j.off, dl)
	if wrap {
		first, last = 0, j.g.span(1, dl)
	}
	for p := first; p <= last; p++ {
		for _, e := range j.d.byID {
			if e.lastUse > j.consumed && e.hasCopy && p >= e.copyFirst && p <= e.copyLast {
				undo()
				return false, ErrFull
			}
		}
	}
	if dry {
		undo()
		return false, nil
	}
	if _, err := j.prepare(total, reserve); err != nil {
		undo()
		return false, err
	}
	for _, e := range defs {
		e.lap = j.d.lap
	}
	if _, err := j.put(nil, tagDict, j.nextSeq, dict, 0, defs); err != nil {
		return false, err // the record was not placed: the caller answers it
	}
	seq := j.nextSeq
	for _, e := range uses {
		e.lastUse = max(e.lastUse, seq)
	}
	return j.put(r, tag, seq, payload, consumed, nil)
}

// appendRecord2 places r's record in the compact format, with the
// dictionary frame its first uses in this lap (and any refresh) need. dry
// only checks that it would be placed (Admits; j.d must be a clone).
func (j *Journal) appendRecord2(r *request, reserve int, dry bool) (bool, error) {
	rec := r.rec
	lap := j.d.lap
	if _, wrap, _ := j.room(frameSize(j.nextSeq, 32), 0); wrap {
		lap++
	}
	var uses, defs []*dictEntry
	use := func(e *dictEntry) {
		if e == nil || containsEntry(uses, e) {
			return
		}
		uses = append(uses, e)
		if e.lap != lap || e.since == 0 || (!e.hasCopy && !e.pending) {
			defs = append(defs, e)
		}
	}
	ms := rec.Time.UnixMilli()
	ep := j.d.epoch
	if ep == nil || ep.lap != lap || ep.since == 0 {
		ep = nil
	}
	if ep != nil {
		if d := ms - int64(ep.val.(uint64)); d > maxEpochDelta || d < -maxEpochDelta {
			ep = nil
		}
	}
	if ep == nil {
		ep = j.intern(uint64(ms), true, uses)
	}
	use(ep)
	var inline map[string]any
	var src []any
	if internableAttrs(rec.Attrs) {
		src = sourceOf(rec, normAttrs(rec.Attrs))
	} else {
		src, inline = sourceOf(rec, nil), normAttrs(rec.Attrs)
	}
	var se *dictEntry
	if _, size := j.c.dictKey(src); size <= maxInternSource {
		se = j.intern(src, false, uses)
	}
	if se == nil && len(rec.Attrs) > 0 && inline == nil {
		src, inline = sourceOf(rec, nil), normAttrs(rec.Attrs)
		se = j.intern(src, false, uses)
	}
	if se == nil {
		se = j.intern(src, true, uses)
	}
	use(se)
	payload, err := j.c.encode2(rec, ep.id, ep.val.(uint64), se.id, inline)
	if err != nil {
		return false, err
	}
	if len(payload) > j.opts.MaxPayload {
		return false, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(payload), j.opts.MaxPayload)
	}
	reg, err := j.placeUnit(r, tagRecord2, payload, reserve, 0, defs, uses, dry)
	if err == nil || reg {
		j.d.epoch = ep
	}
	return reg, err
}
