package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Bucket names in the data store.
var (
	bucketRecords  = []byte("records")  // journal id ‖ seq → record CBOR
	bucketRejected = []byte("rejected") // journal id ‖ seq → rejection (JSON)
	bucketOutages  = []byte("outages")  // begin (unix ms) → Outage (JSON)
	// bucketByTime (history.go): time (unix ms) ‖ journal id ‖ seq → empty
	// bucketOutbox (outbox.go): forwarding number → journal id ‖ seq
	// bucketOutboxMeta (outbox.go): delivered and dropped totals, last drop
)

// DataStore is the terminal's durable database on flash (bbolt): records
// recovered from the journal, records that failed verification (kept aside),
// and the outage log with its completion entries. Records are keyed by
// journal identity and sequence number, so importing one twice is a no-op.
type DataStore struct {
	db   *guardedDB // bbolt, its transactions guarded against damage
	path string
}

// Outage is one outage in the log: its completion entry.
type Outage struct {
	Begin            time.Time     `json:"begin"`
	End              time.Time     `json:"end"`
	Duration         time.Duration `json:"duration_ns"`
	Kind             string        `json:"kind"`               // warm or cold
	Evidence         string        `json:"evidence,omitempty"` // what decided the kind (the process saw the return, the boot id, the supercap voltage, the time against the hold-up budget)
	LossConfirmed    bool          `json:"loss_confirmed"`
	RestoreConfirmed bool          `json:"restore_confirmed"`
	Replayed         int           `json:"replayed"`
	Rejected         int           `json:"rejected"`
	Duplicate        int           `json:"duplicate"`
	Journaled        int           `json:"journaled"` // records journaled during the outage (between its begin and end records)
	Blips            int           `json:"blips"`
	Interrupted      bool          `json:"interrupted,omitempty"`
	ReinitFailed     []string      `json:"reinit_failed,omitempty"`
	Errors           []string      `json:"errors,omitempty"`
	Logged           time.Time     `json:"logged"`
}

// Rejection is a journal record kept aside because it failed verification.
type Rejection struct {
	Seq    uint64    `json:"seq"`
	Reason string    `json:"reason"`
	Raw    []byte    `json:"raw"`
	At     time.Time `json:"at"`
}

// OpenDataStore opens (creating if needed) the data store at path for
// reading and writing; it builds the time index History walks when the
// data store has none yet (one pass over the records, once), and creates
// an empty outbox when it has none (the records of a data store written
// before the outbox existed are not queued for delivery).
//
// An existing file is checked before bbolt maps it (safeopen.go): its
// size, both meta pages and the tree of every bucket. A damaged file, an
// empty (0-byte) one included, is a *DamagedError (errors.Is ErrDamaged),
// and so is a panic or memory fault inside bbolt while opening it; the
// file is left as it is (OpenOrRecoverDataStore moves it aside). A
// missing file is created. A file whose lock another holdup holds for 2 s
// is an error wrapping ErrInUse.
func OpenDataStore(path string) (*DataStore, error) {
	db, err := openChecked(path, func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketRecords, bucketRejected, bucketOutages, bucketOutbox, bucketOutboxMeta} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return buildTimeIndex(tx)
	})
	if err != nil {
		return nil, err
	}
	return &DataStore{db: db, path: path}, nil
}

// Close closes the database.
func (d *DataStore) Close() error { return d.db.Close() }

// Path returns the database file.
func (d *DataStore) Path() string { return d.path }

func recordKey(id []byte, seq uint64) []byte {
	k := make([]byte, 0, len(id)+8)
	k = append(k, id...)
	return binary.BigEndian.AppendUint64(k, seq)
}

// splitRecordKey splits a record key into its journal identity (hex) and
// sequence; ok is false when k is too short to hold both (an identity of
// at least one byte and the 8-byte sequence).
func splitRecordKey(k []byte) (id string, seq uint64, ok bool) {
	if len(k) < 9 {
		return "", 0, false
	}
	return fmt.Sprintf("%x", k[:len(k)-8]), binary.BigEndian.Uint64(k[len(k)-8:]), true
}

// ReplayCounts counts what an import did.
type ReplayCounts struct {
	Replayed  int // verified and newly stored
	Rejected  int // failed verification or conflicted; kept aside
	Duplicate int // already stored, identical (idempotent replay)
}

// importBatch stores verified entries and keeps corrupt ones aside, in one
// transaction: either all of the batch is durable or none of it. Every
// newly stored record but the event ones gets its outbox entry in that
// transaction too (outbox.go); duplicates and rejections get none.
func (d *DataStore) importBatch(id []byte, good []Entry, bad []CorruptEntry) (ReplayCounts, error) {
	var c ReplayCounts
	now := time.Now().UTC()
	err := d.db.Update(func(tx *bolt.Tx) error {
		recs, rej, idx := tx.Bucket(bucketRecords), tx.Bucket(bucketRejected), tx.Bucket(bucketByTime)
		ob := tx.Bucket(bucketOutbox)
		reject := func(seq uint64, raw []byte, reason string) error {
			k := recordKey(id, seq)
			if rej.Get(k) != nil {
				c.Duplicate++
				return nil
			}
			v, _ := json.Marshal(Rejection{Seq: seq, Reason: reason, Raw: raw, At: now})
			c.Rejected++
			return rej.Put(k, v)
		}
		for _, e := range good {
			k := recordKey(id, e.Seq)
			if old := recs.Get(k); old != nil {
				if bytes.Equal(old, e.Raw) {
					c.Duplicate++
					continue
				}
				if err := reject(e.Seq, e.Raw, "conflicts with the stored record of the same journal sequence"); err != nil {
					return err
				}
				continue
			}
			if err := recs.Put(k, e.Raw); err != nil {
				return err
			}
			if err := idx.Put(timeKey(uint64(max(e.Record.Time.UnixMilli(), 0)), k), []byte{}); err != nil {
				return err
			}
			if queued(e.Record) {
				if err := enqueue(ob, k); err != nil {
					return fmt.Errorf("record seq %d: %w", e.Seq, err)
				}
			}
			c.Replayed++
		}
		for _, b := range bad {
			if err := reject(b.Seq, b.Raw, b.Err.Error()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return ReplayCounts{}, fmt.Errorf("store: data store import: %w", err)
	}
	return c, nil
}

func outageKey(begin time.Time) []byte {
	return binary.BigEndian.AppendUint64(nil, uint64(begin.UnixMilli()))
}

// RecordOutage writes an outage's completion entry (keyed by its begin
// time at the journal's millisecond resolution: writing the same outage
// again replaces it).
func (d *DataStore) RecordOutage(_ context.Context, o Outage) error {
	if o.Logged.IsZero() {
		o.Logged = time.Now().UTC()
	}
	v, err := json.Marshal(o)
	if err != nil {
		return err
	}
	k := outageKey(o.Begin)
	if err := d.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketOutages).Put(k, v) }); err != nil {
		return fmt.Errorf("store: record outage: %w", err)
	}
	return nil
}

// HasOutage reports whether the log holds an entry for the outage begun at
// begin.
func (d *DataStore) HasOutage(begin time.Time) (bool, error) {
	var ok bool
	err := d.db.View(func(tx *bolt.Tx) error {
		ok = tx.Bucket(bucketOutages).Get(outageKey(begin)) != nil
		return nil
	})
	return ok, err
}

// Outages returns up to n outages, newest first (n ≤ 0: all).
func (d *DataStore) Outages(n int) ([]Outage, error) {
	var out []Outage
	err := d.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketOutages).Cursor()
		for k, v := c.Last(); k != nil && (n <= 0 || len(out) < n); k, v = c.Prev() {
			var o Outage
			if err := json.Unmarshal(v, &o); err != nil {
				return fmt.Errorf("outage entry %x: %w", k, err)
			}
			out = append(out, o)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: outages: %w", err)
	}
	return out, nil
}

// Counts returns how many records are stored and how many were rejected.
func (d *DataStore) Counts() (records, rejected int, err error) {
	err = d.db.View(func(tx *bolt.Tx) error {
		records = tx.Bucket(bucketRecords).Stats().KeyN
		rejected = tx.Bucket(bucketRejected).Stats().KeyN
		return nil
	})
	return records, rejected, err
}

// CountBetween counts the records stored from journal id (hex) with a
// sequence strictly between from and to: the records journaled between an
// outage's begin and end records.
func (d *DataStore) CountBetween(id string, from, to uint64) (int, error) {
	raw, err := hex.DecodeString(id)
	if err != nil {
		return 0, fmt.Errorf("store: journal id %q: %w", id, err)
	}
	n := 0
	err = d.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketRecords).Cursor()
		hi := recordKey(raw, to)
		for k, _ := c.Seek(recordKey(raw, from+1)); k != nil && bytes.Compare(k, hi) < 0; k, _ = c.Next() {
			n++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: count records: %w", err)
	}
	return n, nil
}

// OutageJournaled counts the records journaled during the outage begun at
// begin that this data store holds: the records of journal j whose
// sequence lies strictly between the outage's begin and end records
// (Journal.OutageSpan, then CountBetween). ok is false, with n 0, when j
// does not know both records (their appends failed, or they were written
// before the records it mounted), so the count is unknown.
func (d *DataStore) OutageJournaled(j *Journal, begin time.Time) (n int, ok bool, err error) {
	from, to, ok := j.OutageSpan(begin)
	if !ok {
		return 0, false, nil
	}
	n, err = d.CountBetween(j.MountReport().ID, from, to)
	if err != nil {
		return 0, false, err
	}
	return n, true, nil
}

// StoredRecord is a record in the data store with its journal identity.
type StoredRecord struct {
	JournalID string
	Record    Record
}

// Records calls fn for every stored record in key order (journal identity,
// then sequence). Stored bytes are decoded with the same strict checks as a
// replay; a record that no longer verifies is an error, not data.
func (d *DataStore) Records(fn func(StoredRecord) error) error {
	c := newCodec()
	return d.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketRecords).ForEach(func(k, v []byte) error {
			id, _, ok := splitRecordKey(k)
			if !ok {
				return fmt.Errorf("store: stored record key %x is malformed", k)
			}
			r, err := c.decode(v)
			if err != nil {
				return fmt.Errorf("store: stored record %x: %w", k, err)
			}
			return fn(StoredRecord{JournalID: id, Record: r})
		})
	})
}

// Rejections returns the records kept aside.
func (d *DataStore) Rejections() ([]Rejection, error) {
	var out []Rejection
	err := d.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketRejected).ForEach(func(k, v []byte) error {
			var r Rejection
			if err := json.Unmarshal(v, &r); err != nil {
				return err
			}
			out = append(out, r)
			return nil
		})
	})
	return out, err
}

// countBeforeEnd counts the stored records of journal id between the
// outage-begin record of begin and the end record at endSeq.
func (d *DataStore) countBeforeEnd(id []byte, begin time.Time, endSeq uint64) (int, error) {
	c := newCodec()
	var beginSeq uint64
	found := false
	err := d.db.View(func(tx *bolt.Tx) error {
		cur := tx.Bucket(bucketRecords).Cursor()
		lo := recordKey(id, 0)
		for k, v := cur.Seek(recordKey(id, endSeq)); k != nil && bytes.Compare(k, lo) > 0; k, v = cur.Prev() {
			if !bytes.HasPrefix(k, id) {
				break
			}
			r, err := c.decode(v)
			if err != nil {
				continue
			}
			if ev, _ := IsOutageEvent(r); ev == EventOutageBegin && r.Time.UnixMilli() == begin.UnixMilli() {
				beginSeq, found = r.Seq, true
				return nil
			}
		}
		return nil
	})
	if err != nil || !found {
		return 0, err
	}
	return d.CountBetween(fmt.Sprintf("%x", id), beginSeq, endSeq)
}
