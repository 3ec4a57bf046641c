package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Admission is the class a record is admitted by when the journal is
// nearly full (see the package doc, "Admission near full"), most important
// first: the outage lifecycle records, control, checked collection,
// unchecked collection.
type Admission uint8

// Admission classes, in the order of importance.
const (
	// AdmitLifecycle: a business event record (the outage begin and end).
	AdmitLifecycle Admission = iota
	// AdmitControl: a control action (and an alarm).
	AdmitControl
	// AdmitChecked: collection whose protocol checksum verified it.
	AdmitChecked
	// AdmitUnchecked: collection without integrity protection.
	AdmitUnchecked
	nAdmission
)

var admissionNames = [nAdmission]string{"lifecycle", "control", "checked", "unchecked"}

// String names the class.
func (a Admission) String() string {
	if a < nAdmission {
		return admissionNames[a]
	}
	return fmt.Sprintf("admission(%d)", uint8(a))
}

// AdmissionOf returns the class the journal admits r by: business event →
// lifecycle; control and alarm → control; collection with an integrity
// kind → checked, without one (IntegrityNone) → unchecked.
func AdmissionOf(r *Record) Admission {
	switch r.Business {
	case BusinessEvent:
		return AdmitLifecycle
	case BusinessControl, BusinessAlarm:
		return AdmitControl
	}
	if r.Integrity.Kind == IntegrityNone {
		return AdmitUnchecked
	}
	return AdmitChecked
}

// ErrReserved reports an append refused because the free space left is
// reserved for more important records (see Reserve). errors.Is(err,
// ErrFull) holds for it too, so a caller that only knows "full" still
// sees one. Nothing was written; the refusal is counted per class
// (Stats.Refused).
var ErrReserved error = reservedError{}

type reservedError struct{}

func (reservedError) Error() string {
	return "store: journal nearly full: the space left is reserved for more important records"
}

// Is makes a reserved refusal a full journal too.
func (reservedError) Is(target error) bool { return target == ErrFull }

// Reserve is how many free pages an append of each class must leave after
// its frame (the pages it claims not counted): the consume marker's
// reserve (Options.ReservePages) for lifecycle records, plus the
// lifecycle reserve for control, plus the control band for checked
// collection, plus the checked band for unchecked collection. Fixed at
// Open from the part's geometry.
type Reserve struct {
	Lifecycle int `json:"lifecycle"`
	Control   int `json:"control"`
	Checked   int `json:"checked"`
	Unchecked int `json:"unchecked"`
}

// of returns the pages class a must leave free.
func (r Reserve) of(a Admission) int {
	switch a {
	case AdmitLifecycle:
		return r.Lifecycle
	case AdmitControl:
		return r.Control
	case AdmitChecked:
		return r.Checked
	}
	return r.Unchecked
}

// Refusals counts the appends refused for lack of space, per admission
// class: ErrReserved for the classes below lifecycle, ErrFull for a
// lifecycle record (nothing is reserved above it but the consume marker's
// pages).
type Refusals struct {
	Lifecycle uint64 `json:"lifecycle"`
	Control   uint64 `json:"control"`
	Checked   uint64 `json:"checked"`
	Unchecked uint64 `json:"unchecked"`
}

// Total is the sum over the classes.
func (r Refusals) Total() uint64 { return r.Lifecycle + r.Control + r.Checked + r.Unchecked }

// Sub returns r minus an earlier reading o, class by class (a counter
// that went backwards, e.g. another journal, counts from zero).
func (r Refusals) Sub(o Refusals) Refusals {
	d := func(a, b uint64) uint64 {
		if a < b {
			return a
		}
		return a - b
	}
	return Refusals{d(r.Lifecycle, o.Lifecycle), d(r.Control, o.Control), d(r.Checked, o.Checked), d(r.Unchecked, o.Unchecked)}
}

// String lists the classes with refusals ("control 3, checked 12"); ""
// when none.
func (r Refusals) String() string {
	var parts []string
	for a, n := range [nAdmission]uint64{r.Lifecycle, r.Control, r.Checked, r.Unchecked} {
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", Admission(a), n))
		}
	}
	return strings.Join(parts, ", ")
}

// add counts one refusal of class a.
func (r *Refusals) add(a Admission) {
	switch a {
	case AdmitLifecycle:
		r.Lifecycle++
	case AdmitControl:
		r.Control++
	case AdmitChecked:
		r.Checked++
	default:
		r.Unchecked++
	}
}

// maxLifecycleFrame is the most stream bytes one outage lifecycle record
// can take in either format, with the boot id and the evidence at
// MaxStringLen and the largest time and sequence numbers: its version-1
// frame, or its version-2 unit — the record frame (its attributes carry
// times and evidence, so they are written inline) after the dictionary
// frame it may need, with its lap's epoch and its source (the first
// record of a lap, or its source's copy written again ahead of the
// writer). Other entries' copies near the writer need no room here: every
// unit admitted before it (a class whose reserve is at least the
// lifecycle reserve) has written again every live copy within its own
// look-ahead, which reaches past the pages the lifecycle records claim.
func maxLifecycleFrame(c codec) int {
	long := strings.Repeat("x", MaxStringLen)
	at := maxTime.Add(-time.Millisecond)
	const seq = 1<<63 - 1
	n := 0
	for _, r := range []Record{
		OutageBeginRecord(OutageBegin{At: at, Confirmed: true, Volts: [3]float64{-1.1e300, -2.2e300, -3.3e300}, BootID: long}),
		OutageEndRecord(OutageEnd{Begin: at, End: at, Cold: true, Confirmed: true, Evidence: long}),
	} {
		b, err := c.encode(&r, seq)
		if err != nil {
			panic("store: encode the largest lifecycle record: " + err.Error()) // a bug in this file
		}
		n = max(n, frameSize(seq, len(b)))
		n = max(n, maxLifecycleUnit2(c, &r, seq))
	}
	return n
}

// maxLifecycleUnit2 is the version-2 unit of lifecycle record r: its
// dictionary frame (the epoch and the source, the largest ids) and its
// record frame, the time at the largest delta from the epoch.
func maxLifecycleUnit2(c codec, r *Record, seq uint64) int {
	const id = maxDictEntries - 1
	ms := uint64(r.Time.UnixMilli())
	src := sourceOf(r, nil)
	_, size := c.dictKey(src)
	epoch := &dictEntry{id: id - 1, since: seq, val: ms}
	source := &dictEntry{id: id, since: seq, val: src, size: size}
	b, err := c.encode2(r, epoch.id, ms-maxEpochDelta, source.id, normAttrs(r.Attrs))
	if err != nil {
		panic("store: encode the largest lifecycle record: " + err.Error()) // a bug in this file
	}
	return frameSize(seq, len(c.encodeDict([]*dictEntry{epoch, source}))) + frameSize(seq, len(b))
}

// reserveFor derives the admission reserves from the geometry (see the
// package doc). base is the consume marker's reserve.
func reserveFor(g geometry, c codec, base int) Reserve {
	per := g.pageSize - 1 // stream bytes per page
	f := maxLifecycleFrame(c)
	one := (f + per - 1) / per
	// Two frames back to back from anywhere in a page, plus the pages a
	// wrap at the end of the chip may skip (fewer than one frame's).
	life := (2*f+per-1)/per + 1 + one + 1
	control := max(2, g.pages/16)
	checked := max(1, g.pages/32)
	// A part too small for these keeps at least half its pages for
	// records of every class: the three bands shrink in proportion.
	if extra, room := life+control+checked, g.pages/2-base; extra > room {
		life = max(1, life*room/extra)
		control = max(1, control*room/extra)
		checked = max(1, checked*room/extra)
	}
	return Reserve{
		Lifecycle: base,
		Control:   base + life,
		Checked:   base + life + control,
		Unchecked: base + life + control + checked,
	}
}

// Reserve returns the free pages each admission class must leave (fixed
// at Open).
func (j *Journal) Reserve() Reserve { return j.reserve }

// Admits reports, without writing anything, whether Append would take rec
// now: nil if it would, else the error Append would return (ErrReserved
// or ErrFull near full, ErrTooLarge, a validation error). It applies
// Append's rule exactly: rec's frame in the format the writer writes, the
// dictionary frame its names and its lap's epoch need (and any refresh of
// entries near the pages it would claim), and the free pages rec's
// admission class must leave. It costs no chip access: the writer answers
// it between its page writes from what it holds.
//
// The answer holds until the writer takes another append: the journal has
// one writer, so only an append handled between this query and rec's own
// can change it — and then rec's Append is refused and says so. A refusal
// counts in Stats.Refused (and FullRejects) like a refused append: the
// caller is expected not to act on a record the journal cannot take (a
// control from the master is not run).
func (j *Journal) Admits(ctx context.Context, rec Record) error {
	if err := rec.Validate(); err != nil {
		return err
	}
	return j.call(ctx, &request{kind: reqAdmit, rec: &rec}).err
}

// CapacityEstimate is how many records of a workload a journal holds
// (EstimateCapacity).
type CapacityEstimate struct {
	// Records is how many records of the mix fit from an empty journal
	// before the first is refused (their admission class's reserve kept).
	Records int `json:"records"`
	// PagesPerRecord is the mean pages one record takes, appended alone
	// (each append in an outage programs its page, padded).
	PagesPerRecord float64 `json:"pages_per_record"`
	// FrameBytes is the mean record frame in the compact format;
	// DictBytes the dictionary frame a lap needs for the mix (every
	// source and the lap's epoch).
	FrameBytes float64 `json:"frame_bytes"`
	DictBytes  int     `json:"dict_bytes"`
	// Usable is the pages the mix may fill: the part's pages less its
	// class's admission reserve, the consume marker's page and the
	// dictionary's.
	Usable int `json:"usable_pages"`
}

// EstimateCapacity estimates, without a chip, how many records of mix a
// journal on a part of the given geometry holds from empty, written by
// the version-2 writer one append at a time (as in an outage: records
// spaced seconds apart each program their page, padded): it encodes every
// record of mix as the writer would (the names in its dictionary, the
// time a delta of 100 s from the lap's epoch), adds the dictionary frame a
// lap needs for all of the mix's sources and its epoch, and fills the
// pages left after the admission reserve of the mix's least important
// class (Reserve). Refreshes of dictionary entries and a lap that ends
// mid-way are not modelled: a journal filled with the mix holds within a
// few records of it (the daemon's test pins the tolerance). mix's records
// are taken in turn, as the workload interleaves them.
func EstimateCapacity(pageSize, pages int, mix []Record, opts Options) (CapacityEstimate, error) {
	if pageSize < 16 || pageSize > 256 || pages < 8 {
		return CapacityEstimate{}, fmt.Errorf("store: capacity estimate: geometry %d pages of %d bytes not supported", pages, pageSize)
	}
	if len(mix) == 0 {
		return CapacityEstimate{}, fmt.Errorf("store: capacity estimate: no records in the workload")
	}
	g := geometry{pageSize: pageSize, pages: pages}
	c := newCodec()
	if opts.ReservePages < 2 {
		opts.ReservePages = 2
	}
	res := reserveFor(g, c, opts.ReservePages)
	const seq = 1 << 20 // a sequence number of 3 bytes, as after some use
	least := AdmitLifecycle
	var srcs []*dictEntry
	keys := map[string]bool{}
	totalPages, totalBytes := 0, 0
	for i := range mix {
		r := mix[i]
		if err := r.Validate(); err != nil {
			return CapacityEstimate{}, fmt.Errorf("store: capacity estimate: record %d: %w", i, err)
		}
		least = max(least, AdmissionOf(&r))
		var inline map[string]any
		src := sourceOf(&r, normAttrs(r.Attrs))
		if !internableAttrs(r.Attrs) {
			src, inline = sourceOf(&r, nil), normAttrs(r.Attrs)
		}
		key, size := c.dictKey(src)
		if size > maxInternSource && len(r.Attrs) > 0 && inline == nil {
			src, inline = sourceOf(&r, nil), normAttrs(r.Attrs)
			key, size = c.dictKey(src)
		}
		if !keys[key] {
			keys[key] = true
			srcs = append(srcs, &dictEntry{id: uint64(len(srcs) + 1), since: seq, val: src, size: size})
		}
		ms := uint64(r.Time.UnixMilli() - 100_000)
		b, err := c.encode2(&r, 0, ms, uint64(len(srcs)), inline)
		if err != nil {
			return CapacityEstimate{}, fmt.Errorf("store: capacity estimate: record %d: %w", i, err)
		}
		f := frameSize(seq, len(b))
		totalBytes += f
		totalPages += 1 + g.span(1, f)
	}
	epoch := &dictEntry{id: 0, since: seq, val: uint64(mix[0].Time.UnixMilli())}
	dict := frameSize(seq, len(c.encodeDict(append([]*dictEntry{epoch}, srcs...))))
	est := CapacityEstimate{
		PagesPerRecord: float64(totalPages) / float64(len(mix)),
		FrameBytes:     float64(totalBytes) / float64(len(mix)),
		DictBytes:      dict,
	}
	est.Usable = pages - res.of(least) - 1 - (1 + g.span(1, dict))
	if est.Usable > 0 {
		est.Records = int(float64(est.Usable) / est.PagesPerRecord)
	}
	return est, nil
}
