package proto698

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"sync"
	"time"
)

// ErrQueueFull: ReportPowerEvent, ReportEvent or ReportAttributes could not enqueue
// (the uplink's input channel is full, i.e. Run is not draining it).
var ErrQueueFull = errors.New("uplink queue full")

// UplinkConfig configures the master-station uplink.
type UplinkConfig struct {
	Master string        // master station host:port (required)
	Addr   ServerAddress // the terminal's own server address (required)
	Client uint8         // client address CA used in frames
	// Heartbeat is the heartbeat period (sent in the login, rounded to
	// whole seconds, at least 1); 0 means 60 s.
	Heartbeat time.Duration
	// ResponseTimeout bounds the wait for LINK-Response and, before a
	// resend, for REPORT-Response; 0 means 10 s.
	ResponseTimeout time.Duration
	// MissedHeartbeats unanswered heartbeats drop the link; 0 means 3.
	MissedHeartbeats int
	// RetryMin and RetryMax bound the reconnect back-off; 0 means 1 s and 60 s.
	RetryMin, RetryMax time.Duration
	// ByteTimeout is the inter-byte timeout: a partial frame is dropped
	// when no byte of it arrived for this long. 0 means
	// DefaultUplinkByteTimeout (500 ms).
	ByteTimeout time.Duration
	// MaxFrame is the APDU bytes one frame carries; a longer APDU is sent
	// fragmented (each fragment after the master's confirm of the one
	// before). 0 means DefaultMaxFrameAPDU (1024). A CONNECT-negotiated
	// size replaces it for its session (Uplink.setMaxFrame).
	MaxFrame int
	// QueueSize is the capacity of the event channel (ReportPowerEvent and
	// ReportEvent) and, separately, of the ReportAttributes channel; 0
	// means 64.
	QueueSize int
	// Channel is the OAD named in the report-status column; zero means
	// 0x45000200 (public wireless network).
	Channel OAD
	// Location is the time zone of date_time fields; nil means time.Local.
	Location *time.Location
	// OnConfirm, if set, is called on Run's goroutine when the master has
	// confirmed a report (e.g. to mark the journal entry delivered). It
	// must not block.
	OnConfirm func(PowerEvent)
	// OnEventConfirm, if set, is called on Run's goroutine when the master
	// has confirmed any event report (a power event after OnConfirm, an
	// alarm event). It must not block.
	OnEventConfirm func(Event)
	// OnDataConfirm, if set, is called on Run's goroutine when the master
	// has confirmed a data report (REPORT-Response-List), with the number
	// of results it carried. It must not block.
	OnDataConfirm func(results int)
	// Server, if set, answers the master's GET-Request-Normal,
	// GET-Request-NormalList and SET-Request-Normal addressed to the
	// terminal; without one every such request is answered DAR object
	// undefined. Broadcast requests are not answered.
	Server Server
	// RequestTimeout bounds the Server calls of one master request; what
	// is unanswered by then is answered DAR request timeout. 0 means 5 s.
	RequestTimeout time.Duration
	// MaxRequests bounds the master requests served at once; one more is
	// answered DAR temporarily unavailable without calling the Server.
	// 0 means 4.
	MaxRequests int
	// Security authenticates the master's control (TLS, plaintext+MAC);
	// see SecurityConfig.
	Security SecurityConfig
}

// Uplink keeps a DL/T 698.45 link to the master station over TCP: it logs
// in, sends heartbeats, re-logs in after the link drops, and delivers
// event reports (Event): terminal power-off/power-on events (0x3106) and
// alarm events (0x3109, 0x310A), one at a time, resending each until the
// master confirms it with REPORT-Response. Power events go in order and
// before any alarm event waiting (an alarm event already sent is finished
// first); alarm events go in the order enqueued. Reports enqueued while
// the link is down wait in Run's queue; nothing is dropped. The master
// deduplicates resends by the event's Key (for a power event its sequence
// number and kind, for an alarm its object and sequence number).
//
// It also reports attribute values (ReportAttributes) with
// REPORT-Notification-List. These are snapshots: the newest one not yet
// sent supersedes older ones, and an unconfirmed one is resent until the
// master confirms it with REPORT-Response-List or a newer snapshot
// replaces it (see uplink_data.go). A power event ready to go out is
// written before a data report.
//
// And it forwards stored records with their original times
// (DeliverHistory, store-and-forward) as REPORT-Notification-RecordList
// batches: one batch at a time, handed over by a caller that waits for the
// master's REPORT-Response-RecordList; written only after the power events
// and data snapshot waiting, and resent until confirmed or abandoned by its
// caller (see uplink_history.go).
type Uplink struct {
	cfg     UplinkConfig
	log     *slog.Logger
	events  chan Event
	data    chan *dataReport
	history chan *historyBatch // unbuffered: DeliverHistory hands one batch to Run
	slots   chan struct{}      // one token per master request in progress
	calls   sync.WaitGroup     // request goroutines, waited for by Run
	// started is when NewUplink made it (Security.Now): plaintext+MAC
	// control sent before is refused (replay protection, security.go).
	started time.Time
}

// NewUplink validates cfg and returns an uplink; call Run to start it.
func NewUplink(cfg UplinkConfig, log *slog.Logger) (*Uplink, error) {
	if cfg.Master == "" {
		return nil, fmt.Errorf("proto698: uplink: master address: %w", ErrInvalid)
	}
	if cfg.Addr.Len == 0 {
		return nil, fmt.Errorf("proto698: uplink: terminal address: %w", ErrInvalid)
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = 60 * time.Second
	}
	if cfg.ResponseTimeout <= 0 {
		cfg.ResponseTimeout = 10 * time.Second
	}
	if cfg.MissedHeartbeats <= 0 {
		cfg.MissedHeartbeats = 3
	}
	if cfg.RetryMin <= 0 {
		cfg.RetryMin = time.Second
	}
	if cfg.RetryMax < cfg.RetryMin {
		cfg.RetryMax = max(60*time.Second, cfg.RetryMin)
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 64
	}
	if cfg.Channel == (OAD{}) {
		cfg.Channel = OADChannelGPRS
	}
	if cfg.Location == nil {
		cfg.Location = time.Local
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 5 * time.Second
	}
	if cfg.MaxRequests <= 0 {
		cfg.MaxRequests = 4
	}
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Uplink{cfg: cfg, log: log, events: make(chan Event, cfg.QueueSize), data: make(chan *dataReport, cfg.QueueSize), history: make(chan *historyBatch), slots: make(chan struct{}, cfg.MaxRequests),
		started: cfg.Security.now()}, nil
}

// ReportPowerEvent enqueues a report without blocking. It fails with
// ErrQueueFull only if Run has not drained QueueSize earlier events.
func (u *Uplink) ReportPowerEvent(ev PowerEvent) error { return u.ReportEvent(ev) }

// ReportEvent enqueues an event report (a PowerEvent goes before the
// alarm events waiting) without blocking. It fails with ErrQueueFull only
// if Run has not drained QueueSize earlier events; a caller with more
// to report keeps them and enqueues more as OnEventConfirm reports
// deliveries.
func (u *Uplink) ReportEvent(ev Event) error {
	select {
	case u.events <- ev:
		return nil
	default:
		return fmt.Errorf("proto698: uplink: report %s: %w", ev.Key(), ErrQueueFull)
	}
}

// queueEvent adds ev to the pending events: a power event after the power
// events already pending (before any other event), anything else last.
func (s *uplinkState) queueEvent(ev Event) {
	i := len(s.pending)
	if _, power := ev.(PowerEvent); power {
		i = 0
		for i < len(s.pending) {
			if _, p := s.pending[i].(PowerEvent); !p {
				break
			}
			i++
		}
	}
	s.pending = slices.Insert(s.pending, i, ev)
}

// eventDone removes the event with key from the pending events.
func (s *uplinkState) eventDone(key string) {
	s.pending = slices.DeleteFunc(s.pending, func(e Event) bool { return e.Key() == key })
}

// uplinkState is owned by Run.
type uplinkState struct {
	pending []Event // power events first (queueEvent); the first is sent next
	piid    uint8
	data    dataState    // attribute snapshots
	hist    historyState // the forwarded-record batch held
	conn    connState    // CONNECT negotiation, replay window
}

func (s *uplinkState) nextPIID() uint8 {
	s.piid = (s.piid + 1) & 0x3F
	return s.piid
}

// Run owns the link until ctx ends. It returns nil on cancellation, after
// the goroutines answering master requests have ended (each ends by
// RequestTimeout at the latest, even if its Server call has not returned)
// and after failing a DeliverHistory still waiting (ErrUplinkStopped).
func (u *Uplink) Run(ctx context.Context) error {
	defer u.calls.Wait()
	st := &uplinkState{}
	defer u.stopHistory(st)
	backoff := u.cfg.RetryMin
	for {
		conn, err := u.dial(ctx)
		if err == nil {
			conn = u.newLinkConn(conn) // the link layer: fragments, confirms
			var loggedIn bool
			loggedIn, err = u.session(ctx, conn, st)
			conn.Close()
			if loggedIn {
				backoff = u.cfg.RetryMin
			}
		}
		if ctx.Err() != nil {
			return nil
		}
		u.log.Warn("proto698: uplink: link down", "master", u.cfg.Master, "err", err, "queued", len(st.pending), "retry_in", backoff)
		if !u.wait(ctx, st, backoff) {
			return nil
		}
		backoff = min(2*backoff, u.cfg.RetryMax)
	}
}

// wait sleeps for d while still accepting reports; false if ctx ended.
func (u *Uplink) wait(ctx context.Context, st *uplinkState, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case ev := <-u.events:
			st.queueEvent(ev)
		case d := <-u.data:
			u.queueData(&st.data, d)
		case b := <-u.historyIn(st):
			u.takeHistory(st, b)
		case <-st.hist.abandoned():
			u.abandonHistory(st)
		case <-t.C:
			return true
		}
	}
}

// inbound is one decoded frame (or the reader's final error).
type inbound struct {
	apdu APDU
	sa   ServerAddress // the frame's server address
	ca   uint8         // the frame's client address
	err  error
}

// session runs one TCP connection: login, then heartbeats and reports
// until the link fails or ctx ends. loggedIn reports whether the login
// succeeded (which resets the reconnect back-off).
func (u *Uplink) session(ctx context.Context, conn net.Conn, st *uplinkState) (loggedIn bool, err error) {
	in := make(chan inbound)
	done := make(chan struct{})
	// Master requests in progress are cancelled when the session ends:
	// nobody is left to receive their answers.
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	replies := make(chan outbound, u.cfg.MaxRequests)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		u.readLink(conn, in, done)
	}()
	defer func() {
		close(done)
		conn.Close()
		wg.Wait()
	}()

	st.data.relink()
	st.hist.relink()
	st.conn.relink()
	tlsAuth := tlsAuthenticated(conn)

	// Login.
	loginPIID := st.nextPIID()
	if err := u.sendLink(conn, LinkLogin, loginPIID); err != nil {
		return false, err
	}
	loginTimer := time.NewTimer(u.cfg.ResponseTimeout)
	defer loginTimer.Stop()
	for !loggedIn {
		select {
		case <-ctx.Done():
			return false, nil
		case ev := <-u.events:
			st.queueEvent(ev)
		case d := <-u.data:
			u.queueData(&st.data, d)
		case b := <-u.historyIn(st):
			u.takeHistory(st, b)
		case <-st.hist.abandoned():
			u.abandonHistory(st)
		case <-loginTimer.C:
			return false, fmt.Errorf("proto698: uplink: login: %w", ErrNoAnswer)
		case m := <-in:
			if m.err != nil {
				return false, m.err
			}
			r, ok := m.apdu.(*LinkResponse)
			if !ok || r.PIID.Seq() != loginPIID {
				u.log.Debug("proto698: uplink: ignoring frame before login", "service", m.apdu.Service())
				continue
			}
			if !r.Success() {
				return false, fmt.Errorf("proto698: uplink: login refused, result %d: %w", r.Result&7, ErrInvalid)
			}
			loggedIn = true
		}
	}
	u.log.Info("proto698: uplink: logged in", "master", u.cfg.Master, "terminal", u.cfg.Addr, "queued", len(st.pending))

	hb := time.NewTicker(u.cfg.Heartbeat)
	defer hb.Stop()
	unanswered := 0
	resend := time.NewTimer(0)
	<-resend.C
	defer resend.Stop()
	dataResend := time.NewTimer(0)
	<-dataResend.C
	defer dataResend.Stop()
	histResend := time.NewTimer(0)
	<-histResend.C
	defer histResend.Stop()
	inflight := false
	var (
		inflightPIID uint8
		cur          Event // the event in flight
	)
	attempts := 0
	for {
		// Take in what is already enqueued first: a power event goes before
		// any data report, and only the newest snapshot is sent.
		u.drainInputs(st)
		if !inflight && len(st.pending) > 0 {
			inflightPIID = st.nextPIID()
			attempts = 0
			inflight, cur = true, st.pending[0]
			if err := u.sendReport(conn, cur, inflightPIID); err != nil {
				return true, err
			}
			attempts++
			resend.Reset(u.cfg.ResponseTimeout)
		}
		// After any power event, so that one goes first.
		if err := u.sendData(conn, st, dataResend); err != nil {
			return true, err
		}
		// Forwarded records last, once no live traffic is waiting.
		powerWaiting := len(st.pending) > 1 || (len(st.pending) == 1 && !inflight)
		if err := u.sendHistory(conn, st, powerWaiting, histResend); err != nil {
			return true, err
		}
		select {
		case <-ctx.Done():
			_ = u.sendLink(conn, LinkLogout, st.nextPIID()) // best effort
			return true, nil
		case ev := <-u.events:
			st.queueEvent(ev)
		case d := <-u.data:
			u.queueData(&st.data, d)
		case b := <-u.historyIn(st):
			u.takeHistory(st, b)
		case <-st.hist.abandoned():
			u.abandonHistory(st)
			histResend.Stop()
		case <-histResend.C:
			st.hist.historyTimeout()
		case <-dataResend.C:
			if err := u.dataTimeout(conn, st, dataResend); err != nil {
				return true, err
			}
		case <-hb.C:
			if unanswered >= u.cfg.MissedHeartbeats {
				return true, fmt.Errorf("proto698: uplink: %d heartbeats unanswered: %w", unanswered, ErrNoAnswer)
			}
			unanswered++
			if err := u.sendLink(conn, LinkHeartbeat, st.nextPIID()); err != nil {
				return true, err
			}
		case <-resend.C:
			u.log.Info("proto698: uplink: report not confirmed, resending", "event", cur.Key(), "attempt", attempts+1)
			if err := u.sendReport(conn, cur, inflightPIID); err != nil {
				return true, err
			}
			attempts++
			resend.Reset(u.cfg.ResponseTimeout)
		case r := <-replies:
			if err := u.respond(conn, r.ca, r.apdu); err != nil {
				return true, err
			}
		case m := <-in:
			if m.err != nil {
				return true, m.err
			}
			if isMasterRequest(m.apdu) {
				if resp := u.handleRequest(sctx, st, link{conn, tlsAuth}, m, replies, done); resp != nil {
					if err := u.respond(conn, m.ca, resp); err != nil {
						return true, err
					}
				}
				continue
			}
			switch r := m.apdu.(type) {
			case *LinkResponse:
				unanswered = 0
			case *ReportResponseList:
				u.dataConfirmed(st, r, dataResend)
			case *ReportResponseRecordList:
				if !slices.ContainsFunc(r.OADs, isEventObject) {
					u.historyConfirmed(st, r, histResend)
					continue
				}
				if !inflight || r.PIID.Seq() != inflightPIID || !containsOAD(r.OADs, cur.EventRecord(u.cfg.Channel, u.cfg.Location).OAD) {
					u.log.Debug("proto698: uplink: unexpected REPORT-Response", "piid", r.PIID.Seq(), "oads", r.OADs)
					continue
				}
				ev := cur
				st.eventDone(ev.Key())
				inflight, cur = false, nil
				if !resend.Stop() {
					select {
					case <-resend.C:
					default:
					}
				}
				u.log.Info("proto698: uplink: report confirmed", "event", ev.Key(), "attempts", attempts, "queued", len(st.pending))
				if pe, ok := ev.(PowerEvent); ok && u.cfg.OnConfirm != nil {
					u.cfg.OnConfirm(pe)
				}
				if u.cfg.OnEventConfirm != nil {
					u.cfg.OnEventConfirm(ev)
				}
			default:
				u.log.Debug("proto698: uplink: ignoring service", "service", m.apdu.Service())
			}
		}
	}
}

// drainInputs takes the power events, snapshots and history batch
// waiting in the channels without blocking.
func (u *Uplink) drainInputs(st *uplinkState) {
	for {
		select {
		case ev := <-u.events:
			st.queueEvent(ev)
		case d := <-u.data:
			u.queueData(&st.data, d)
		case b := <-u.historyIn(st):
			u.takeHistory(st, b)
		default:
			return
		}
	}
}

func containsOAD(os []OAD, o OAD) bool {
	for _, x := range os {
		if x == o {
			return true
		}
	}
	return false
}

func (u *Uplink) sendLink(conn net.Conn, t LinkType, piid uint8) error {
	secs := max(1, (u.cfg.Heartbeat+time.Second/2)/time.Second)
	return u.write(conn, FuncLink, &LinkRequest{PIID: PIIDACD(piid), Type: t, Heartbeat: uint16(min(secs, 0xFFFF)), Time: NewDateTime(time.Now().In(u.cfg.Location))})
}

// sendReport writes the record of event ev (a power event's is byte for
// byte PowerEventRecord's).
func (u *Uplink) sendReport(conn net.Conn, ev Event, piid uint8) error {
	rec := ev.EventRecord(u.cfg.Channel, u.cfg.Location)
	return u.write(conn, FuncUserData, &ReportNotificationRecordList{PIID: PIIDACD(piid), Records: []ResultRecord{rec}})
}
