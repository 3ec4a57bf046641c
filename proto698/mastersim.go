package proto698

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"
)

// MasterEventKind classifies what the master-station simulator observed.
type MasterEventKind uint8

// Observations of the master-station simulator.
const (
	MasterConnect          MasterEventKind = iota // a terminal connected
	MasterLogin                                   // LINK-Request login accepted
	MasterHeartbeat                               // heartbeat (answered unless heartbeats are ignored)
	MasterLogout                                  // LINK-Request logout
	MasterReport                                  // a new power event (first delivery)
	MasterDuplicate                               // a resent power event already received (confirmed again, not stored)
	MasterUnauthorized                            // a frame before login (ignored, not answered)
	MasterDisconnect                              // the connection closed
	MasterDataReport                              // a REPORT-Notification-List (every copy, resends included)
	MasterHistory                                 // forwarded records stored (the new rows of one history report)
	MasterHistoryDuplicate                        // forwarded records already stored (a resend: confirmed again, not stored)
	MasterHandshakeFailed                         // a TLS handshake failed (the terminal's certificate refused, or the terminal refused the master's)
	MasterAlarmReport                             // a new alarm event (3109, 310A; first delivery)
	MasterAlarmDuplicate                          // a resent alarm event already received (confirmed again, not stored)
)

// String implements fmt.Stringer.
func (k MasterEventKind) String() string {
	return [...]string{"connect", "login", "heartbeat", "logout", "report", "duplicate", "unauthorized", "disconnect", "data report", "history", "history duplicate", "handshake failed", "alarm", "alarm duplicate"}[k]
}

// MasterEvent is one observation, delivered on MasterSim.Events.
type MasterEvent struct {
	Kind     MasterEventKind
	Terminal string     // terminal SA (after login)
	Event    PowerEvent // MasterReport, MasterDuplicate
	Alarm    AlarmEvent // MasterAlarmReport, MasterAlarmDuplicate
	// Heartbeat is the period the terminal announced at login, seconds.
	Heartbeat uint16
	// Results, PIID and APDU describe a MasterDataReport: the attribute
	// results, the report's PIID (ACD bit cleared; a resend repeats it),
	// and the APDU bytes as received, for byte-level checks. PIID is also
	// set for MasterHistory and MasterHistoryDuplicate.
	Results []ResultNormal
	PIID    PIID
	APDU    []byte
	// History holds the forwarded records of a MasterHistory (the rows new
	// to the master) or MasterHistoryDuplicate (the rows it already had).
	History []MasterHistoryRow
	// Err is why a MasterHandshakeFailed handshake failed.
	Err error
}

// MasterStats counts what the master has seen.
type MasterStats struct {
	Connects, Logins, Heartbeats, Reports, Duplicates, Unauthorized int
	// DataReports counts REPORT-Notification-List copies received.
	DataReports int
	// Fragments counts the data fragments of fragmented terminal APDUs
	// received and confirmed (a repeat too); FragmentMax is the most APDU
	// bytes one of them carried.
	Fragments, FragmentMax int
	// History counts the distinct forwarded records stored,
	// HistoryDuplicates the rows received again (resends).
	History, HistoryDuplicates int
	// Alarms counts the distinct alarm events stored, AlarmDuplicates the
	// ones received again.
	Alarms, AlarmDuplicates int
}

// MasterSim simulates a master station on a TCP listener. It honours the
// link rules a real front-end processor enforces: nothing but a login is
// answered before the terminal has logged in; heartbeats are answered
// with LINK-Response; REPORT-Notification 3106 records are stored once per
// PowerEvent.Key (duplicates are confirmed but not stored) and confirmed
// with REPORT-Response echoing the PIID; REPORT-Notification-List data
// reports are recorded as received (DataReports) and confirmed with
// REPORT-Response-List echoing the PIID and OADs. Forwarded records (any
// other record of a REPORT-Notification-RecordList, see ParseHistory) are
// stored once per terminal, point OAD, No and time (History; a resent row
// is counted, HistoryDuplicates, not stored again) and confirmed with
// REPORT-Response-RecordList echoing the PIID and OADs; a report holding a
// record ParseHistory refuses is logged and neither stored nor confirmed,
// as a front end does not confirm what it could not store. The fault
// knobs (DropOnNextReport, WithholdConfirms) apply to every kind of
// report. Like a front end it also reads
// and writes the terminal's attributes (Get, GetList, Set) over the link of
// the latest login, matching each answer to its request by PIID. A
// terminal's APDU sent fragmented (longer than the frame size it
// announced or negotiated) is reassembled, each data fragment confirmed
// as it arrives (a repeat confirmed again, one out of sequence dropped
// unconfirmed), and then handled as if it had come whole (Stats counts
// the fragments). Its state is owned by Run.
type MasterSim struct {
	log  *slog.Logger
	loc  *time.Location
	addr string
	ln   net.Listener
	tls  *tls.Config // nil: plain TCP

	cmds   chan func(*masterState)
	msgs   chan masterMsg
	events chan MasterEvent
	done   chan struct{}
}

type masterConn struct {
	c        net.Conn
	loggedIn bool
	sa       ServerAddress
	ca       uint8 // client address the terminal logged in with
}

type masterState struct {
	conns            map[*masterConn]bool
	received         []PowerEvent
	dataReports      [][]ResultNormal
	seen             map[string]bool
	history          []MasterHistoryRow // distinct forwarded records, in arrival order
	historySeen      map[historyKey]bool
	alarms           masterAlarms // alarm events (mastersim_events.go)
	withholdHistory  bool         // store history reports, never confirm them
	stats            MasterStats
	dropNextReport   bool
	withhold         int // reports left to leave unconfirmed (link kept)
	ignoreHeartbeats bool
	ln               net.Listener
	up               bool
	wg               *sync.WaitGroup // accept and reader goroutines
	current          *masterConn     // the link of the latest login: where requests go
	piid             uint8
	pending          map[uint8]*masterCall // master-initiated requests by PIID sequence
	security         *MasterSecurity       // how requests are sent; nil: plain
	sent             uint64                // requests sent, numbering masterCall.seq
}

type masterMsg struct {
	mc    *masterConn
	frame Frame
	apdu  APDU
	raw   []byte // the APDU bytes, kept for data reports only
	err   error  // connection ended
	// frag > 0: a data fragment of frag APDU bytes was received and
	// confirmed (counted, nothing else to do).
	frag int
}

// NewMasterSim listens on addr (e.g. "127.0.0.1:0"). loc is the time
// zone of date_time fields (nil: time.Local).
func NewMasterSim(addr string, loc *time.Location, log *slog.Logger) (*MasterSim, error) {
	return NewMasterSimTLS(addr, loc, nil, log)
}

// NewMasterSimTLS is NewMasterSim over TLS with cfg (the master's
// certificate, and ClientAuth and ClientCAs to require and verify the
// terminal's); nil cfg is plain TCP. A failed handshake is reported as a
// MasterHandshakeFailed event and the connection closed.
func NewMasterSimTLS(addr string, loc *time.Location, cfg *tls.Config, log *slog.Logger) (*MasterSim, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("proto698: master sim: listen %s: %w", addr, err)
	}
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if loc == nil {
		loc = time.Local
	}
	return &MasterSim{
		log: log, loc: loc, addr: ln.Addr().String(), ln: ln, tls: cfg,
		cmds: make(chan func(*masterState)), msgs: make(chan masterMsg),
		events: make(chan MasterEvent, 1024), done: make(chan struct{}),
	}, nil
}

// Addr is the host:port terminals dial.
func (m *MasterSim) Addr() string { return m.addr }

// Events delivers observations in order (buffered; tests read them to wait
// for the next login or report without polling).
func (m *MasterSim) Events() <-chan MasterEvent { return m.events }

func (m *MasterSim) do(f func(*masterState)) bool {
	ran := make(chan struct{})
	select {
	case m.cmds <- func(s *masterState) { f(s); close(ran) }:
		<-ran
		return true
	case <-m.done:
		return false
	}
}

// DropLinks closes every current connection (as a NAT timeout or a
// front-end restart does); terminals must reconnect and log in again.
func (m *MasterSim) DropLinks() { m.do(func(s *masterState) { m.dropAll(s) }) }

// DropOnNextReport makes the master store the next report (power event,
// data report or history batch, whichever comes first) but drop the link instead of
// confirming it — the confirmation is lost, so the terminal must resend
// and the master must deduplicate.
func (m *MasterSim) DropOnNextReport() { m.do(func(s *masterState) { s.dropNextReport = true }) }

// WithholdConfirms leaves the next n reports (power events, data reports
// and history batches alike, counted in arrival order) unconfirmed while keeping the
// link up (a slow or lossy front end); the terminal must resend.
func (m *MasterSim) WithholdConfirms(n int) { m.do(func(s *masterState) { s.withhold = n }) }

// IgnoreHeartbeats stops (or resumes) answering heartbeats.
func (m *MasterSim) IgnoreHeartbeats(ignore bool) {
	m.do(func(s *masterState) { s.ignoreHeartbeats = ignore })
}

// Down stops listening and drops all links (the master is unreachable);
// Up listens again on the same address.
func (m *MasterSim) Down() {
	m.do(func(s *masterState) {
		if s.up {
			s.ln.Close()
			s.up = false
		}
		m.dropAll(s)
	})
}

// Up resumes listening after Down.
func (m *MasterSim) Up() error {
	var err error
	m.do(func(s *masterState) {
		if s.up {
			return
		}
		var ln net.Listener
		if ln, err = net.Listen("tcp", m.addr); err == nil {
			s.ln, s.up = ln, true
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				m.accept(ln)
			}()
		}
	})
	return err
}

// Received returns the distinct power events in arrival order.
func (m *MasterSim) Received() []PowerEvent {
	var out []PowerEvent
	m.do(func(s *masterState) { out = append(out, s.received...) })
	return out
}

// Stats returns the counters.
func (m *MasterSim) Stats() MasterStats {
	var st MasterStats
	m.do(func(s *masterState) { st = s.stats })
	return st
}

func (m *MasterSim) dropAll(s *masterState) {
	for mc := range s.conns {
		mc.c.Close()
	}
}

func (m *MasterSim) emit(e MasterEvent) {
	select {
	case m.events <- e:
	default:
		m.log.Warn("proto698: master sim: event buffer full", "kind", e.Kind)
	}
}

// accept hands new connections to Run; it ends when ln closes.
func (m *MasterSim) accept(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		if m.tls != nil {
			c = tls.Server(c, m.tls)
		}
		mc := &masterConn{c: c}
		select {
		case m.msgs <- masterMsg{mc: mc}:
		case <-m.done:
			c.Close()
			return
		}
	}
}

// readConn deframes one connection and forwards frames to Run.
func (m *MasterSim) readConn(mc *masterConn) {
	var d Deframer
	buf := make([]byte, 1024)
	send := func(msg masterMsg) bool {
		select {
		case m.msgs <- msg:
			return true
		case <-m.done:
			return false
		}
	}
	if tc, ok := mc.c.(*tls.Conn); ok {
		if err := tc.Handshake(); err != nil {
			send(masterMsg{mc: mc, err: fmt.Errorf("%w: %w", errHandshake, err)})
			return
		}
	}
	var re Reassembler
	for {
		n, err := mc.c.Read(buf)
		d.Write(buf[:n])
		for {
			raw, _, ok := d.Next()
			if !ok {
				break
			}
			f, _, ferr := DecodeFrame(raw)
			if ferr != nil {
				continue
			}
			if f.Control.Fragmented() {
				apdu, complete, fragOK := m.fragment(mc, &re, &f)
				if fragOK && !send(masterMsg{mc: mc, frag: len(f.Data)}) {
					return
				}
				if !complete {
					continue
				}
				f.Data = apdu
			}
			a, aerr := DecodeAPDU(f.Data)
			if aerr != nil {
				m.log.Warn("proto698: master sim: bad APDU", "err", aerr)
				continue
			}
			msg := masterMsg{mc: mc, frame: f, apdu: a}
			if _, ok := a.(*ReportNotificationList); ok {
				msg.raw = bytes.Clone(f.Data)
			}
			msg.frame.Data = nil // not retained
			if !send(msg) {
				return
			}
		}
		if err != nil {
			if err == io.EOF || errors.Is(err, net.ErrClosed) {
				err = io.EOF
			}
			send(masterMsg{mc: mc, err: err})
			return
		}
	}
}

// Run serves until ctx ends, then closes the listener and all connections
// and waits for its goroutines.
func (m *MasterSim) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	s := &masterState{conns: map[*masterConn]bool{}, seen: map[string]bool{}, historySeen: map[historyKey]bool{}, ln: m.ln, up: true, wg: &wg, pending: map[uint8]*masterCall{}}
	wg.Add(1)
	go func() {
		defer wg.Done()
		m.accept(m.ln)
	}()
	defer func() {
		if s.up {
			s.ln.Close()
		}
		m.dropAll(s)
		close(m.done) // unblocks readers and accept loops
		wg.Wait()
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case f := <-m.cmds:
			f(s)
		case msg := <-m.msgs:
			switch {
			case msg.err != nil:
				if s.conns[msg.mc] {
					delete(s.conns, msg.mc)
					msg.mc.c.Close()
					m.linkGone(s, msg.mc)
					if errors.Is(msg.err, errHandshake) {
						m.log.Warn("proto698: master sim: TLS handshake failed", "err", msg.err)
						m.emit(MasterEvent{Kind: MasterHandshakeFailed, Err: msg.err})
					}
					m.emit(MasterEvent{Kind: MasterDisconnect, Terminal: msg.mc.sa.String()})
				}
			case msg.frag > 0:
				s.stats.Fragments++
				s.stats.FragmentMax = max(s.stats.FragmentMax, msg.frag)
			case msg.apdu == nil: // new connection
				s.conns[msg.mc] = true
				s.stats.Connects++
				m.emit(MasterEvent{Kind: MasterConnect})
				wg.Add(1)
				go func() {
					defer wg.Done()
					m.readConn(msg.mc)
				}()
			default:
				m.handle(s, msg)
			}
		}
	}
}

func (m *MasterSim) handle(s *masterState, msg masterMsg) {
	mc, f := msg.mc, msg.frame
	if !s.conns[mc] {
		return // frame raced with a drop
	}
	if f.Control.FromServer() && f.Control.PRM() && f.Control.Function() == FuncUserData {
		m.handleResponse(s, mc, msg.apdu) // the answer to a request of ours
		return
	}
	if !f.Control.FromServer() || f.Control.PRM() {
		m.log.Debug("proto698: master sim: not a terminal-initiated frame", "control", f.Control)
		return
	}
	switch a := msg.apdu.(type) {
	case *LinkRequest:
		if f.Control.Function() != FuncLink {
			return
		}
		switch {
		case a.Type == LinkLogin:
			mc.loggedIn, mc.sa, mc.ca = true, f.Addr, f.Client
			s.current = mc
			s.stats.Logins++
			m.log.Info("proto698: master sim: login", "terminal", f.Addr, "heartbeat_s", a.Heartbeat)
			m.emit(MasterEvent{Kind: MasterLogin, Terminal: f.Addr.String(), Heartbeat: a.Heartbeat})
		case !mc.loggedIn || !mc.sa.Equal(f.Addr):
			s.stats.Unauthorized++
			m.emit(MasterEvent{Kind: MasterUnauthorized, Terminal: f.Addr.String()})
			return
		case a.Type == LinkHeartbeat:
			s.stats.Heartbeats++
			m.log.Info("proto698: master sim: heartbeat", "terminal", f.Addr)
			m.emit(MasterEvent{Kind: MasterHeartbeat, Terminal: f.Addr.String()})
			if s.ignoreHeartbeats {
				return
			}
		case a.Type == LinkLogout:
			mc.loggedIn = false
			if s.current == mc {
				s.current = nil
			}
			m.emit(MasterEvent{Kind: MasterLogout, Terminal: f.Addr.String()})
		}
		now := NewDateTime(time.Now().In(m.loc))
		m.reply(mc, f, FuncLink, &LinkResponse{PIID: PIID(a.PIID) &^ 0x40, Result: 0x80, RequestTime: a.Time, ReceiveTime: now, ResponseTime: now})
	case *ReportNotificationRecordList:
		if !mc.loggedIn || !mc.sa.Equal(f.Addr) {
			s.stats.Unauthorized++
			m.emit(MasterEvent{Kind: MasterUnauthorized, Terminal: f.Addr.String()})
			return
		}
		hist, err := m.parseHistoryRecords(f.Addr.String(), a.Records)
		if err != nil {
			m.log.Warn("proto698: master sim: bad history report, not confirmed", "terminal", f.Addr, "err", err)
			return
		}
		alarms, err := m.parseAlarmRecords(f.Addr.String(), a.Records)
		if err != nil {
			m.log.Warn("proto698: master sim: bad alarm event report, not confirmed", "terminal", f.Addr, "err", err)
			return
		}
		m.storeAlarms(s, alarms)
		oads := make([]OAD, 0, len(a.Records))
		for _, rec := range a.Records {
			oads = append(oads, rec.OAD)
			if rec.OAD != OADPowerEvent {
				continue
			}
			evs, err := ParsePowerEvents(rec, m.loc)
			if err != nil {
				m.log.Warn("proto698: master sim: bad 3106 record", "err", err)
				continue
			}
			for _, ev := range evs {
				s.stats.Reports++
				key := f.Addr.String() + "/" + ev.Key()
				if s.seen[key] {
					s.stats.Duplicates++
					m.log.Info("proto698: master sim: duplicate report", "terminal", f.Addr, "event", ev.Key())
					m.emit(MasterEvent{Kind: MasterDuplicate, Terminal: f.Addr.String(), Event: ev})
					continue
				}
				s.seen[key] = true
				s.received = append(s.received, ev)
				m.log.Info("proto698: master sim: report", "terminal", f.Addr, "event", ev.Key())
				m.emit(MasterEvent{Kind: MasterReport, Terminal: f.Addr.String(), Event: ev})
			}
		}
		if len(hist) > 0 {
			m.storeHistory(s, f.Addr.String(), PIID(a.PIID)&^0x40, hist)
		}
		if m.faultOnReport(s, mc, len(hist) > 0) {
			return
		}
		m.reply(mc, f, FuncUserData, &ReportResponseRecordList{PIID: PIID(a.PIID) &^ 0x40, OADs: oads})
	case *ReportNotificationList:
		m.handleDataReport(s, mc, f, a, msg.raw)
	default:
		if !mc.loggedIn {
			s.stats.Unauthorized++
			m.emit(MasterEvent{Kind: MasterUnauthorized, Terminal: f.Addr.String()})
		}
	}
}

// fragment takes fragment frame f of the terminal on mc's reader
// goroutine, as a front end does: a data fragment that continues the APDU
// being reassembled (or repeats the one taken last, its confirm lost) is
// confirmed at once, so the terminal sends the next; one out of sequence
// is neither taken nor confirmed, so the terminal gives up on it. ok
// reports a confirmed data fragment, complete the APDU when the last one
// came.
func (m *MasterSim) fragment(mc *masterConn, re *Reassembler, f *Frame) (apdu []byte, complete, ok bool) {
	if f.Frag.Type == FragConfirm || !f.Control.FromServer() {
		return nil, false, false // this master sends no fragments
	}
	apdu, complete, err := re.Add(f.Frag, f.Data)
	if err != nil && !errors.Is(err, ErrRepeatedFragment) {
		m.log.Warn("proto698: master sim: fragment dropped", "terminal", f.Addr, "err", err)
		return nil, false, false
	}
	c := ConfirmFrame(*f)
	b, err := AppendFrame(nil, &c)
	if err != nil {
		m.log.Error("proto698: master sim: fragment confirm", "err", err)
		return nil, false, false
	}
	// Concurrent with Run's writes: one Write is one frame on the wire.
	_ = mc.c.SetWriteDeadline(time.Now().Add(time.Second))
	if _, err := mc.c.Write(b); err != nil {
		m.log.Debug("proto698: master sim: write fragment confirm", "err", err)
	}
	return apdu, complete, true
}

func (m *MasterSim) reply(mc *masterConn, req Frame, fn Function, a APDU) {
	apdu, err := EncodeAPDU(a)
	if err != nil {
		m.log.Error("proto698: master sim: encode", "err", err)
		return
	}
	b, err := AppendFrame(nil, &Frame{Control: NewControl(false, false, false, false, fn), Addr: req.Addr, Client: req.Client, Data: apdu})
	if err != nil {
		m.log.Error("proto698: master sim: frame", "err", err)
		return
	}
	_ = mc.c.SetWriteDeadline(time.Now().Add(time.Second))
	if _, err := mc.c.Write(b); err != nil {
		m.log.Debug("proto698: master sim: write", "err", err)
	}
}
