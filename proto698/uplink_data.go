package proto698

import (
	"fmt"
	"net"
	"time"
)

// Attribute data reports (REPORT-Notification-List, see
// apdu_report_list.go) on the uplink.
//
// A data report is a snapshot of values, not an event: only the newest one
// matters. Run keeps at most two: the one sent and awaiting its
// REPORT-Response-List (in flight), and the newest one not yet sent. A
// newer snapshot replaces the unsent one; when the one in flight is
// confirmed, or its ResponseTimeout passes, the unsent one goes next. An
// unconfirmed snapshot with nothing newer behind it is resent (same PIID)
// every ResponseTimeout, and after the link drops it is sent again after
// the next login. Because the newest snapshot always carries the current
// invalid values (Data NULL), a NULL marking is only ever replaced by a
// later snapshot, never lost.
//
// Power events and data reports are confirmed independently, so a front
// end withholding data confirmations never holds up a power event; when
// both are ready to go out, the power event is written first.

// dataReport is one snapshot, encoded once when it is enqueued (so Run
// never meets a value it cannot send, and the caller may reuse its slice).
type dataReport struct {
	apdu []byte // REPORT-Notification-List; byte 2 is the PIID, set when sent
	n    int    // number of results
}

// ReportAttributes enqueues a snapshot of attribute values for a
// REPORT-Notification-List without blocking: the periodic data report, or
// the immediate one when values turn invalid (e.g. at a power outage). An
// invalid value is ResultNormal{OAD: o, Data: Null{}}; an attribute that
// cannot be read is reported with its DAR and nil Data. The newest
// snapshot supersedes an older one not yet sent (see Uplink). It fails
// with ErrInvalid for an empty snapshot or a result with neither Data nor
// a DAR, with the encoder's error (e.g. ErrLength when the report does not
// fit one frame), and with ErrQueueFull when Run has not drained
// QueueSize earlier snapshots; in every error case nothing is enqueued.
func (u *Uplink) ReportAttributes(results []ResultNormal) error {
	if len(results) == 0 {
		return fmt.Errorf("proto698: uplink: report attributes: no results: %w", ErrInvalid)
	}
	for _, r := range results {
		if r.Data == nil && r.DAR == DARSuccess {
			return fmt.Errorf("proto698: uplink: report attribute %v: no Data and DAR success (an invalid value is Null{}): %w", r.OAD, ErrInvalid)
		}
	}
	apdu, err := EncodeAPDU(&ReportNotificationList{Results: results})
	if err != nil {
		return fmt.Errorf("proto698: uplink: report %d attributes: %w", len(results), err)
	}
	if _, err := AppendFrame(nil, u.dataFrame(apdu)); err != nil {
		return fmt.Errorf("proto698: uplink: report %d attributes: %w", len(results), err)
	}
	select {
	case u.data <- &dataReport{apdu: apdu, n: len(results)}:
		return nil
	default:
		return fmt.Errorf("proto698: uplink: report %d attributes: %w", len(results), ErrQueueFull)
	}
}

// dataFrame is the terminal-initiated user-data frame (DIR=1, PRM=0) of a
// data report.
func (u *Uplink) dataFrame(apdu []byte) *Frame {
	return &Frame{Control: NewControl(true, false, false, false, FuncUserData), Addr: u.cfg.Addr, Client: u.cfg.Client, Data: apdu}
}

// dataState is the data-report part of uplinkState, owned by Run.
type dataState struct {
	next     *dataReport // newest snapshot not yet sent
	flight   *dataReport // sent, awaiting REPORT-Response-List
	piid     uint8       // PIID of flight
	attempts int         // sends of flight
}

// queue takes a new snapshot; it supersedes one not yet sent.
func (u *Uplink) queueData(ds *dataState, d *dataReport) {
	if ds.next != nil {
		u.log.Debug("proto698: uplink: data report superseded before it was sent", "results", ds.next.n)
	}
	ds.next = d
}

// relink is called when a session starts: what was in flight on the old
// link is unconfirmed, so it goes again unless something newer replaced it.
func (ds *dataState) relink() {
	if ds.flight != nil && ds.next == nil {
		ds.next = ds.flight
	}
	ds.flight = nil
}

// sendData sends the newest snapshot if none is in flight.
func (u *Uplink) sendData(conn net.Conn, st *uplinkState, resend *time.Timer) error {
	ds := &st.data
	if ds.flight != nil || ds.next == nil {
		return nil
	}
	ds.flight, ds.next = ds.next, nil
	ds.piid = st.nextPIID()
	ds.attempts = 0
	return u.writeData(conn, ds, resend)
}

func (u *Uplink) writeData(conn net.Conn, ds *dataState, resend *time.Timer) error {
	ds.flight.apdu[2] = ds.piid
	b, err := AppendFrame(nil, u.dataFrame(ds.flight.apdu))
	if err != nil { // checked in ReportAttributes; cannot happen
		return fmt.Errorf("proto698: uplink: data report: %w", err)
	}
	ds.attempts++
	resend.Reset(u.cfg.ResponseTimeout)
	return u.writeRaw(conn, "REPORT-Notification-List", b)
}

// dataTimeout handles the resend timer: a newer snapshot replaces the
// unconfirmed one, otherwise the unconfirmed one is sent again.
func (u *Uplink) dataTimeout(conn net.Conn, st *uplinkState, resend *time.Timer) error {
	ds := &st.data
	if ds.flight == nil {
		return nil
	}
	if ds.next != nil {
		u.log.Info("proto698: uplink: data report not confirmed, superseded by a newer one", "results", ds.flight.n, "attempts", ds.attempts)
		ds.flight = nil
		return u.sendData(conn, st, resend)
	}
	u.log.Info("proto698: uplink: data report not confirmed, resending", "results", ds.flight.n, "attempt", ds.attempts+1)
	return u.writeData(conn, ds, resend)
}

// dataConfirmed handles a REPORT-Response-List.
func (u *Uplink) dataConfirmed(st *uplinkState, r *ReportResponseList, resend *time.Timer) {
	ds := &st.data
	if ds.flight == nil || r.PIID.Seq() != ds.piid {
		u.log.Debug("proto698: uplink: unexpected REPORT-Response-List", "piid", r.PIID.Seq(), "oads", r.OADs)
		return
	}
	resend.Stop()
	n := ds.flight.n
	u.log.Info("proto698: uplink: data report confirmed", "results", n, "attempts", ds.attempts, "newer_waiting", ds.next != nil)
	ds.flight = nil
	if u.cfg.OnDataConfirm != nil {
		u.cfg.OnDataConfirm(n)
	}
}
