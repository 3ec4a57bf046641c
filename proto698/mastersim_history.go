package proto698

import (
	"fmt"
	"time"
)

// Forwarded records (history batches, see history.go) at the simulated
// master station.

// MasterHistoryRow is one forwarded record the master received: the
// terminal's SA, the point's OAD, the terminal's forwarding number, the
// record's original time and its value.
type MasterHistoryRow struct {
	Terminal string
	OAD      OAD
	No       uint32
	Time     time.Time
	Value    Data
}

// historyKey identifies a forwarded record: a resend carries the same key.
type historyKey struct {
	terminal string
	oad      OAD
	no       uint32
	ms       int64 // original time, Unix milliseconds
}

// WithholdHistoryConfirms makes the master store every history report it
// receives but confirm none (withhold true) until called with false: a
// front end whose confirmations are lost, for history reports only (power
// events and data reports are confirmed as usual).
func (m *MasterSim) WithholdHistoryConfirms(withhold bool) {
	m.do(func(s *masterState) { s.withholdHistory = withhold })
}

// History returns the distinct forwarded records in arrival order. The
// slice is a copy; the Values must be treated as read-only.
func (m *MasterSim) History() []MasterHistoryRow {
	var out []MasterHistoryRow
	m.do(func(s *masterState) { out = append(out, s.history...) })
	return out
}

// parseHistoryRecords parses the records of a REPORT-Notification-RecordList
// that are not event records (3106 power events, 3109/310A alarm events). It fails for the first bad one: the
// master stores nothing of such a batch and does not confirm it.
func (m *MasterSim) parseHistoryRecords(terminal string, recs []ResultRecord) ([]MasterHistoryRow, error) {
	var rows []MasterHistoryRow
	for i, rec := range recs {
		if isEventObject(rec.OAD) {
			continue // power and alarm events
		}
		hr, err := ParseHistory(rec, m.loc)
		if err != nil {
			return nil, fmt.Errorf("record %d: %w", i, err)
		}
		for _, r := range hr {
			rows = append(rows, MasterHistoryRow{Terminal: terminal, OAD: rec.OAD, No: r.No, Time: r.Time, Value: r.Value})
		}
	}
	return rows, nil
}

// storeHistory stores each row not yet seen (by terminal, OAD, No and
// time) and counts the others as duplicates, emitting one MasterHistory
// event with the new rows and one MasterHistoryDuplicate with the
// duplicates (each only if there are any).
func (m *MasterSim) storeHistory(s *masterState, terminal string, piid PIID, rows []MasterHistoryRow) {
	var fresh, dup []MasterHistoryRow
	for _, r := range rows {
		k := historyKey{terminal: terminal, oad: r.OAD, no: r.No, ms: r.Time.UnixMilli()}
		if s.historySeen[k] {
			dup = append(dup, r)
			continue
		}
		s.historySeen[k] = true
		fresh = append(fresh, r)
	}
	s.history = append(s.history, fresh...)
	s.stats.History += len(fresh)
	s.stats.HistoryDuplicates += len(dup)
	if len(fresh) > 0 {
		m.log.Info("proto698: master sim: history", "terminal", terminal, "rows", len(fresh), "piid", piid.Seq())
		m.emit(MasterEvent{Kind: MasterHistory, Terminal: terminal, History: fresh, PIID: piid})
	}
	if len(dup) > 0 {
		m.log.Info("proto698: master sim: duplicate history", "terminal", terminal, "rows", len(dup), "piid", piid.Seq())
		m.emit(MasterEvent{Kind: MasterHistoryDuplicate, Terminal: terminal, History: dup, PIID: piid})
	}
}
