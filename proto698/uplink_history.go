package proto698

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"
)

// Forwarded (store-and-forward) records on the uplink: DeliverHistory.
//
// A history batch is one REPORT-Notification-RecordList of forwarded
// records (see history.go). Unlike a power event it is not queued inside
// Run: the caller hands one batch over and waits for its confirmation, so
// the caller's store decides what is delivered and marks it delivered only
// when the master has it. Run holds at most one batch. It writes the batch
// only when no live traffic is waiting: every queued power event has been
// written (the one in flight may still await its confirmation) and no data
// snapshot is waiting to be written. An unconfirmed batch is written again
// (same PIID) every ResponseTimeout and after every new login, until the
// master confirms it with a REPORT-Response-RecordList echoing its PIID
// and only its OADs, or until the caller gives up (its ctx ends), after
// which Run forgets the batch without writing it again.
//
// The PIID allocator is shared with power events, data reports and link
// requests. A REPORT-Response-RecordList listing 0x31060200 belongs to the
// power event in flight, any other one to the history batch in flight if
// its PIID matches; a DeliverHistory batch can never hold a 3106 record,
// so the two are told apart even if their PIIDs meet after the 6-bit
// counter wraps.

// ErrUplinkStopped: Run ended (its ctx ended) while DeliverHistory was
// waiting for the master's confirmation; the batch may or may not have
// been stored by the master.
var ErrUplinkStopped = errors.New("uplink stopped")

// historyBatch is one DeliverHistory call's batch, handed to Run.
type historyBatch struct {
	apdu   []byte          // REPORT-Notification-RecordList; byte 2 is the PIID, set when written
	oads   []OAD           // the records' OADs, which a confirmation may list
	rows   int             // forwarded records (rows) in the batch
	done   <-chan struct{} // the caller's ctx.Done(): closed when the caller gives up
	result chan error      // capacity 1: nil once confirmed, or why Run let go of it
}

// historyState is the history part of uplinkState, owned by Run.
type historyState struct {
	b        *historyBatch // the batch held, nil if none
	piid     uint8         // b's PIID, allocated at the first write (attempts > 0; kept across relinks)
	written  bool          // written on this link and no resend due yet
	attempts int           // writes of b
}

// DeliverHistory hands one batch of forwarded records (one
// REPORT-Notification-RecordList holding recs, each record built by
// HistoryRecord) to Run and blocks until the master confirms it; it then
// returns nil. Live traffic goes first: the batch is written only when no
// power event or data snapshot is waiting to be written. Until confirmed
// the batch is written again every ResponseTimeout and after every new
// login (the master deduplicates rows by point, No and time), so while the
// link is down DeliverHistory simply keeps waiting. Calls are served one
// at a time, in no promised order.
//
// If ctx ends first it returns ctx.Err() (or nil, should the confirmation
// have arrived at the same moment) and Run forgets the batch: it is never
// written again, and a late confirmation is ignored. The master may have
// stored it already; delivering the same rows again later is harmless. If
// Run is not running, the batch is not taken and DeliverHistory returns
// when ctx ends, with an error wrapping ctx.Err(); if Run ends while
// holding the batch it returns an error wrapping ErrUplinkStopped.
//
// It fails at once, nothing handed over, wrapping ErrInvalid for no
// records, a record without rows and a record ParseHistory refuses (e.g. a
// 3106 record), and with the encoder's error — ErrLength when the batch
// does not fit one frame (send fewer rows per batch).
func (u *Uplink) DeliverHistory(ctx context.Context, recs []ResultRecord) error {
	if len(recs) == 0 {
		return fmt.Errorf("proto698: uplink: deliver history: no records: %w", ErrInvalid)
	}
	b := &historyBatch{oads: make([]OAD, len(recs)), done: ctx.Done(), result: make(chan error, 1)}
	for i, rec := range recs {
		rows, err := ParseHistory(rec, u.cfg.Location)
		if err != nil {
			return fmt.Errorf("proto698: uplink: deliver history: record %d: %w", i, err)
		}
		if len(rows) == 0 {
			return fmt.Errorf("proto698: uplink: deliver history: record %d (%v): no rows: %w", i, rec.OAD, ErrInvalid)
		}
		b.oads[i] = rec.OAD
		b.rows += len(rows)
	}
	var err error
	if b.apdu, err = EncodeAPDU(&ReportNotificationRecordList{Records: recs}); err == nil {
		_, err = AppendFrame(nil, u.dataFrame(b.apdu))
	}
	if err != nil {
		return fmt.Errorf("proto698: uplink: deliver history: %d records, %d rows: %w", len(recs), b.rows, err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case u.history <- b:
	case <-ctx.Done():
		return fmt.Errorf("proto698: uplink: deliver history: %d rows not taken (is Run running?): %w", b.rows, ctx.Err())
	}
	select {
	case err := <-b.result:
		return err
	case <-ctx.Done():
		select {
		case err := <-b.result: // confirmed just now
			return err
		default:
			return ctx.Err()
		}
	}
}

// historyIn is the channel a batch is taken from: nil (never ready) while
// Run holds one.
func (u *Uplink) historyIn(st *uplinkState) <-chan *historyBatch {
	if st.hist.b != nil {
		return nil
	}
	return u.history
}

// abandoned is closed when the caller of the batch held gives up; nil
// (never ready) when none is held.
func (hs *historyState) abandoned() <-chan struct{} {
	if hs.b == nil {
		return nil
	}
	return hs.b.done
}

// relink is called when a session starts: the batch held is unconfirmed,
// so it is written again on the new link (same PIID).
func (hs *historyState) relink() { hs.written = false }

func (u *Uplink) takeHistory(st *uplinkState, b *historyBatch) {
	st.hist = historyState{b: b}
	u.log.Debug("proto698: uplink: history batch taken", "rows", b.rows, "records", len(b.oads))
}

// abandonHistory forgets the batch held: its caller gave up.
func (u *Uplink) abandonHistory(st *uplinkState) {
	hs := &st.hist
	u.log.Info("proto698: uplink: history batch abandoned by its caller", "rows", hs.b.rows, "attempts", hs.attempts, "piid", hs.piid)
	*hs = historyState{}
}

// stopHistory releases a caller waiting when Run ends.
func (u *Uplink) stopHistory(st *uplinkState) {
	if b := st.hist.b; b != nil {
		b.result <- fmt.Errorf("proto698: uplink: deliver history: %d rows unconfirmed after %d attempts: %w", b.rows, st.hist.attempts, ErrUplinkStopped)
		st.hist = historyState{}
	}
}

// sendHistory writes the batch held if it is not written on this link (or
// its resend is due) and no live traffic waits: powerWaiting says a
// queued power event has not been written yet.
func (u *Uplink) sendHistory(conn net.Conn, st *uplinkState, powerWaiting bool, resend *time.Timer) error {
	hs := &st.hist
	if hs.b == nil || hs.written || powerWaiting || st.data.next != nil {
		return nil
	}
	select {
	case <-hs.b.done: // never written once its caller has given up
		u.abandonHistory(st)
		resend.Stop()
		return nil
	default:
	}
	if hs.attempts == 0 {
		hs.piid = st.nextPIID()
	}
	hs.b.apdu[2] = byte(PIIDACD(hs.piid))
	b, err := AppendFrame(nil, u.dataFrame(hs.b.apdu))
	if err != nil { // checked in DeliverHistory; cannot happen
		return fmt.Errorf("proto698: uplink: history batch: %w", err)
	}
	hs.attempts++
	hs.written = true
	resend.Reset(u.cfg.ResponseTimeout)
	if hs.attempts > 1 {
		u.log.Info("proto698: uplink: history batch not confirmed, resending", "rows", hs.b.rows, "attempt", hs.attempts, "piid", hs.piid)
	}
	return u.writeRaw(conn, "REPORT-Notification-RecordList", b)
}

// historyTimeout handles the resend timer: the batch is due again.
func (hs *historyState) historyTimeout() {
	if hs.b != nil {
		hs.written = false
	}
}

// historyConfirmed handles a REPORT-Response-RecordList that does not
// list 0x31060200: the confirmation of the batch held if the PIID matches
// and every OAD it lists is one of the batch's.
func (u *Uplink) historyConfirmed(st *uplinkState, r *ReportResponseRecordList, resend *time.Timer) {
	hs := &st.hist
	if hs.b == nil || hs.attempts == 0 || r.PIID.Seq() != hs.piid || !allIn(r.OADs, hs.b.oads) {
		u.log.Debug("proto698: uplink: unexpected REPORT-Response (no history batch of this PIID, e.g. a late confirmation of an abandoned one)", "piid", r.PIID.Seq(), "oads", r.OADs)
		return
	}
	resend.Stop()
	b := hs.b
	u.log.Info("proto698: uplink: history batch confirmed", "rows", b.rows, "records", len(b.oads), "attempts", hs.attempts, "piid", hs.piid)
	*hs = historyState{}
	b.result <- nil
}

// allIn reports whether every OAD of os is in set.
func allIn(os, set []OAD) bool {
	for _, o := range os {
		if !containsOAD(set, o) {
			return false
		}
	}
	return true
}
