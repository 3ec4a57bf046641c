// Package store owns holdup's durable data: the power-cut-proof CBOR journal
// written directly to EEPROM pages (on an eeprom.Chip), and the data store on
// the terminal's flash into which journaled records are replayed exactly once.
//
// # Records
//
// A record is one critical datum, encoded as deterministic CBOR (RFC 8949
// §4.2.1 core deterministic encoding) with small integer keys. In CDDL
// (RFC 8610):
//
//	record = {
//	  1 => uint,                ; sequence, assigned by the journal, strictly increasing
//	  2 => uint,                ; time: milliseconds since 1970-01-01T00:00Z
//	  3 => business,            ; business type
//	  4 => tstr .size (1..64),  ; IO interface ("rs485-2", "hplc", "gpio")
//	  5 => tstr .size (1..64),  ; device
//	  ? 6 => { * tstr => scalar },  ; attributes (topic, QoS, …), at most 8
//	  7 => scalar / bstr,       ; value
//	  8 => [kind: integrity-kind, value: uint .size 4],  ; protocol checksum
//	  ? 9 => true,              ; invalid flag (absent when false)
//	}
//	business = &(control: 1, collection: 2, event: 3, alarm: 4)
//	integrity-kind = &(none: 0, crc16-modbus: 1, crc16-x25: 2, sum8: 3, crc32c: 4)
//	scalar = null / bool / int / float / tstr .size (0..256)
//
// The JSON form (holdup journal dump -format json) uses the names
// sequence, time (RFC 3339), business_type, io_interface, device,
// attributes, value, integrity {kind, value} and invalid. A typical
// control record is 81 bytes of CBOR against 260 of JSON.
//
// # Version 2: the compact format
//
// The writer appends version 2; version-1 frames (tag 'R') on a chip
// written before the upgrade still mount, replay and dump until they are
// consumed and overwritten. A version-2 record (frame tag 'r') is a
// deterministic CBOR array whose sequence is the frame's:
//
//	record2 = [
//	  epoch: uint,          ; dictionary id of the lap's time epoch
//	  delta: int,           ; time: milliseconds after the epoch (|delta| < 2^32)
//	  source: uint,         ; dictionary id of the record's source
//	  value: scalar / bstr,
//	  check: uint .size 4,  ; integrity value (its kind is the source's)
//	  ? invalid: bool,      ; present (true) when invalid, or before attributes
//	  ? attributes: { * tstr => scalar },  ; when the source holds none
//	]
//	dictionary = { * uint => [since: uint, entry] }   ; frame tag 'D'
//	entry = epoch-ms: uint                         ; ms since 1970-01-01T00:00Z
//	      / [business, io-interface: tstr, device: tstr, integrity-kind,
//	         attributes: { * tstr => tstr .size (0..32) / bool }]   ; a source
//
// A source carries a point's attributes (point, business, driver) when
// their values are short strings or bools; otherwise (lifecycle records,
// an error text) the record carries them itself and the source none. The
// sim's typical record is 16 to 22 bytes (a frame of 24 to 30, one
// AT24C64 page) against about 105 in version 1 (BenchmarkCapacity).
//
// since is the sequence of the dictionary frame that first gave the id
// this meaning: a record at sequence s means, among the definitions of its
// id on the chip, the one with the largest since below s. An id gets a new
// meaning only when no unconsumed record uses the old one. Rules that keep
// every committed record's dictionary on the chip through any power cut:
//
//   - A dictionary frame and the record (or consume marker) that needs it
//     are placed as one unit, the dictionary first, so the record is never
//     committed before it. Each entry is written at its first use in each
//     lap (the writer's pass from page 0 to the end of the chip).
//   - The pages of the newest committed copy of an entry an unconsumed
//     record uses are not free: the writer never programs them. Before a
//     unit whose pages (with the reserve and one dictionary frame's pages
//     after them) come near such a copy, the writer writes the entry again
//     in the unit's dictionary frame, which must itself touch no such page;
//     the old copy is released once the new one is committed.
//
// Entry.Raw, the data store and `holdup journal dump -format cbor` carry
// every record in the version-1 form above, names resolved, so that any
// CBOR decoder reads them alone; the JSON form is the same for both
// versions.
//
// The limits above are MaxNameLen, MaxAttrs and MaxStringLen; Clip and
// AddAttr build names and attributes that respect them, and Validate
// checks a record before the journal takes it.
//
// # Outages
//
// The power monitor journals an outage-begin and an outage-end record for
// every outage (OutageBeginRecord and OutageEndRecord build them from an
// OutageBegin and an OutageEnd; OutageBeginOf and OutageEndOf read them
// back; IsOutageEvent tells them apart). The journal keeps the sequences
// of both, learnt when their appends commit and, at mount, from every
// record still on the chip: the begin record's sequence is the outage's
// DL/T 698.45 event number (OutageEventNumber), and the records between
// the two are the ones journaled during the outage (OutageSpan;
// DataStore.OutageJournaled counts those in the data store). Their
// attributes (business event):
//
//	outage-begin: event "outage-begin", confirmed (bool), ua, ub, uc (volts),
//	              boot_id (the kernel's boot id; absent in older records)
//	outage-end:   event "outage-end", confirmed (bool), cold (bool),
//	              begin (ms since the epoch), evidence (what decided warm
//	              or cold; absent when unknown)
//
// An outage-begin without an end at start-up is an outage the process did
// not live through (OpenOutage); whether the capacitor ran out is decided
// by the power monitor from the evidence (OutageBegin.BootID: the same boot
// means the terminal never lost power).
//
// # The journal on the chip
//
// The journal is an append-only ring over the chip's pages. Byte 0 of each
// page is a header: the in-page offset at which the first frame starting
// in that page begins, or 0 if none does. The other bytes form one stream
// of frames; a frame may continue into following pages (their header bytes
// are skipped) but never past the end of the chip:
//
//	frame   = tag (1) | length (uvarint) | sequence (uvarint) | payload | crc (4, big-endian)
//	tag     = 0x52 ('R') record, payload = record
//	        / 0x4D ('M') consume marker, payload = marker
//	        / 0x72 ('r') version-2 record, payload = record2
//	        / 0x44 ('D') dictionary, payload = dictionary
//	        / 0x00 padding to the end of the page
//	crc     = CRC-32C (Castagnoli) over tag, length, sequence and payload
//	marker  = [journal-id: bstr .size 8, consumed: uint]
//
// Records, dictionaries and markers draw sequence numbers from one counter, so sequence
// numbers strictly increase along the stream (with gaps where markers sit).
//
// Rules that make the ring survive a power cut at any instant:
//
//   - Pages are programmed whole, in ring order, each once per lap. A frame
//     is committed when the last page holding it has been programmed (the
//     chip has acknowledged again after its write cycle); only then does
//     Append return. Several appends share page writes (group commit).
//   - A page is programmed only if it holds nothing unconsumed: a torn
//     page write, which may leave any byte of the page old, new or garbage,
//     can only damage frames that were never acknowledged or were consumed.
//     Appends keep two pages in reserve so a consume marker always fits.
//   - Consuming writes a marker frame (journal identity and the highest
//     consumed sequence) and pads its page. There is no metadata page
//     rewritten in place: the newest marker, wherever it is in the ring,
//     holds the mark, and its page is never reprogrammed while it is the
//     newest.
//   - Mounting reads the whole chip once, verifies every frame's CRC from
//     each page header, takes the mark from the newest marker and the tail
//     from the highest sequence, and resumes writing on the page after the
//     tail. Frames that fail (torn tails, corruption) are reported as
//     skipped regions, never returned.
//
// # Admission near full
//
// The free space ahead of the writer is kept for the records that matter
// most. Each record has an admission class (AdmissionOf), most important
// first: lifecycle (business event: the outage begin and end), control
// (and alarms), checked collection (an integrity kind), unchecked
// collection (IntegrityNone). An append must leave free, after the pages
// its frame claims, the pages its class reserves (Reserve, fixed at Open
// from the part's geometry; P is the number of pages, F the most stream
// bytes a lifecycle record takes, about 430 bytes with the boot id or
// evidence at MaxStringLen: in version 2 its record frame after the
// dictionary frame it may need, its lap's epoch and its source; other
// entries near the writer were written again by the units admitted before
// it, whose look-ahead reaches past the lifecycle band):
//
//	lifecycle  ReservePages (2): the consume marker's room
//	control    + 2·F in pages, plus the pages a wrap at the end of the
//	             chip may skip: an outage's begin and end records of any size
//	checked    + max(2, P/16): the control band
//	unchecked  + max(1, P/32): the checked band
//
// (a part whose bands would exceed half its pages gets them shrunk in
// proportion; from the AT24C64 up none is). So as free space shrinks,
// unchecked collection is refused first, then checked collection, then
// control, and no flood of them can take the room of the outage-end
// record. A refusal for lack of space wraps ErrFull (ErrReserved when the
// frame would have fitted without its class's reserve), writes nothing,
// and is counted per class (Stats.Refused) and in Stats.FullRejects. A
// refused frame never moves the writer (in particular not past the end of
// the chip), so the consume marker's pages stay where they were kept.
//
// Replay hands out committed, unconsumed records after a second
// verification of each frame read back from the chip (not from the copy
// the writer keeps): the frame header (tag, length and sequence as
// committed), the CRC-32C, strict CBOR decoding (no unknown keys, no
// duplicates, no tags, no indefinite lengths), schema and value ranges,
// canonical form and the sequence number the record carries. The reads go
// through the writer goroutine, a few whole pages at a time between its
// page writes, following the ring across the end of the chip, and read
// each page holding the records once. A record that fails is reported
// with its page and offset and why, never returned; Recovery keeps it in
// the data store's rejected bucket and consumes past it. A failed read is
// an error, not a verdict: nothing is rejected or consumed for it.
//
// # Delivery to the master station
//
// The data store's outbox queues the replayed records the master station
// must still receive, exactly once. The import that newly stores a record
// gives it an outbox entry in the same transaction, under a forwarding
// number never reused in the data store file, so after any crash a queued
// record has exactly one entry until the master confirms it
// (DataStore.Delivered) or it is given up (DataStore.Dropped). Duplicates
// and rejected records get none, and neither do event records (the
// outage begin and end, which the uplink reports as power events of its
// own). DataStore.Outbox hands out the oldest entries, again until they
// are confirmed; an entry whose record is missing or no longer decodes is
// dropped (an error on a read-only open), never handed out.
// DataStore.OutboxStats keeps the delivered and dropped totals. A data
// store written before the outbox existed starts with an empty one: its
// records are not queued.
//
// # A damaged data store
//
// bbolt maps the data store file and trusts it: a truncated file would
// kill the process with SIGBUS, a corrupted page panic it, at every
// start. OpenDataStore therefore checks an existing file with plain reads
// before bbolt maps it: its size (a whole number of pages, at least four,
// no fewer than the pages in use), both meta pages (magic, version,
// checksum, root and freelist below the pages in use) and, from the newer
// meta, the freelist and the tree of every bucket (page numbers, types,
// element bounds and packing, key order, no page reached twice or both
// used and free). A file that fails, an empty (0-byte) one included, is a
// *DamagedError (ErrDamaged) naming the meta page, page or sizes
// concerned; so is a panic or fault inside bbolt while opening it.
// OpenOrRecoverDataStore moves such a file aside, never deleting it, as
// data.db.damaged-<UTC time>, starts an empty data store and reports the
// DamagedError for the caller's alarm; a missing file is simply created.
// The check never judges a file another holdup is writing: it waits for
// the lock like bbolt. After the open, every transaction is guarded: a
// bbolt panic or fault (a page damaged or the file cut while open) is an
// error wrapping ErrDamaged that names the operation, so a replay stops
// before consuming the journal; every later transaction of that DataStore
// fails the same way, and the process must reopen it (a restart) for
// OpenOrRecoverDataStore to judge the file again.
package store
