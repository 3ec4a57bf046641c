package store

// Alarm records: the alarms the daemon reports to the master station as
// event records, each stored before it is sent and kept until the master
// confirmed it, so that a restart resends the unconfirmed ones with the
// same numbers and the master can drop what it already holds. What an
// alarm means (its event object and source) is the daemon's business: the
// data store only numbers and keeps them.

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Alarm buckets, created by the first AddAlarm.
var (
	// bucketAlarms: alarm number (8 bytes big-endian, from the bucket's
	// NextSequence: never reused) → AlarmRecord as JSON.
	bucketAlarms = []byte("alarms")
	// bucketAlarmsPending: alarm number → empty, for each alarm the master
	// has not confirmed yet.
	bucketAlarmsPending = []byte("alarms-pending")
	// bucketAlarmSeq: event object (4 bytes big-endian) → the last event
	// record sequence number given to it (4 bytes big-endian).
	bucketAlarmSeq = []byte("alarm-seq")
)

// AlarmRecord is one alarm report to the master station.
type AlarmRecord struct {
	// No is the data store's number of the alarm, in the order stored.
	No uint64 `json:"no"`
	// Code is the alarm's code (its kind).
	Code string `json:"code"`
	// Object is the event object's record attribute the alarm is reported
	// as (an OAD such as 0x310A0200); Source its event source, -1 none.
	Object uint32 `json:"object"`
	Source int    `json:"source"`
	// ObjectName describes Object and Source for people.
	ObjectName string `json:"object_name"`
	// Seq is the event record sequence number, counted per Object.
	Seq uint32 `json:"seq"`
	// Time is when the (first) alarm was raised, Last the last one folded
	// into this record; Count how many alarms it stands for (≥ 1).
	Time  time.Time `json:"time"`
	Last  time.Time `json:"last"`
	Count uint32    `json:"count"`
	// Message is the alarm's error text.
	Message string `json:"message"`
	// Delivered is when the master confirmed the report; zero while
	// pending.
	Delivered time.Time `json:"delivered,omitzero"`
}

// MaxDeliveredAlarms is how many delivered alarms the data store keeps:
// AddAlarm deletes the oldest delivered ones beyond it in the same
// transaction. Pending alarms are never deleted.
const MaxDeliveredAlarms = 1024

// ErrNoAlarm: AlarmDelivered was given a number the data store does not
// hold.
var ErrNoAlarm = errors.New("no such alarm")

// AddAlarm numbers a (No, and Seq within its Object) and stores it as
// pending; it returns the stored record. Count 0 is stored as 1, a zero
// Last as Time. Object 0 is an error. In the same transaction it deletes
// the oldest delivered alarms beyond MaxDeliveredAlarms (numbers are never
// reused all the same).
func (d *DataStore) AddAlarm(a AlarmRecord) (AlarmRecord, error) {
	return d.addAlarm(a, MaxDeliveredAlarms)
}

// addAlarm is AddAlarm keeping at most keep delivered alarms.
func (d *DataStore) addAlarm(a AlarmRecord, keep int) (AlarmRecord, error) {
	if a.Object == 0 {
		return AlarmRecord{}, fmt.Errorf("store: add alarm %q: no event object", a.Code)
	}
	a.Count = max(a.Count, 1)
	if a.Last.IsZero() {
		a.Last = a.Time
	}
	a.Delivered = time.Time{}
	err := d.db.Update(func(tx *bolt.Tx) error {
		var bs [3]*bolt.Bucket
		for i, name := range [][]byte{bucketAlarms, bucketAlarmsPending, bucketAlarmSeq} {
			b, err := tx.CreateBucketIfNotExists(name)
			if err != nil {
				return fmt.Errorf("bucket %s: %w", name, err)
			}
			bs[i] = b
		}
		no, err := bs[0].NextSequence()
		if err != nil {
			return fmt.Errorf("next number: %w", err)
		}
		obj := binary.BigEndian.AppendUint32(nil, a.Object)
		var seq uint32
		if v := bs[2].Get(obj); len(v) == 4 {
			seq = binary.BigEndian.Uint32(v)
		}
		a.No, a.Seq = no, seq+1
		v, err := json.Marshal(a)
		if err != nil {
			return err
		}
		k := outboxKey(no)
		if err := bs[0].Put(k, v); err != nil {
			return err
		}
		if err := bs[1].Put(k, nil); err != nil {
			return err
		}
		if err := bs[2].Put(obj, binary.BigEndian.AppendUint32(nil, a.Seq)); err != nil {
			return err
		}
		return pruneDelivered(bs[0], bs[1], keep)
	})
	if err != nil {
		return AlarmRecord{}, fmt.Errorf("store: add alarm %q: %w", a.Code, err)
	}
	return a, nil
}

// pruneDelivered deletes the oldest delivered alarms of all (those not in
// pend) until at most keep are left.
func pruneDelivered(all, pend *bolt.Bucket, keep int) error {
	over := all.Stats().KeyN - pend.Stats().KeyN - keep
	if over <= 0 {
		return nil
	}
	// Collected first: deleting under a cursor skips keys in bbolt.
	var old [][]byte
	c, pc := all.Cursor(), pend.Cursor()
	for k, _ := c.First(); k != nil && len(old) < over; k, _ = c.Next() {
		// Seek, not Get: a pending key's value is empty.
		if pk, _ := pc.Seek(k); !bytes.Equal(pk, k) {
			old = append(old, bytes.Clone(k))
		}
	}
	for _, k := range old {
		if err := all.Delete(k); err != nil {
			return fmt.Errorf("prune delivered alarm %x: %w", k, err)
		}
	}
	return nil
}

// PendingAlarms returns the alarms the master has not confirmed, oldest
// first, at most limit (≤ 0: all).
func (d *DataStore) PendingAlarms(limit int) ([]AlarmRecord, error) {
	var out []AlarmRecord
	err := d.db.View(func(tx *bolt.Tx) error {
		all, pend := tx.Bucket(bucketAlarms), tx.Bucket(bucketAlarmsPending)
		if all == nil || pend == nil {
			return nil
		}
		c := pend.Cursor()
		for k, _ := c.First(); k != nil && (limit <= 0 || len(out) < limit); k, _ = c.Next() {
			a, err := decodeAlarm(k, all.Get(k))
			if err != nil {
				return err
			}
			out = append(out, a)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: pending alarms: %w", err)
	}
	return out, nil
}

// AlarmDelivered marks alarm no confirmed by the master at at. Marking
// one again keeps the first time.
func (d *DataStore) AlarmDelivered(no uint64, at time.Time) error {
	err := d.db.Update(func(tx *bolt.Tx) error {
		all, pend := tx.Bucket(bucketAlarms), tx.Bucket(bucketAlarmsPending)
		if all == nil || pend == nil {
			return ErrNoAlarm
		}
		k := outboxKey(no)
		a, err := decodeAlarm(k, all.Get(k))
		if err != nil {
			return err
		}
		if !a.Delivered.IsZero() {
			return nil
		}
		a.Delivered = at
		v, err := json.Marshal(a)
		if err != nil {
			return err
		}
		if err := all.Put(k, v); err != nil {
			return err
		}
		return pend.Delete(k)
	})
	if err != nil {
		return fmt.Errorf("store: alarm %d delivered: %w", no, err)
	}
	return nil
}

// AlarmHistory calls fn for each alarm whose Time is in q's range, in the
// order stored (newest first with q.Newest), at most q.Limit of them. A
// query naming a device or business types other than alarm finds none:
// alarms belong to the terminal.
func (d *DataStore) AlarmHistory(q HistoryQuery, fn func(AlarmRecord) error) error {
	if err := q.Check(); err != nil {
		return fmt.Errorf("store: alarm history: %w", err)
	}
	if q.Device != "" || (len(q.Business) > 0 && !containsBusiness(q.Business, BusinessAlarm)) {
		return nil
	}
	return d.db.View(func(tx *bolt.Tx) error {
		all := tx.Bucket(bucketAlarms)
		if all == nil {
			return nil
		}
		c := all.Cursor()
		first, next := c.First, c.Next
		if q.Newest {
			first, next = c.Last, c.Prev
		}
		n := 0
		for k, v := first(); k != nil && (q.Limit == 0 || n < q.Limit); k, v = next() {
			a, err := decodeAlarm(k, v)
			if err != nil {
				return fmt.Errorf("store: alarm history: %w", err)
			}
			if (!q.From.IsZero() && a.Time.Before(q.From)) || (!q.To.IsZero() && !a.Time.Before(q.To)) {
				continue
			}
			n++
			if err := fn(a); err != nil {
				return err
			}
		}
		return nil
	})
}

func containsBusiness(bs []BusinessType, b BusinessType) bool {
	for _, x := range bs {
		if x == b {
			return true
		}
	}
	return false
}

// decodeAlarm decodes the alarm stored under k.
func decodeAlarm(k, v []byte) (AlarmRecord, error) {
	if len(k) != 8 {
		return AlarmRecord{}, fmt.Errorf("alarm key %x is not a number", k)
	}
	no := binary.BigEndian.Uint64(k)
	if v == nil {
		return AlarmRecord{}, fmt.Errorf("alarm %d: %w", no, ErrNoAlarm)
	}
	var a AlarmRecord
	if err := json.Unmarshal(v, &a); err != nil {
		return AlarmRecord{}, fmt.Errorf("alarm %d: %w", no, err)
	}
	if a.No != no {
		return AlarmRecord{}, fmt.Errorf("alarm %d holds number %d", no, a.No)
	}
	return a, nil
}

// String is the alarm in one line of aligned columns: number, time, code,
// event object, count, and delivered or pending.
func (a AlarmRecord) String() string {
	state := "pending"
	if !a.Delivered.IsZero() {
		state = "delivered " + a.Delivered.UTC().Format("2006-01-02T15:04:05Z")
	}
	return fmt.Sprintf("%8d  %-24s  %-22s  %-44s  %5d  %s", a.No, a.Time.UTC().Format("2006-01-02T15:04:05.000Z"),
		a.Code, fmt.Sprintf("%08X #%d %s", a.Object, a.Seq, a.ObjectName), a.Count, state)
}
