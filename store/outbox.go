package store

// The outbox: the durable queue of replayed records still to be delivered
// to the master station, exactly once. importBatch fills it in the
// transaction that stores each record; the daemon's forwarder reads it
// (Outbox), sends, and removes what the master confirmed (Delivered) or
// what cannot be delivered at all (Dropped).

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Outbox buckets.
var (
	// bucketOutbox: forwarding number (8 bytes big-endian, from the
	// bucket's NextSequence: never reused for the life of the data store
	// file) → record key (journal id ‖ sequence).
	bucketOutbox = []byte("outbox")
	// bucketOutboxMeta: the outbox's persisted totals (metaDelivered,
	// metaDropped: 8 bytes big-endian) and the last drop (metaLastDrop:
	// OutboxDrop as JSON).
	bucketOutboxMeta = []byte("outbox-meta")
)

var (
	metaDelivered = []byte("delivered")
	metaDropped   = []byte("dropped")
	metaLastDrop  = []byte("last-drop")
)

// Outgoing is a stored record waiting in the outbox under its forwarding
// number No. Numbers increase in the order the records were stored and are
// never reused, so the master may use No to recognise a resend.
type Outgoing struct {
	No uint64
	StoredRecord
}

// OutboxDrop describes an outbox entry removed as not deliverable.
type OutboxDrop struct {
	No        uint64    `json:"no"`
	JournalID string    `json:"journal_id,omitempty"` // hex; empty when the entry itself was malformed
	Seq       uint64    `json:"seq"`
	Reason    string    `json:"reason"`
	At        time.Time `json:"at"`
}

// OutboxStats counts the outbox.
type OutboxStats struct {
	Pending   int // entries waiting for delivery
	Delivered int // entries removed by Delivered (confirmed by the master), in total; capped at math.MaxInt
	Dropped   int // entries removed as not deliverable (Dropped, or by Outbox for a broken entry), in total; capped likewise
	// LastDrop is the most recent drop; zero (No 0) when nothing was
	// ever dropped.
	LastDrop OutboxDrop
}

func outboxKey(no uint64) []byte { return binary.BigEndian.AppendUint64(nil, no) }

// queued reports whether a newly stored record goes to the outbox: every
// business type but event (the outage-begin and -end lifecycle records,
// which the uplink reports as 3106 power events of its own).
func queued(r Record) bool { return r.Business != BusinessEvent }

// enqueue adds the outbox entry of the record just stored under key k.
// importBatch calls it in the record's transaction.
func enqueue(ob *bolt.Bucket, k []byte) error {
	no, err := ob.NextSequence()
	if err != nil {
		return fmt.Errorf("outbox: next number: %w", err)
	}
	if err := ob.Put(outboxKey(no), k); err != nil {
		return fmt.Errorf("outbox entry %d: %w", no, err)
	}
	return nil
}

// outboxBroken is an outbox entry that cannot be handed out: its key or
// record key is malformed, its record is missing, or the record no longer
// decodes.
type outboxBroken struct {
	no     uint64
	key    []byte // the outbox key as stored
	value  []byte // the outbox value as stored: the record key it points at
	recKey []byte // nil when malformed
	reason string
}

// checkEntry decodes one outbox entry: the Outgoing, or why it is broken
// (with copies of k and v, which bbolt owns only for the transaction).
func checkEntry(c codec, recs *bolt.Bucket, k, v []byte) (Outgoing, *outboxBroken) {
	broken := func(no uint64, recKey []byte, format string, args ...any) *outboxBroken {
		return &outboxBroken{no: no, key: bytes.Clone(k), value: bytes.Clone(v), recKey: bytes.Clone(recKey), reason: fmt.Sprintf(format, args...)}
	}
	if len(k) != 8 {
		return Outgoing{}, broken(0, nil, "outbox key %x is not a forwarding number", k)
	}
	no := binary.BigEndian.Uint64(k)
	id, _, ok := splitRecordKey(v)
	if !ok {
		return Outgoing{}, broken(no, nil, "record key %x is malformed", v)
	}
	rv := recs.Get(v)
	if rv == nil {
		return Outgoing{}, broken(no, v, "no stored record %x", v)
	}
	r, err := c.decode(rv)
	if err != nil {
		return Outgoing{}, broken(no, v, "stored record %x: %v", v, err)
	}
	return Outgoing{No: no, StoredRecord: StoredRecord{JournalID: id, Record: r}}, nil
}

// Outbox returns the oldest limit entries of the outbox (fewer when fewer
// wait), by forwarding number, each with its stored record decoded with
// the same strict checks as Records. Entries stay until Delivered or
// Dropped removes them, so calling Outbox again returns them again: a
// forwarder that stopped before the master confirmed resends them.
//
// An entry that cannot be delivered because it is broken (its record is
// missing from the data store or no longer decodes) is never returned:
// Outbox drops it, as Dropped would, with the reason in
// OutboxStats.LastDrop, and fills the page from the entries after it. On
// a read-only data store, which cannot drop, such an entry is an error
// naming its number instead.
//
// limit ≤ 0 is an error wrapping ErrBadQuery. On a data store without an
// outbox (a read-only open of one written before the outbox existed) the
// outbox is empty.
func (d *DataStore) Outbox(limit int) ([]Outgoing, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("store: outbox: %w: limit %d, want at least 1", ErrBadQuery, limit)
	}
	c := newCodec()
	for {
		var (
			out    []Outgoing
			broken []outboxBroken
		)
		err := d.db.View(func(tx *bolt.Tx) error {
			ob, recs := tx.Bucket(bucketOutbox), tx.Bucket(bucketRecords)
			if ob == nil || recs == nil {
				return nil
			}
			cur := ob.Cursor()
			for k, v := cur.First(); k != nil && len(out) < limit; k, v = cur.Next() {
				o, bad := checkEntry(c, recs, k, v)
				if bad != nil {
					broken = append(broken, *bad)
					continue
				}
				out = append(out, o)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("store: outbox: %w", err)
		}
		if len(broken) == 0 {
			return out, nil
		}
		if d.db.IsReadOnly() {
			return nil, fmt.Errorf("store: outbox: %w (read-only data store: not dropped)", &BrokenEntryError{No: broken[0].no, Reason: broken[0].reason})
		}
		if err := d.dropBroken(broken); err != nil {
			return nil, err
		}
		// The broken entries are gone: read the page again.
	}
}

// BrokenEntryError is Outbox's error, on a read-only data store, for an
// entry that cannot be handed out: No is its forwarding number. It matches
// ErrCorrupt.
type BrokenEntryError struct {
	No     uint64
	Reason string // what is wrong: the record is missing or no longer decodes
}

func (e *BrokenEntryError) Error() string {
	return fmt.Sprintf("outbox entry %d is broken: %s", e.No, e.Reason)
}

// Unwrap makes a broken entry match ErrCorrupt.
func (e *BrokenEntryError) Unwrap() error { return ErrCorrupt }

// dropBroken drops the broken entries Outbox found if they are still
// there, pointing at the same record key (Delivered or Dropped may have
// removed them meanwhile). Stored records are never rewritten, so an
// entry found broken stays broken: it is not decoded again.
func (d *DataStore) dropBroken(broken []outboxBroken) error {
	now := time.Now().UTC()
	err := d.db.Update(func(tx *bolt.Tx) error {
		ob, meta := tx.Bucket(bucketOutbox), tx.Bucket(bucketOutboxMeta)
		n := 0
		var last OutboxDrop
		for _, b := range broken {
			if v := ob.Get(b.key); v == nil || !bytes.Equal(v, b.value) {
				continue
			}
			if err := ob.Delete(b.key); err != nil {
				return fmt.Errorf("outbox entry %d: %w", b.no, err)
			}
			n++
			last = OutboxDrop{No: b.no, Reason: fmt.Sprintf("outbox entry %d is broken: %s", b.no, b.reason), At: now}
			last.JournalID, last.Seq, _ = splitRecordKey(b.recKey)
		}
		return countDrops(meta, n, last)
	})
	if err != nil {
		return fmt.Errorf("store: outbox: drop broken entries: %w", err)
	}
	return nil
}

// removeEntries deletes the outbox entries nos that exist and returns how
// many it deleted and the last one's record key. Numbers not in the
// outbox (removed before, or never issued) and repeats are skipped.
func removeEntries(ob *bolt.Bucket, nos []uint64) (n int, lastNo uint64, lastKey []byte, err error) {
	for _, no := range nos {
		k := outboxKey(no)
		v := ob.Get(k)
		if v == nil {
			continue
		}
		lastNo, lastKey = no, append([]byte(nil), v...) // v is invalid after Delete
		if err := ob.Delete(k); err != nil {
			return 0, 0, nil, fmt.Errorf("outbox entry %d: %w", no, err)
		}
		n++
	}
	return n, lastNo, lastKey, nil
}

// metaCount reads a persisted total, capped at math.MaxInt (int is 32
// bits on the terminal's ARM).
func metaCount(meta *bolt.Bucket, key []byte) int {
	v := meta.Get(key)
	if len(v) != 8 {
		return 0
	}
	return int(min(binary.BigEndian.Uint64(v), math.MaxInt))
}

func addCount(meta *bolt.Bucket, key []byte, n int) error {
	if n == 0 {
		return nil
	}
	var total uint64
	if v := meta.Get(key); len(v) == 8 {
		total = binary.BigEndian.Uint64(v)
	}
	return meta.Put(key, binary.BigEndian.AppendUint64(nil, total+uint64(n)))
}

func countDrops(meta *bolt.Bucket, n int, last OutboxDrop) error {
	if n == 0 {
		return nil
	}
	if err := addCount(meta, metaDropped, n); err != nil {
		return fmt.Errorf("dropped total: %w", err)
	}
	v, err := json.Marshal(last)
	if err != nil {
		return fmt.Errorf("last drop: %w", err)
	}
	if err := meta.Put(metaLastDrop, v); err != nil {
		return fmt.Errorf("last drop: %w", err)
	}
	return nil
}

// Delivered removes the outbox entries nos, which the master confirmed,
// and adds how many it removed to the delivered total, in one
// transaction. It is idempotent: a number no longer in the outbox (a
// resend confirmed twice, a repeat in nos) is skipped and not counted
// again. No numbers: nothing is written.
func (d *DataStore) Delivered(nos []uint64) error {
	if len(nos) == 0 {
		return nil
	}
	err := d.db.Update(func(tx *bolt.Tx) error {
		n, _, _, err := removeEntries(tx.Bucket(bucketOutbox), nos)
		if err != nil {
			return err
		}
		if err := addCount(tx.Bucket(bucketOutboxMeta), metaDelivered, n); err != nil {
			return fmt.Errorf("delivered total: %w", err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: outbox delivered (%d entries from %d): %w", len(nos), nos[0], err)
	}
	return nil
}

// Dropped removes the outbox entries nos, which the forwarder cannot
// deliver (the point has no uplink OAD, say), and adds how many it removed
// to the dropped total, in one transaction; reason (required) is kept as
// OutboxStats.LastDrop's. Like Delivered it is idempotent: numbers no
// longer in the outbox are skipped and not counted. A dropped record stays
// in the data store (Records, History); only its delivery is given up.
func (d *DataStore) Dropped(nos []uint64, reason string) error {
	if reason == "" {
		return fmt.Errorf("store: outbox dropped (%d entries): no reason given", len(nos))
	}
	if len(nos) == 0 {
		return nil
	}
	now := time.Now().UTC()
	err := d.db.Update(func(tx *bolt.Tx) error {
		n, no, k, err := removeEntries(tx.Bucket(bucketOutbox), nos)
		if err != nil || n == 0 {
			return err
		}
		last := OutboxDrop{No: no, Reason: reason, At: now}
		last.JournalID, last.Seq, _ = splitRecordKey(k)
		return countDrops(tx.Bucket(bucketOutboxMeta), n, last)
	})
	if err != nil {
		return fmt.Errorf("store: outbox dropped (%d entries from %d): %w", len(nos), nos[0], err)
	}
	return nil
}

// OutboxStats returns the number of entries waiting and the persisted
// totals delivered and dropped. A data store without an outbox (a
// read-only open of one written before it existed) has zero of each.
func (d *DataStore) OutboxStats() (OutboxStats, error) {
	var s OutboxStats
	err := d.db.View(func(tx *bolt.Tx) error {
		if ob := tx.Bucket(bucketOutbox); ob != nil {
			s.Pending = ob.Stats().KeyN
		}
		meta := tx.Bucket(bucketOutboxMeta)
		if meta == nil {
			return nil
		}
		s.Delivered, s.Dropped = metaCount(meta, metaDelivered), metaCount(meta, metaDropped)
		if v := meta.Get(metaLastDrop); v != nil {
			if err := json.Unmarshal(v, &s.LastDrop); err != nil {
				return fmt.Errorf("last drop: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return OutboxStats{}, fmt.Errorf("store: outbox stats: %w", err)
	}
	return s, nil
}
