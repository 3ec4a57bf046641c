package proto698

// Data reports (REPORT-Notification-List) at the simulated master station.

// DataReports returns the attribute results of every data report received
// (resends included), in arrival order. The outer slices are copies; the
// Data values must be treated as read-only.
func (m *MasterSim) DataReports() [][]ResultNormal {
	var out [][]ResultNormal
	m.do(func(s *masterState) {
		for _, r := range s.dataReports {
			out = append(out, append([]ResultNormal(nil), r...))
		}
	})
	return out
}

// handleDataReport records a REPORT-Notification-List from a logged-in
// terminal and confirms it with REPORT-Response-List (PIID and OADs
// echoed), unless a fault knob says otherwise. Every copy is recorded: a
// data report is a snapshot, and a front end simply stores the values it
// receives, so a resend needs no deduplication.
func (m *MasterSim) handleDataReport(s *masterState, mc *masterConn, f Frame, a *ReportNotificationList, raw []byte) {
	if !mc.loggedIn || !mc.sa.Equal(f.Addr) {
		s.stats.Unauthorized++
		m.emit(MasterEvent{Kind: MasterUnauthorized, Terminal: f.Addr.String()})
		return
	}
	s.stats.DataReports++
	s.dataReports = append(s.dataReports, a.Results)
	piid := PIID(a.PIID) &^ 0x40
	m.log.Info("proto698: master sim: data report", "terminal", f.Addr, "results", len(a.Results), "piid", piid.Seq())
	m.emit(MasterEvent{Kind: MasterDataReport, Terminal: f.Addr.String(), Results: append([]ResultNormal(nil), a.Results...), PIID: piid, APDU: raw})
	if m.faultOnReport(s, mc, false) {
		return
	}
	oads := make([]OAD, len(a.Results))
	for i, r := range a.Results {
		oads[i] = r.OAD
	}
	m.reply(mc, f, FuncUserData, &ReportResponseList{PIID: piid, OADs: oads})
}

// faultOnReport applies WithholdHistory (to a report that carried
// history, which is stored but never confirmed; it leaves the other knobs
// untouched), DropOnNextReport and WithholdConfirms to a report just
// received; true means it is not to be confirmed.
func (m *MasterSim) faultOnReport(s *masterState, mc *masterConn, history bool) bool {
	if history && s.withholdHistory {
		return true // stored; the confirmation is lost
	}
	if s.dropNextReport {
		s.dropNextReport = false
		mc.c.Close() // confirmation lost with the link
		return true
	}
	if s.withhold > 0 {
		s.withhold--
		return true
	}
	return false
}
