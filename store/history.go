package store

// The outage history: the stored records queried by business type, device
// and time range, in time order, through an index the data store keeps
// beside the records bucket.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// bucketByTime indexes the records bucket by the records' own time:
// time (ms since the epoch, 8 bytes big-endian) ‖ record key (journal id ‖
// sequence) → empty. importBatch writes an index entry in the transaction
// that stores its record; OpenDataStore builds the index of a data store
// written before it existed.
var bucketByTime = []byte("records-by-time")

// ErrInUse is returned by OpenDataStoreReadOnly when another process (the
// daemon) holds the data store's lock.
var ErrInUse = errors.New("data store in use by a running holdup")

// ErrBadQuery marks a HistoryQuery that cannot be answered.
var ErrBadQuery = errors.New("bad history query")

// OpenDataStoreReadOnly opens an existing data store for reading only. It
// waits up to timeout (≤ 0: 2 s) for the file's lock, which a running
// daemon holds for as long as it runs; then it fails with ErrInUse. The
// file is checked and opened as OpenDataStore does: a damaged one is an
// error wrapping ErrDamaged (a *DamagedError). The write methods of a
// read-only data store fail.
func OpenDataStoreReadOnly(path string, timeout time.Duration) (*DataStore, error) {
	if timeout <= 0 {
		timeout = 2 * time.Second
	}
	if err := checkDataFileWait(path, timeout); err != nil {
		return nil, err
	}
	db, err := guardOpen(path, &bolt.Options{ReadOnly: true, Timeout: timeout})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("store: open data store %s: %w (its lock was not free within %s)", path, ErrInUse, timeout)
	}
	if err != nil {
		if errors.Is(err, ErrDamaged) {
			return nil, err
		}
		return nil, fmt.Errorf("store: open data store %s read-only: %w", path, err)
	}
	return &DataStore{db: db, path: path}, nil
}

// HistoryQuery selects stored records.
type HistoryQuery struct {
	// Business keeps the records of these business types; empty: all.
	Business []BusinessType
	// Device keeps the records of this device; "": all.
	Device string
	// From and To bound the records' time: From ≤ time < To. A zero
	// bound is open.
	From, To time.Time
	// Limit stops after this many records; 0: no limit.
	Limit int
	// Newest delivers the records newest first, so that with Limit they
	// are the Limit newest of the range.
	Newest bool
}

// Check reports what is wrong with q (an error wrapping ErrBadQuery), or
// nil.
func (q HistoryQuery) Check() error {
	if !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To) {
		return fmt.Errorf("%w: from %s is not before to %s", ErrBadQuery,
			q.From.Format(time.RFC3339Nano), q.To.Format(time.RFC3339Nano))
	}
	if q.Limit < 0 {
		return fmt.Errorf("%w: limit %d is negative", ErrBadQuery, q.Limit)
	}
	for _, b := range q.Business {
		if _, ok := businessNames[b]; !ok {
			return fmt.Errorf("%w: business type %d unknown", ErrBadQuery, uint8(b))
		}
	}
	return nil
}

// ParseBusinessTypes parses a comma-separated list of business type names
// (control, collection, event, alarm).
func ParseBusinessTypes(s string) ([]BusinessType, error) {
	var out []BusinessType
	for _, n := range strings.Split(s, ",") {
		var b BusinessType
		if err := b.UnmarshalText([]byte(strings.TrimSpace(n))); err != nil {
			return nil, fmt.Errorf("business type %q: want control, collection, event or alarm", n)
		}
		if !slices.Contains(out, b) {
			out = append(out, b)
		}
	}
	return out, nil
}

// ceilMilli is the first whole millisecond since the epoch at or after t
// (0 for t before the epoch): a record's time, stored in whole
// milliseconds, is ≥ t exactly when its millisecond is ≥ ceilMilli(t).
func ceilMilli(t time.Time) uint64 {
	ms := t.UnixMilli()
	if time.UnixMilli(ms).Before(t) {
		ms++
	}
	return uint64(max(ms, 0))
}

func timeKey(ms uint64, recKey []byte) []byte {
	k := make([]byte, 0, 8+len(recKey))
	return append(binary.BigEndian.AppendUint64(k, ms), recKey...)
}

// recordMilli is the index time of a stored record: its own time, or 0
// when it no longer decodes (a query over the start of time then reports
// it, as Records does).
func recordMilli(c codec, v []byte) uint64 {
	r, err := c.decode(v)
	if err != nil {
		return 0
	}
	return uint64(max(r.Time.UnixMilli(), 0))
}

// buildTimeIndex creates the time index from the records bucket when the
// data store has none (a data store written before the index existed).
func buildTimeIndex(tx *bolt.Tx) error {
	if tx.Bucket(bucketByTime) != nil {
		return nil
	}
	idx, err := tx.CreateBucket(bucketByTime)
	if err != nil {
		return err
	}
	c := newCodec()
	return tx.Bucket(bucketRecords).ForEach(func(k, v []byte) error {
		return idx.Put(timeKey(recordMilli(c, v), k), []byte{})
	})
}

// keyCursor is what History walks: a bbolt cursor over the time index, or
// sortedKeys for a read-only data store without one.
type keyCursor interface {
	Seek(seek []byte) (k, v []byte)
	Last() (k, v []byte)
	Next() (k, v []byte)
	Prev() (k, v []byte)
}

// sortedKeys is the time index built in memory (a read-only data store
// written before the index existed): memory in proportion to the records.
type sortedKeys struct {
	keys [][]byte
	i    int
}

func (s *sortedKeys) at(i int) ([]byte, []byte) {
	s.i = max(min(i, len(s.keys)), -1)
	if s.i < 0 || s.i >= len(s.keys) {
		return nil, nil
	}
	return s.keys[s.i], nil
}

func (s *sortedKeys) Seek(seek []byte) ([]byte, []byte) {
	i, _ := slices.BinarySearchFunc(s.keys, seek, bytes.Compare)
	return s.at(i)
}
func (s *sortedKeys) Last() ([]byte, []byte) { return s.at(len(s.keys) - 1) }
func (s *sortedKeys) Next() ([]byte, []byte) { return s.at(s.i + 1) }
func (s *sortedKeys) Prev() ([]byte, []byte) { return s.at(s.i - 1) }

// History calls fn for the stored records q selects, in time order: by
// the record's own time (to the millisecond, as stored), records of the
// same millisecond by journal identity and then sequence; newest first
// when q.Newest. The order comes from the time index (time ‖ journal id ‖
// sequence), not from the sequence: a journal's sequence follows the order
// of the appends, and a record's time is when its datum was taken, which
// concurrent producers and a clock set during an outage can put out of
// sequence order.
//
// It streams: one record decoded at a time, memory independent of the
// size of the data store (except on a read-only data store written before
// the time index existed, where the index is built in memory first). fn
// runs inside a read transaction and must not call d; an error from fn
// stops the walk and is returned. A stored record that no longer decodes
// is an error, as in Records. A bad query is an error wrapping
// ErrBadQuery, before any record.
func (d *DataStore) History(q HistoryQuery, fn func(StoredRecord) error) error {
	if err := q.Check(); err != nil {
		return err
	}
	var business [5]bool
	for _, b := range q.Business {
		business[b] = true
	}
	lo := ceilMilli(q.From)
	hi, bounded := uint64(0), !q.To.IsZero()
	if bounded {
		if hi = ceilMilli(q.To); hi == 0 {
			return nil // the range ends before the epoch
		}
	}
	c := newCodec()
	err := d.db.View(func(tx *bolt.Tx) error {
		recs := tx.Bucket(bucketRecords)
		if recs == nil {
			return nil
		}
		var cur keyCursor
		if idx := tx.Bucket(bucketByTime); idx != nil {
			cur = idx.Cursor()
		} else {
			sk := &sortedKeys{}
			if err := recs.ForEach(func(k, v []byte) error {
				sk.keys = append(sk.keys, timeKey(recordMilli(c, v), k))
				return nil
			}); err != nil {
				return err
			}
			slices.SortFunc(sk.keys, bytes.Compare)
			cur = sk
		}
		var k []byte
		switch {
		case !q.Newest:
			k, _ = cur.Seek(timeKey(lo, nil))
		case !bounded:
			k, _ = cur.Last()
		default:
			if k, _ = cur.Seek(timeKey(hi, nil)); k == nil {
				k, _ = cur.Last()
			} else {
				k, _ = cur.Prev()
			}
		}
		step := cur.Next
		if q.Newest {
			step = cur.Prev
		}
		n := 0
		for ; k != nil; k, _ = step() {
			if len(k) < 8+8 {
				return fmt.Errorf("time index entry %x: too short", k)
			}
			if ms := binary.BigEndian.Uint64(k); ms < lo || (bounded && ms >= hi) {
				break
			}
			rk := k[8:]
			id, _, ok := splitRecordKey(rk)
			if !ok {
				return fmt.Errorf("time index entry %x: record key %x is malformed", k, rk)
			}
			v := recs.Get(rk)
			if v == nil {
				return fmt.Errorf("time index entry %x: no stored record %x", k, rk)
			}
			r, err := c.decode(v)
			if err != nil {
				return fmt.Errorf("stored record %x: %w", rk, err)
			}
			if (len(q.Business) > 0 && (int(r.Business) >= len(business) || !business[r.Business])) ||
				(q.Device != "" && r.Device != q.Device) {
				continue
			}
			if err := fn(StoredRecord{JournalID: id, Record: r}); err != nil {
				return err
			}
			if n++; q.Limit > 0 && n >= q.Limit {
				break
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: history: %w", err)
	}
	return nil
}
