package daemon

// The status socket `holdup status` asks: a unix socket, owner only, on
// which the daemon writes one JSON object (StatusReport) to each client
// and closes. Read-only: nothing a client sends is read. The figures come
// from the console's view (consoleState), not from a second copy of its
// logic.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"holdup/hooks"
	"holdup/power"
)

// alarmStatusSocket: the status socket could not be served (another
// holdup answers on it, or its directory is not writable). Protection
// runs on without it.
const alarmStatusSocket power.AlarmCode = "status-socket"

// Limits of the status socket: each answer within statusDeadline, at most
// statusConns at once (further clients wait to be accepted).
const (
	statusDeadline = 2 * time.Second
	statusConns    = 4
)

// StatusReport is what the status socket answers: the console's status
// summary, devices and alarms as one JSON object.
type StatusReport struct {
	Power         string    `json:"power"`           // lifecycle state: normal, confirming, outage …
	Since         time.Time `json:"since"`           // when Power was entered
	MainsV        []float64 `json:"mains_v"`         // phase voltages, V; empty when unknown
	SupercapV     float64   `json:"supercap_v"`      // hold-up capacitor voltage, V; 0 when not measured
	HoldupLeftS   float64   `json:"holdup_left_s"`   // estimated hold-up remaining, s
	HoldupBudgetS float64   `json:"holdup_budget_s"` // configured hold-up budget, s
	// Start says what start-up still holds back: collection until the
	// supercap has charged (power.min_start_charge); absent when nothing.
	Start string `json:"start,omitempty"`
	// OutageOpen says an outage is being protected (the monitor's
	// outage state); OutageSince is when it began and OutageKind
	// "confirmed" (the phase voltages confirmed the loss) or "unconfirmed".
	OutageOpen     bool      `json:"outage_open"`
	OutageSince    time.Time `json:"outage_since,omitzero"`
	OutageKind     string    `json:"outage_kind,omitempty"`
	JournalUsed    int       `json:"journal_used"`    // bytes
	JournalSize    int       `json:"journal_size"`    // bytes (capacity)
	JournalRecords int       `json:"journal_records"` // records held
	// JournalCapacityRecords is how many records of the configuration's
	// outage workload an empty journal holds (as holdup check-config
	// prints); JournalEstimateS how many seconds of that workload still
	// fit beside the records held, absent when nothing is collected
	// during an outage.
	JournalCapacityRecords int      `json:"journal_capacity_records"`
	JournalEstimateS       *float64 `json:"journal_estimate_s,omitempty"`
	DataStore              string   `json:"data_store"` // "open" or "unavailable"
	// HistoryPending and HistoryDelivered count outage records waiting
	// for / confirmed by the master station; absent without an outbox.
	HistoryPending   *int `json:"history_pending,omitempty"`
	HistoryDelivered *int `json:"history_delivered,omitempty"`
	// AlarmReportsPending counts alarms stored as DL/T 698.45 event
	// reports and not yet confirmed by the master station; absent without
	// an uplink.
	AlarmReportsPending *int           `json:"alarm_reports_pending,omitempty"`
	Devices             []StatusDevice `json:"devices"`
	Alarms              []string       `json:"alarms"` // most recent alarms, oldest first, one line each
	// Hooks counts the events told to the terminal's other apps and
	// each sink's deliveries, failures and drops; absent without [hooks].
	Hooks *hooks.Stats `json:"hooks,omitempty"`
}

// StatusDevice is one configured device in a StatusReport.
type StatusDevice struct {
	Name  string `json:"name"`
	State string `json:"state"` // ok, closed, silent, gated
	Gated bool   `json:"gated"` // shed by power gating right now
}

// statusReport gathers a StatusReport from the console's view.
func (d *Daemon) statusReport(ctx context.Context) (StatusReport, error) {
	cs := consoleState{d}
	st, err := cs.Status(ctx)
	if err != nil {
		return StatusReport{}, err
	}
	r := StatusReport{Power: st.Power, Since: st.Since, MainsV: st.MainsV, SupercapV: st.SupercapV,
		HoldupLeftS: st.HoldupLeft.Seconds(), HoldupBudgetS: st.HoldupBudget.Seconds(), Start: st.Start,
		JournalUsed: st.JournalUsed, JournalSize: st.JournalSize, JournalRecords: st.JournalRecords,
		JournalCapacityRecords: st.JournalCapacityRecords, JournalEstimateS: st.JournalEstimateS,
		DataStore: "unavailable", Devices: []StatusDevice{}, Alarms: st.Alarms}
	if r.MainsV == nil {
		r.MainsV = []float64{}
	}
	if r.Alarms == nil {
		r.Alarms = []string{}
	}
	if st.HistoryKnown {
		p, dl := st.HistoryPending, st.HistoryDelivered
		r.HistoryPending, r.HistoryDelivered = &p, &dl
	}
	if st.AlarmReportsPending >= 0 {
		n := st.AlarmReportsPending
		r.AlarmReportsPending = &n
	}
	if d.store() != nil {
		r.DataStore = "open"
	}
	r.Hooks = d.hookStats()
	// The monitor knows the outage it protects: no journal read (the
	// EEPROM writer's time belongs to the outage's records).
	if ms, err := d.mon.Stats(ctx); err == nil && !ms.Outage.At.IsZero() {
		r.OutageOpen, r.OutageSince, r.OutageKind = true, ms.Outage.At, "unconfirmed"
		if ms.Outage.Confirmed {
			r.OutageKind = "confirmed"
		}
	}
	devs, err := cs.Devices(ctx)
	if err != nil {
		return StatusReport{}, err
	}
	for _, dv := range devs {
		r.Devices = append(r.Devices, StatusDevice{Name: dv.Name, State: dv.State, Gated: dv.Gated})
	}
	return r, nil
}

// serveStatus answers on the status socket until ctx ends, then closes
// and removes it. A socket it cannot serve is an alarm, not a reason to
// stop: it returns nil then.
func (d *Daemon) serveStatus(ctx context.Context) error {
	path := d.cfg.StatusSocket()
	ln, err := listenStatus(path)
	if err != nil {
		d.log.Error("status socket unavailable", "alarm", alarmStatusSocket, "err", err)
		d.alarms.Raise(power.Alarm{Code: alarmStatusSocket, Err: err, At: time.Now()})
		return nil
	}
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	defer ln.Close() // removes the socket file
	var wg sync.WaitGroup
	defer wg.Wait()
	slots := make(chan struct{}, statusConns)
	for {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return nil
		}
		c, err := ln.Accept()
		if err != nil {
			<-slots
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			// Out of descriptors, say: wait and go on.
			d.log.Warn("status socket accept failed", "socket", path, "err", err)
			select {
			case <-time.After(100 * time.Millisecond):
			case <-ctx.Done():
				return nil
			}
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			d.answerStatus(ctx, c)
		}()
	}
}

// answerStatus writes one StatusReport to c, within statusDeadline, and
// closes it.
func (d *Daemon) answerStatus(ctx context.Context, c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(statusDeadline))
	ctx, cancel := context.WithTimeout(ctx, statusDeadline)
	defer cancel()
	r, err := d.statusReport(ctx)
	if err != nil {
		d.log.Warn("status report failed", "err", err)
		return // the client reads an empty answer and says so
	}
	if err := json.NewEncoder(c).Encode(r); err != nil {
		d.log.Debug("status answer not delivered", "err", err)
	}
}

// listenStatus binds the status socket at path: its directory is created
// 0700 when missing, a stale socket file (nobody answers on it) is
// replaced, and the socket is made owner only (0600). A live socket
// (another holdup answers) or a file that is not a socket is an error.
func listenStatus(path string) (*net.UnixListener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("daemon: status socket %s: %w", path, err)
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("daemon: status socket %s: the file there is not a socket (mode %v); not replacing it", path, fi.Mode())
		}
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("daemon: status socket %s: another holdup answers on it; `holdup status` reaches that one", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("daemon: status socket %s: removing the stale socket: %w", path, err)
		}
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("daemon: status socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("daemon: status socket %s: %w", path, err)
	}
	return ln, nil
}
