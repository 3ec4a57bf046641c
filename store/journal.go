package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"runtime"
	"sync/atomic"
)

// Device is the memory a journal lives on. *eeprom.Chip implements it:
// WriteAt of one whole page returns only when that page is programmed.
type Device interface {
	io.ReaderAt
	io.WriterAt
	// Size returns the memory size in bytes.
	Size() int64
	// PageSize returns the program page size in bytes.
	PageSize() int
}

// Sentinel errors callers branch on with errors.Is.
var (
	// ErrFull reports that an append would have to overwrite records
	// not yet consumed. Nothing was written; the condition is counted.
	ErrFull = errors.New("store: journal full: unconsumed records would be overwritten")
	// ErrClosed reports a call on a closed journal.
	ErrClosed = errors.New("store: journal closed")
	// ErrTooLarge reports a record whose encoding exceeds the frame limit.
	ErrTooLarge = errors.New("store: record too large for the journal")
)

// Options tune a journal. The zero value is usable.
type Options struct {
	// Logger receives mount reports and write errors (nil: discard).
	Logger *slog.Logger
	// ReservePages is how many free pages an append must leave so that a
	// consume marker can always be written (default 2, minimum 2).
	ReservePages int
	// MaxPayload bounds one record's CBOR encoding (default 1024 bytes or
	// an eighth of the capacity, whichever is smaller).
	MaxPayload int
	// Linger is how many times the writer yields to other goroutines
	// before padding a partly filled page, to let producers it has just
	// released join the page (group commit). Default 16; negative: none.
	Linger int
	// VerifyWrites reads back every programmed page and fails the commit
	// if it differs (costs a page read per page write).
	VerifyWrites bool
	// Wear, if set, reports the part's per-page program counters (the
	// simulator knows the true ones); otherwise Stats counts programs
	// since Open.
	Wear func() []uint32
	// Rand supplies the journal identity on format (default crypto/rand).
	Rand io.Reader
	// WriterThread, if set, is called once on the writer goroutine after it
	// has locked itself to its OS thread (which then exits with it); every
	// page write after Open returns is made on that thread (formatting a
	// blank chip happens in Open, on the caller's). The place to give the
	// thread that programs the EEPROM its kernel IO priority.
	WriterThread func()

	// legacyV1 makes the writer append version-1 records (tests: the
	// upgrade from a chip written before the compact format).
	legacyV1 bool
}

// MountReport says what Open found.
type MountReport struct {
	// ID is the journal identity (hex).
	ID string `json:"id"`
	// Formatted is true when the chip held no journal and was formatted.
	Formatted bool `json:"formatted"`
	// Frames counts the frames whose CRC verified.
	Frames int `json:"frames"`
	// Records counts committed records not yet consumed.
	Records int `json:"records"`
	// Consumed is the highest consumed sequence number.
	Consumed uint64 `json:"consumed"`
	// NextSeq is the sequence number the next frame gets.
	NextSeq uint64 `json:"next_seq"`
	// Skipped lists torn or corrupt regions that were skipped, damaged
	// page headers, and pages found erased or zeroed amid the journal.
	Skipped []Region `json:"skipped,omitempty"`
	// Lost lists the runs of sequence numbers above the consume mark that
	// the chip should hold but does not, lost to damage (see SeqRange).
	Lost []SeqRange `json:"lost,omitempty"`
	// Notes are other findings worth an operator's attention.
	Notes []string `json:"notes,omitempty"`
}

// Stats describes the journal's use and the chip's wear.
type Stats struct {
	CapacityBytes   int     `json:"capacity_bytes"`
	UsedBytes       int     `json:"used_bytes"`
	Pages           int     `json:"pages"`
	PagesUsed       int     `json:"pages_used"`
	Records         int     `json:"records"`
	Consumed        uint64  `json:"consumed"`
	NextSeq         uint64  `json:"next_seq"`
	Appends         uint64  `json:"appends"`
	FullRejects     uint64  `json:"full_rejects"`
	Consumes        uint64  `json:"consumes"`
	RecordBytes     uint64  `json:"record_bytes"`
	PageWrites      uint64  `json:"page_writes"`
	BytesProgrammed uint64  `json:"bytes_programmed"`
	WearMin         uint32  `json:"wear_min"`
	WearMax         uint32  `json:"wear_max"`
	WearMean        float64 `json:"wear_mean"`
	// LostRanges and LostSeqs count the lost sequence ranges the mount
	// found and the sequence numbers in them (Journal.LostRanges).
	LostRanges int    `json:"lost_ranges"`
	LostSeqs   uint64 `json:"lost_seqs"`
	// Refused counts the appends refused for lack of space per admission
	// class (each also counts in FullRejects); Reserve is what each class
	// must leave free (see the package doc, "Admission near full").
	Refused Refusals `json:"refused"`
	Reserve Reserve  `json:"reserve"`
}

// Entry is one committed, unconsumed record handed out by Replay.
type Entry struct {
	Seq    uint64
	Record Record
	// Raw is the record's CBOR encoding as stored.
	Raw []byte
}

// entry is a committed, unconsumed record as the writer knows it: where
// its frame sits on the chip and what it committed there. Replay reads the
// frame back from the chip at start and checks it against the rest;
// payload serves only lookups that never hand out data (OpenOutage).
type entry struct {
	tag     byte // tagRecord (version 1) or tagRecord2
	seq     uint64
	start   int // chip offset of the frame's tag byte
	payload []byte
	crc     uint32
}

// size is the frame's length in stream bytes (page headers not counted).
func (e entry) size() int { return frameSize(e.seq, len(e.payload)) }

type reqKind int

const (
	reqAppend reqKind = iota
	reqConsume
	reqSnapshot
	reqStats
	reqRead
	reqAdmit
)

type request struct {
	kind reqKind
	rec  *Record
	upto uint64
	off  int64  // reqRead: chip offset
	buf  []byte // reqRead: filled from the chip
	resp chan result
}

type result struct {
	seq      uint64
	err      error
	entries  []entry
	view     dictView // reqSnapshot: the dictionary
	stats    Stats
	consumed uint64 // reqRead, reqSnapshot: the consume mark at the time
}

// pending is a frame placed in the page buffer, acknowledged once its last
// page is programmed.
type pending struct {
	req       *request
	tag       byte
	seq       uint64
	start     int // chip offset of the tag byte
	firstPage int
	lastPage  int
	payload   []byte
	crc       uint32
	consumed  uint64       // for markers
	outage    outageRef    // for records: which lifecycle record, if one
	defs      []*dictEntry // for dictionary frames
}

// Journal is an append-only ring of CBOR records on an EEPROM. One
// goroutine owns the chip and all state; calls are requests to it.
type Journal struct {
	dev    Device
	g      geometry
	c      codec
	log    *slog.Logger
	opts   Options
	report MountReport
	reqs   chan *request
	quit   chan struct{}
	done   chan struct{}

	// Owned by the writer goroutine after Open returns.
	id         []byte
	consumed   uint64
	nextSeq    uint64
	lastRecord uint64
	markerPage int
	pageMax    []uint64
	w, off     int
	buf        []byte
	scratch    []byte
	unacked    []pending
	entries    []entry
	wear       []uint32
	st         Stats
	// d is the dictionary of the compact record format.
	d dictState
	// reserve is fixed at Open: the free pages each admission class must
	// leave after its frame.
	reserve Reserve

	// lost is what the mount found (MountReport.Lost); never changed after
	// Open, so read without the writer.
	lost []SeqRange

	// outages is published by the writer goroutine (see outageIndex).
	outages atomic.Pointer[outageIndex]
}

// Open mounts the journal on dev: it reads the whole chip once, finds the
// committed frames, the newest consume marker and the tail, skips torn or
// corrupt regions (listed in MountReport), and formats a chip that holds
// no journal. The returned journal runs until Close.
func Open(dev Device, opts Options) (*Journal, error) {
	ps := dev.PageSize()
	size := int(dev.Size())
	if ps < 16 || ps > 256 || size%ps != 0 || size/ps < 8 {
		return nil, fmt.Errorf("store: device geometry %d bytes / %d-byte pages not supported", size, ps)
	}
	g := geometry{pageSize: ps, pages: size / ps}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.ReservePages < 2 {
		opts.ReservePages = 2
	}
	capacity := g.pages * (ps - 1)
	if opts.MaxPayload <= 0 {
		opts.MaxPayload = min(1024, capacity/8)
	}
	if opts.Linger == 0 {
		opts.Linger = 16
	}
	if opts.Rand == nil {
		opts.Rand = rand.Reader
	}
	j := &Journal{
		dev: dev, g: g, c: newCodec(), log: opts.Logger, opts: opts,
		reqs: make(chan *request, 64), quit: make(chan struct{}), done: make(chan struct{}),
		buf: make([]byte, ps), wear: make([]uint32, g.pages),
	}
	j.reserve = reserveFor(g, j.c, opts.ReservePages)
	j.d = newDictState(g, opts.MaxPayload)
	img := make([]byte, size)
	if _, err := dev.ReadAt(img, 0); err != nil {
		return nil, fmt.Errorf("store: mount: read chip: %w", err)
	}
	sc := scanImage(img, g, opts.MaxPayload)
	frames := sc.frames
	st := analyze(sc, g, j.c, opts.MaxPayload)
	j.id, j.consumed, j.markerPage, j.pageMax = st.id, st.consumed, st.markerPage, st.pageMax
	j.nextSeq = st.maxSeq + 1
	j.off = 1
	if st.tail != nil {
		j.w = (st.tail.lastPage + 1) % g.pages
	}
	for _, f := range st.records {
		j.lastRecord = max(j.lastRecord, f.seq)
		if f.seq > j.consumed {
			j.entries = append(j.entries, entry{tag: f.tag, seq: f.seq, start: f.start, payload: f.payload, crc: frameCRC(f.tag, f.seq, f.payload)})
		}
	}
	st.skipped = append(st.skipped, j.loadDict(frames)...)
	j.indexOutages(st.records)
	j.lost = st.lost
	j.report = MountReport{Frames: len(frames), Skipped: st.skipped, Lost: st.lost}
	if j.id == nil {
		j.id = make([]byte, idLen)
		if _, err := io.ReadFull(opts.Rand, j.id); err != nil {
			return nil, fmt.Errorf("store: format: journal identity: %w", err)
		}
		if len(frames) == 0 {
			j.report.Formatted = true
		} else {
			j.report.Notes = append(j.report.Notes, "no consume marker found: a new journal identity was assigned and every record is unconsumed")
		}
		if _, err := j.placeMarker(nil, j.consumed); err != nil {
			return nil, fmt.Errorf("store: format: %w", err)
		}
		if err := j.flush(); err != nil {
			return nil, fmt.Errorf("store: format: %w", err)
		}
	}
	if j.markerPage >= 0 && j.dist(j.w, j.markerPage) < 2 {
		// Only a damaged image puts the newest marker right where the
		// writer resumes; re-assert the mark rather than stay full forever.
		j.report.Notes = append(j.report.Notes, fmt.Sprintf("newest consume marker at page %d is where the writer resumes: re-asserted", j.markerPage))
		j.markerPage = -1
		if _, err := j.placeMarker(nil, j.consumed); err != nil {
			return nil, fmt.Errorf("store: mount: re-assert consume marker: %w", err)
		}
		if err := j.flush(); err != nil {
			return nil, fmt.Errorf("store: mount: re-assert consume marker: %w", err)
		}
	}
	j.report.ID = hex.EncodeToString(j.id)
	j.report.Records = len(j.entries)
	j.report.Consumed = j.consumed
	j.report.NextSeq = j.nextSeq
	j.log.Info("journal mounted", "id", j.report.ID, "formatted", j.report.Formatted,
		"frames", j.report.Frames, "records", j.report.Records, "consumed", j.consumed,
		"next_seq", j.nextSeq, "skipped", len(j.report.Skipped), "lost_ranges", len(j.lost))
	for _, r := range j.report.Skipped {
		j.log.Warn("journal mount skipped a region", "page", r.Page, "offset", r.Offset, "reason", r.Reason)
	}
	for _, r := range j.lost {
		j.log.Error("journal records lost", "first_seq", r.First, "last_seq", r.Last,
			"first_page", r.FirstPage, "offset", r.Offset, "last_page", r.LastPage)
	}
	go j.run()
	return j, nil
}

// MountReport returns what Open found.
func (j *Journal) MountReport() MountReport { return j.report }

// LostRanges returns the runs of sequence numbers the mount found missing
// above the consume mark with damaged bytes where they should have been:
// records acknowledged once and lost to damage on the chip (a run may also
// cover consume markers, which share the counter). The list is fixed at
// Open; nil when nothing was lost. The daemon raises it as an alarm and
// writes it into the outage completion log.
func (j *Journal) LostRanges() []SeqRange { return append([]SeqRange(nil), j.lost...) }

// Close stops the writer after flushing any partly filled page. Calls
// after Close fail with ErrClosed.
func (j *Journal) Close() error {
	select {
	case <-j.quit:
	default:
		close(j.quit)
	}
	<-j.done
	return nil
}

func (j *Journal) call(ctx context.Context, r *request) result {
	r.resp = make(chan result, 1)
	select {
	case <-j.quit:
		return result{err: ErrClosed}
	default:
	}
	select {
	case j.reqs <- r:
	case <-j.quit:
		return result{err: ErrClosed}
	case <-ctx.Done():
		return result{err: ctx.Err()}
	}
	select {
	case res := <-r.resp:
		return res
	case <-j.done:
		select {
		case res := <-r.resp:
			return res
		default:
			return result{err: ErrClosed}
		}
	case <-ctx.Done():
		// The writer still completes the request; the caller stops waiting.
		return result{err: ctx.Err()}
	}
}

// Append writes rec and returns its sequence number once the record is
// durable: every page holding it has been programmed, the chip has
// acknowledged again after its write cycle (and, with
// Options.VerifyWrites, the page read back equal). A nil error means
// exactly that; any error means the record is not acknowledged. Concurrent
// appends share page writes (group commit). A full journal returns ErrFull
// and writes nothing; near full, a record whose admission class
// (AdmissionOf) must leave more free space than there is gets ErrReserved
// (which wraps ErrFull) and is not written either. If ctx ends first the
// record may still be committed.
func (j *Journal) Append(ctx context.Context, rec Record) (uint64, error) {
	if err := rec.Validate(); err != nil {
		return 0, err
	}
	res := j.call(ctx, &request{kind: reqAppend, rec: &rec})
	return res.seq, res.err
}

// Consume marks every record with sequence ≤ upto as consumed, durably:
// it returns after a marker frame holding the new mark is programmed. A cut
// before that leaves the old mark, a cut after it the new one.
func (j *Journal) Consume(ctx context.Context, upto uint64) error {
	return j.call(ctx, &request{kind: reqConsume, upto: upto}).err
}

// ReplayReport says what Replay handed out and what it refused.
type ReplayReport struct {
	Records int
	Corrupt []CorruptEntry
	// Lost lists the lost ranges (LostRanges) the replay crossed: those
	// above the consume mark it started from, whose records it could not
	// hand out. Once a consume passes a range, later replays omit it.
	Lost []SeqRange
}

// CorruptEntry is a committed frame that failed the second verification
// when it was read back from the chip: kept aside and reported, never
// handed out as data.
type CorruptEntry struct {
	Seq uint64
	// Raw is what the chip holds where the record's CBOR was committed.
	Raw []byte
	// Page and Offset locate the frame's tag byte on the chip.
	Page, Offset int
	// Err says why (it wraps ErrCorrupt and names seq, page and offset).
	Err error
}

// Replay calls fn for each committed, unconsumed record in sequence order,
// after reading its frame back from the chip and verifying it a second
// time: the frame header (tag, length and sequence as committed), the
// CRC-32C (against the bytes read and the one committed), strict CBOR
// decoding, schema and value ranges, canonical form, and the sequence the
// record carries. A record that fails is reported in ReplayReport.Corrupt
// and never passed to fn. An error from fn stops the replay and is
// returned, as is a failed read (nothing is judged corrupt for it).
//
// The reads go through the writer goroutine, a few pages at a time
// between its page writes, so appends keep going during a replay; each
// page holding the records is read once. A record consumed meanwhile by
// someone else is skipped.
func (j *Journal) Replay(ctx context.Context, fn func(Entry) error) (ReplayReport, error) {
	var rep ReplayReport
	n, mark, err := j.replayFrom(ctx, fn, func(c CorruptEntry) error {
		rep.Corrupt = append(rep.Corrupt, c)
		return nil
	})
	rep.Records = n
	if mark >= 0 {
		for _, r := range j.lost {
			if int64(r.Last) > mark {
				rep.Lost = append(rep.Lost, r)
			}
		}
	}
	return rep, err
}

// replayReadBytes bounds one read-back request: the writer holds the bus
// for about 6 ms of it at 400 kHz, and the transaction's own overhead
// (addresses, restart) stays near 1.5 %.
const replayReadBytes = 256

// replay is Replay with corrupt records streamed to bad as they are found;
// an error from good or bad stops it and is returned as is. It returns how
// many records good accepted.
func (j *Journal) replay(ctx context.Context, good func(Entry) error, bad func(CorruptEntry) error) (int, error) {
	n, _, err := j.replayFrom(ctx, good, bad)
	return n, err
}

// replayFrom is replay that also returns the consume mark the replay
// started from (-1 if it could not start).
func (j *Journal) replayFrom(ctx context.Context, good func(Entry) error, bad func(CorruptEntry) error) (int, int64, error) {
	res := j.call(ctx, &request{kind: reqSnapshot})
	if res.err != nil {
		return 0, -1, res.err
	}
	mark := int64(res.consumed)
	rb := readBack{j: j, first: -1}
	es := res.entries
	n := 0
	for i, e := range es {
		if err := ctx.Err(); err != nil {
			return n, mark, err
		}
		fp, lp := j.framePages(e)
		if err := rb.cover(ctx, fp, lp, j.readAhead(es[i:])); err != nil {
			return n, mark, err
		}
		if e.seq <= rb.consumed {
			continue // consumed while we read: no longer ours to judge
		}
		rec, raw, err := j.verifyFrame(rb.frame(e), e, res.view)
		if err != nil {
			page, off := e.start/j.g.pageSize, e.start%j.g.pageSize
			c := CorruptEntry{Seq: e.seq, Raw: raw, Page: page, Offset: off,
				Err: fmt.Errorf("store: replay seq %d (page %d offset %d): %w", e.seq, page, off, err)}
			if err := bad(c); err != nil {
				return n, mark, err
			}
			continue
		}
		if err := good(Entry{Seq: e.seq, Record: rec, Raw: raw}); err != nil {
			return n, mark, err
		}
		n++
	}
	return n, mark, nil
}

// framePages returns the first and last page of e's frame.
func (j *Journal) framePages(e entry) (int, int) {
	fp := e.start / j.g.pageSize
	return fp, fp + j.g.span(e.start%j.g.pageSize, e.size())
}

// readAhead returns the last page worth reading with the frame of es[0]:
// pages of the frames after it, while they follow on without a gap or a
// wrap, up to replayReadBytes (or the whole first frame if longer).
func (j *Journal) readAhead(es []entry) int {
	fp, end := j.framePages(es[0])
	limit := max(end, fp+max(1, replayReadBytes/j.g.pageSize)-1)
	for _, e := range es[1:] {
		if end >= limit {
			break
		}
		f, l := j.framePages(e)
		if f < fp || f > end+1 {
			break
		}
		end = min(max(end, l), limit)
	}
	return end
}

// readBack holds the whole pages Replay last read from the chip.
type readBack struct {
	j        *Journal
	first    int    // page of buf[0]; -1: nothing read yet
	buf      []byte // whole pages from first on
	consumed uint64 // the writer's consume mark at the latest read
}

// cover makes pages fp..lp available, reading on to page end; pages
// already held are kept, never read again.
func (rb *readBack) cover(ctx context.Context, fp, lp, end int) error {
	ps := rb.j.g.pageSize
	held := len(rb.buf) / ps
	if rb.first >= 0 && fp >= rb.first && lp < rb.first+held {
		return nil
	}
	var keep []byte
	from := fp
	if rb.first >= 0 && fp >= rb.first && fp < rb.first+held {
		keep = rb.buf[(fp-rb.first)*ps:]
		from = rb.first + held
	}
	buf := make([]byte, (end+1-from)*ps)
	res := rb.j.call(ctx, &request{kind: reqRead, off: int64(from * ps), buf: buf})
	if res.err != nil {
		return res.err
	}
	rb.first, rb.buf, rb.consumed = fp, append(append([]byte(nil), keep...), buf...), res.consumed
	return nil
}

// frame returns e's frame bytes as read, page headers left out.
func (rb *readBack) frame(e entry) []byte {
	g := rb.j.g
	out := make([]byte, 0, e.size())
	for pos := e.start; pos >= 0 && len(out) < e.size(); pos = g.next(pos) {
		out = append(out, rb.buf[pos-rb.first*g.pageSize])
	}
	return out
}

// verifyFrame checks a record frame read back from the chip against what
// was committed, then decodes its record. raw is the payload the chip
// holds where the committed payload was.
func (j *Journal) verifyFrame(b []byte, e entry, view dictView) (rec Record, raw []byte, err error) {
	hdr := len(b) - len(e.payload) - crcLen
	raw = b[hdr : len(b)-crcLen]
	if b[0] != e.tag {
		return rec, raw, fmt.Errorf("%w: frame tag 0x%02x, not the record tag 0x%02x committed", ErrCorrupt, b[0], e.tag)
	}
	length, n := binary.Uvarint(b[1:])
	if n <= 0 || length != uint64(len(e.payload)) || 1+n+uvarintLen(e.seq) != hdr {
		return rec, raw, fmt.Errorf("%w: frame length field % x is not the committed length %d", ErrCorrupt, b[1:1+uvarintLen(uint64(len(e.payload)))], len(e.payload))
	}
	seq, m := binary.Uvarint(b[1+n:])
	if m <= 0 || seq != e.seq || 1+n+m != hdr {
		return rec, raw, fmt.Errorf("%w: frame sequence field % x is not the committed sequence %d", ErrCorrupt, b[1+n:hdr], e.seq)
	}
	stored := binary.BigEndian.Uint32(b[len(b)-crcLen:])
	if got := crc32.Checksum(b[:len(b)-crcLen], castagnoli); got != stored {
		return rec, raw, fmt.Errorf("%w: CRC-32C mismatch (stored %08x, computed %08x)", ErrCorrupt, stored, got)
	}
	if stored != e.crc {
		return rec, raw, fmt.Errorf("%w: frame differs from the one committed (CRC-32C %08x, committed %08x)", ErrCorrupt, stored, e.crc)
	}
	if rec, err = j.c.decodeFrame(e.tag, e.seq, raw, view); err != nil {
		return rec, raw, err
	}
	return rec, j.c.rawOf(e.tag, raw, &rec), nil
}

// Stats returns the journal's counters.
func (j *Journal) Stats(ctx context.Context) (Stats, error) {
	res := j.call(ctx, &request{kind: reqStats})
	return res.stats, res.err
}

// uvarintLen is the length of x's uvarint encoding.
func uvarintLen(x uint64) int {
	n := 1
	for ; x >= 0x80; x >>= 7 {
		n++
	}
	return n
}

// frameSize is the length of a record or marker frame (see appendFrame).
func frameSize(seq uint64, payloadLen int) int {
	return 1 + uvarintLen(uint64(payloadLen)) + uvarintLen(seq) + payloadLen + crcLen
}

func frameCRC(tag byte, seq uint64, payload []byte) uint32 {
	var hdr [1 + 2*binary.MaxVarintLen64]byte
	hdr[0] = tag
	n := 1 + binary.PutUvarint(hdr[1:], uint64(len(payload)))
	n += binary.PutUvarint(hdr[n:], seq)
	return crc32.Update(crc32.Checksum(hdr[:n], castagnoli), castagnoli, payload)
}

// run is the writer goroutine.
func (j *Journal) run() {
	defer close(j.done)
	if j.opts.WriterThread != nil {
		runtime.LockOSThread() // never unlocked: the thread retires with the writer
		j.opts.WriterThread()
	}
	for {
		var r *request
		select {
		case r = <-j.reqs:
		case <-j.quit:
			j.shutdown()
			return
		}
		j.handle(r)
		// Group commit: take whatever else is queued; before padding a
		// partly filled page, yield so producers just released can join.
		for len(j.unacked) > 0 {
			select {
			case r = <-j.reqs:
				j.handle(r)
				continue
			default:
			}
			joined := false
			for i := 0; i < j.opts.Linger; i++ {
				runtime.Gosched()
				if len(j.reqs) > 0 {
					joined = true
					break
				}
			}
			if joined {
				continue
			}
			if err := j.flush(); err != nil {
				j.log.Error("journal commit failed", "page", j.w, "err", err)
			}
		}
	}
}

func (j *Journal) shutdown() {
	if len(j.unacked) > 0 {
		if err := j.flush(); err != nil {
			j.log.Error("journal commit at close failed", "err", err)
		}
	}
	for {
		select {
		case r := <-j.reqs:
			r.resp <- result{err: ErrClosed}
		default:
			return
		}
	}
}

func (j *Journal) handle(r *request) {
	switch r.kind {
	case reqSnapshot:
		r.resp <- result{entries: append([]entry(nil), j.entries...), consumed: j.consumed, view: j.d.view.clone()}
	case reqStats:
		r.resp <- result{stats: j.stats()}
	case reqRead:
		var err error
		if _, rerr := j.dev.ReadAt(r.buf, r.off); rerr != nil {
			err = fmt.Errorf("store: read back %d bytes at page %d: %w", len(r.buf), int(r.off)/j.g.pageSize, rerr)
		}
		r.resp <- result{err: err, consumed: j.consumed}
	case reqAppend:
		j.st.Appends++
		if registered, err := j.appendRecord(r); err != nil && !registered {
			if errors.Is(err, ErrFull) {
				j.st.FullRejects++
				j.st.Refused.add(AdmissionOf(r.rec))
			}
			r.resp <- result{err: err}
		}
	case reqAdmit:
		_, err := j.tryRecord(r, true)
		if errors.Is(err, ErrFull) {
			j.st.FullRejects++
			j.st.Refused.add(AdmissionOf(r.rec))
		}
		r.resp <- result{err: err}
	case reqConsume:
		if r.upto <= j.consumed {
			r.resp <- result{}
			return
		}
		if r.upto > j.lastRecord {
			r.resp <- result{err: fmt.Errorf("store: consume up to %d: the last record is %d", r.upto, j.lastRecord)}
			return
		}
		if registered, err := j.placeMarker(r, r.upto); err != nil {
			if !registered {
				r.resp <- result{err: err}
			}
			return
		}
		if err := j.flush(); err != nil {
			j.log.Error("journal consume marker failed", "err", err)
		}
	}
}

// dist is the forward distance in pages from a to b around the ring.
func (j *Journal) dist(a, b int) int { return (b - a + j.g.pages) % j.g.pages }

// free reports whether page p may be programmed: it holds nothing
// unconsumed (placed or committed) and not the newest durable consume
// marker. The marker page never needs to be overwritten in normal use: the
// pages after it hold records appended after it, which are either
// unconsumed (so the reserve stops the writer first) or consumed by a newer
// marker. Refusing it outright keeps the mark and the journal identity
// safe from a torn page even on an image that breaks that pattern.
func (j *Journal) free(p int) bool {
	p %= j.g.pages
	return j.pageMax[p] <= j.consumed && p != j.markerPage && !j.dictPinned(p)
}

// prepare makes room for a frame of n bytes at the cursor: it wraps to
// page 0 if the frame would cross the end of the chip, and checks that
// every page the frame claims, plus reserve pages after it, is free. A
// refusal changes nothing: the cursor wraps (programming the partly
// filled page) only for a frame that then fits, so a refused append never
// skips the pages at the end of the chip that a consume marker needs.
func (j *Journal) prepare(n, reserve int) (int, error) {
	k, wrap, err := j.room(n, reserve)
	if err != nil {
		return 0, err
	}
	if wrap {
		if j.off > 1 {
			if err := j.flush(); err != nil {
				return 0, err
			}
		}
		if j.w != 0 {
			j.d.lap++
		}
		j.w, j.off = 0, 1
	}
	return k, nil
}

// room reports, without changing anything, how many pages after the first
// a frame of n bytes spans from where it would start, and whether it must
// wrap to page 0 first; ErrFull if a page it claims, or one of reserve
// pages after it, is not free.
func (j *Journal) room(n, reserve int) (k int, wrap bool, err error) {
	w, off := j.w, j.off
	k = j.g.span(off, n)
	if w+k >= j.g.pages {
		wrap = w != 0 || off > 1
		w, off = 0, 1
		k = j.g.span(off, n)
		if k >= j.g.pages {
			return 0, false, ErrTooLarge
		}
	}
	from := w + 1
	if off == 1 {
		from = w
	}
	for p := from; p <= w+k+reserve; p++ {
		if !j.free(p) {
			return 0, false, ErrFull
		}
	}
	return k, wrap, nil
}

func (j *Journal) appendRecord(r *request) (registered bool, err error) {
	return j.tryRecord(r, false)
}

// tryRecord places r's record (dry: only checks that it would be placed,
// changing nothing; see Admits) under its admission class's reserve.
func (j *Journal) tryRecord(r *request, dry bool) (registered bool, err error) {
	payload, err := j.c.encode(r.rec, j.nextSeq)
	if err != nil {
		return false, err
	}
	if len(payload) > j.opts.MaxPayload {
		return false, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(payload), j.opts.MaxPayload)
	}
	class := AdmissionOf(r.rec)
	var reg bool
	switch {
	case j.opts.legacyV1 && dry:
		_, _, err = j.room(frameSize(j.nextSeq, len(payload)), j.reserve.of(class))
	case j.opts.legacyV1:
		reg, err = j.place(r, tagRecord, j.nextSeq, payload, j.reserve.of(class), 0)
	case dry:
		saved := j.d
		j.d = saved.clone()
		_, err = j.appendRecord2(r, j.reserve.of(class), true)
		j.d = saved
	default:
		reg, err = j.appendRecord2(r, j.reserve.of(class), false)
	}
	if err != nil && !reg && class != AdmitLifecycle && errors.Is(err, ErrFull) {
		// Would it fit without the admission reserve? Then the space is
		// there but kept for more important records.
		if j.fits(len(payload)) {
			err = fmt.Errorf("%w (a %s record must leave %d free pages)", ErrReserved, class, j.reserve.of(class))
		}
	}
	return reg, err
}

// fits reports whether a record frame with payloadLen bytes would find
// room leaving only the consume marker's reserve (no admission reserve).
func (j *Journal) fits(payloadLen int) bool {
	_, _, err := j.room(frameSize(j.nextSeq, payloadLen), j.opts.ReservePages)
	return err == nil
}

// placeMarker places a consume marker. The version-2 writer places it as
// a unit, refreshing the dictionary entries near it like any frame; when
// that finds no room, the marker goes alone: it references no entry, and
// the pages it claims are free (so no live copy is overwritten), so a
// consume is never refused for the room a refresh would take. The next
// record's unit writes the refresh (see refreshSet).
func (j *Journal) placeMarker(r *request, consumed uint64) (bool, error) {
	payload := j.c.encodeMarker(j.id, consumed)
	if j.opts.legacyV1 {
		return j.place(r, tagMarker, j.nextSeq, payload, 0, consumed)
	}
	reg, err := j.placeUnit(r, tagMarker, payload, 0, consumed, nil, nil, false)
	if err == nil || reg || !errors.Is(err, ErrFull) {
		return reg, err
	}
	return j.place(r, tagMarker, j.nextSeq, payload, 0, consumed)
}

// place appends one frame to the page buffer, programming each page that
// fills. The frame is registered as pending before any byte is placed; it
// is acknowledged (or failed) by program when its last page is written.
// registered reports whether the frame's request will be answered that way.
func (j *Journal) place(r *request, tag byte, seq uint64, payload []byte, reserve int, consumed uint64) (registered bool, err error) {
	if _, err := j.prepare(frameSize(seq, len(payload)), reserve); err != nil {
		return false, err
	}
	return j.put(r, tag, seq, payload, consumed, nil)
}

// put appends one frame at the cursor, which prepare has made room for;
// defs are the dictionary entries a dictionary frame holds.
func (j *Journal) put(r *request, tag byte, seq uint64, payload []byte, consumed uint64, defs []*dictEntry) (registered bool, err error) {
	j.scratch = appendFrame(j.scratch[:0], tag, seq, payload)
	frame := j.scratch
	k := j.g.span(j.off, len(frame))
	j.nextSeq = seq + 1 // burnt even if the write fails: never reused
	if isRecordTag(tag) {
		j.lastRecord = seq
	}
	p := pending{req: r, tag: tag, seq: seq, start: j.w*j.g.pageSize + j.off, firstPage: j.w, lastPage: j.w + k,
		payload: payload, consumed: consumed, crc: frameCRC(tag, seq, payload), defs: defs}
	if isRecordTag(tag) && r != nil && r.rec != nil {
		p.outage = outageRefOf(r.rec)
	}
	j.unacked = append(j.unacked, p)
	first := true
	for len(frame) > 0 {
		if j.off == 1 && j.buf[0] == 0 {
			j.pageMax[j.w] = 0 // a fresh page: its old content is consumed
		}
		if first && j.buf[0] == 0 {
			j.buf[0] = byte(j.off)
		}
		first = false
		if isRecordTag(tag) {
			j.pageMax[j.w] = max(j.pageMax[j.w], seq)
		}
		n := copy(j.buf[j.off:], frame)
		frame = frame[n:]
		j.off += n
		if j.off == j.g.pageSize {
			if err := j.program(); err != nil {
				return true, err
			}
		}
	}
	return true, nil
}

// flush pads the current page and programs it.
func (j *Journal) flush() error {
	if j.off == 1 && j.buf[0] == 0 {
		return nil
	}
	clear(j.buf[j.off:])
	return j.program()
}

// program writes the current page buffer, then acknowledges every frame
// that ended in it. On failure every unacknowledged frame fails and the
// page is started afresh.
func (j *Journal) program() error {
	page := j.w
	err := j.writePage(page)
	if err != nil {
		for _, p := range j.unacked {
			if p.req != nil {
				p.req.resp <- result{err: err}
			}
			for _, e := range p.defs {
				e.pending, e.lap = false, -1 // written again at the next use
			}
		}
		j.unacked = j.unacked[:0]
		clear(j.buf)
		j.off = 1
		// The page held nothing unconsumed before (free) and holds nothing
		// committed now: it is free again, or every later append would
		// find it taken and fail with ErrFull.
		j.pageMax[page] = 0
		return err
	}
	keep := j.unacked[:0]
	for _, p := range j.unacked {
		if p.lastPage != page {
			keep = append(keep, p) // continues into the next page
			continue
		}
		switch p.tag {
		case tagDict:
			for _, e := range p.defs {
				e.pending, e.hasCopy, e.copyFirst, e.copyLast, e.copySeq = false, true, p.firstPage, p.lastPage, p.seq
				j.d.view.add(e.id, dictDef{Since: e.since, Value: e.val})
			}
		case tagRecord, tagRecord2:
			j.entries = append(j.entries, entry{tag: p.tag, seq: p.seq, start: p.start, payload: p.payload, crc: p.crc})
			j.st.RecordBytes += uint64(len(p.payload))
			if p.outage.kind != notLifecycle {
				j.noteOutage(p.outage, p.seq) // before the append returns
			}
		case tagMarker:
			j.markerPage = p.firstPage
			if p.consumed > j.consumed {
				j.consumed = p.consumed
				j.st.Consumes++
				i := 0
				for i < len(j.entries) && j.entries[i].seq <= j.consumed {
					i++
				}
				j.entries = append(j.entries[:0], j.entries[i:]...)
			}
		}
		if p.req != nil {
			p.req.resp <- result{seq: p.seq}
		}
	}
	j.unacked = keep
	clear(j.buf)
	j.w = (page + 1) % j.g.pages
	if j.w == 0 {
		j.d.lap++
	}
	j.off = 1
	return nil
}

func (j *Journal) writePage(page int) error {
	off := int64(page * j.g.pageSize)
	if _, err := j.dev.WriteAt(j.buf, off); err != nil {
		return fmt.Errorf("store: commit page %d: %w", page, err)
	}
	j.wear[page]++
	j.st.PageWrites++
	j.st.BytesProgrammed += uint64(j.g.pageSize)
	if j.opts.VerifyWrites {
		back := make([]byte, j.g.pageSize)
		if _, err := j.dev.ReadAt(back, off); err != nil {
			return fmt.Errorf("store: verify page %d: %w", page, err)
		}
		if !bytes.Equal(back, j.buf) {
			return fmt.Errorf("store: verify page %d: %w: read back differs from what was programmed", page, ErrCorrupt)
		}
	}
	return nil
}

func (j *Journal) stats() Stats {
	s := j.st
	s.Pages = j.g.pages
	s.CapacityBytes = j.g.pages * (j.g.pageSize - 1)
	for p := 0; p < j.g.pages; p++ {
		if !j.free(p) {
			s.PagesUsed++
		}
	}
	s.UsedBytes = s.PagesUsed * (j.g.pageSize - 1)
	s.Records = len(j.entries)
	s.Consumed = j.consumed
	s.NextSeq = j.nextSeq
	wear := j.wear
	if j.opts.Wear != nil {
		if w := j.opts.Wear(); len(w) == j.g.pages {
			wear = w
		}
	}
	var sum uint64
	s.WearMin = ^uint32(0)
	for _, w := range wear {
		s.WearMin = min(s.WearMin, w)
		s.WearMax = max(s.WearMax, w)
		sum += uint64(w)
	}
	s.WearMean = float64(sum) / float64(len(wear))
	s.LostRanges, s.LostSeqs = len(j.lost), lostSeqs(j.lost)
	s.Reserve = j.reserve
	return s
}
