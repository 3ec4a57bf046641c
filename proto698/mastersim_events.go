package proto698

import "fmt"

// Alarm event reports (3109, 310A; see alarmevent.go) at the simulated
// master station.

// MasterAlarm is one alarm event the master received from Terminal.
type MasterAlarm struct {
	Terminal string
	AlarmEvent
}

// masterAlarms is the master's store of alarm events; the zero value is
// empty. Owned by Run (masterState).
type masterAlarms struct {
	list []MasterAlarm
	seen map[string]bool // terminal/object/sequence@start (AlarmEvent.Key)
}

// Alarms returns the distinct alarm events in arrival order (a copy).
func (m *MasterSim) Alarms() []MasterAlarm {
	var out []MasterAlarm
	m.do(func(s *masterState) { out = append(out, s.alarms.list...) })
	return out
}

// parseAlarmRecords parses the alarm event records of a
// REPORT-Notification-RecordList (the other records are skipped). It
// fails for the first bad one: the master stores nothing of such a report
// and does not confirm it.
func (m *MasterSim) parseAlarmRecords(terminal string, recs []ResultRecord) ([]MasterAlarm, error) {
	var out []MasterAlarm
	for i, rec := range recs {
		if !IsAlarmEventObject(rec.OAD) {
			continue
		}
		evs, err := ParseAlarmEvents(rec, m.loc)
		if err != nil {
			return nil, fmt.Errorf("record %d: %w", i, err)
		}
		for _, ev := range evs {
			out = append(out, MasterAlarm{Terminal: terminal, AlarmEvent: ev})
		}
	}
	return out, nil
}

// storeAlarms stores each alarm event not yet seen (by terminal, object,
// sequence number and start time) and counts the others as duplicates, emitting a
// MasterAlarmReport or MasterAlarmDuplicate event for each.
func (m *MasterSim) storeAlarms(s *masterState, alarms []MasterAlarm) {
	if s.alarms.seen == nil {
		s.alarms.seen = map[string]bool{}
	}
	for _, a := range alarms {
		key := a.Terminal + "/" + a.Key()
		if s.alarms.seen[key] {
			s.stats.AlarmDuplicates++
			m.log.Info("proto698: master sim: duplicate alarm event", "terminal", a.Terminal, "event", a.Key())
			m.emit(MasterEvent{Kind: MasterAlarmDuplicate, Terminal: a.Terminal, Alarm: a.AlarmEvent})
			continue
		}
		s.alarms.seen[key] = true
		s.alarms.list = append(s.alarms.list, a)
		s.stats.Alarms++
		m.log.Info("proto698: master sim: alarm event", "terminal", a.Terminal, "event", a.Key(), "code", a.Code, "count", a.Count)
		m.emit(MasterEvent{Kind: MasterAlarmReport, Terminal: a.Terminal, Alarm: a.AlarmEvent})
	}
}
