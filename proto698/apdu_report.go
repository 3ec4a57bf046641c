package proto698

// ReportNotificationRecordList is REPORT-Notification-RecordList (88 02):
// the server pushes record-type data (e.g. event 0x3106 records).
type ReportNotificationRecordList struct {
	PIID    PIIDACD
	Records []ResultRecord
	ServerTrailer
}

// ReportResponseRecordList is REPORT-Response-RecordList (08 02): the
// client confirms the reported OADs, echoing the PIID.
type ReportResponseRecordList struct {
	PIID    PIID
	OADs    []OAD
	TimeTag *TimeTag
}

// Service implements APDU.
func (*ReportNotificationRecordList) Service() string { return "REPORT-Notification-RecordList" }

// Service implements APDU.
func (*ReportResponseRecordList) Service() string { return "REPORT-Response-RecordList" }

func (n *ReportNotificationRecordList) appendTo(d []byte) ([]byte, error) {
	d = appendLength(append(d, TagReportNotification, 2, byte(n.PIID)), len(n.Records))
	var err error
	for i := range n.Records {
		if d, err = n.Records[i].append(d); err != nil {
			return d, err
		}
	}
	return n.ServerTrailer.append(d)
}

func (p *ReportResponseRecordList) appendTo(d []byte) ([]byte, error) {
	d = appendLength(append(d, TagReportResponse, 2, byte(p.PIID)), len(p.OADs))
	for _, o := range p.OADs {
		d, _ = o.appendValue(d)
	}
	return appendOptTimeTag(d, p.TimeTag), nil
}

func (r *reader) reportNotificationRecordList() (APDU, error) {
	const f = "REPORT-Notification-RecordList"
	n := &ReportNotificationRecordList{}
	p, err := r.u8(fn(f + ".PIID-ACD"))
	if err != nil {
		return nil, err
	}
	n.PIID = PIIDACD(p)
	cnt, err := r.length(fn(f+".count"), 6)
	if err != nil {
		return nil, err
	}
	n.Records = make([]ResultRecord, cnt)
	for i := range n.Records {
		if n.Records[i], err = r.resultRecord(fn(f)); err != nil {
			return nil, err
		}
	}
	n.ServerTrailer, err = r.serverTrailer(fn(f))
	return n, err
}

func (r *reader) reportResponseRecordList() (APDU, error) {
	p := &ReportResponseRecordList{}
	var err error
	p.PIID, p.OADs, p.TimeTag, err = r.reportResponse("REPORT-Response-RecordList")
	return p, err
}

// reportResponse reads the body the REPORT-Response services share: PIID,
// SEQUENCE OF OAD (the confirmed attributes) and an optional time tag.
func (r *reader) reportResponse(f string) (PIID, []OAD, *TimeTag, error) {
	v, err := r.u8(fn(f + ".PIID"))
	if err != nil {
		return 0, nil, nil, err
	}
	cnt, err := r.length(fn(f+".count"), 4)
	if err != nil {
		return 0, nil, nil, err
	}
	oads := make([]OAD, cnt)
	for i := range oads {
		if oads[i], err = r.oad(fn(f + ".OAD")); err != nil {
			return 0, nil, nil, err
		}
	}
	tt, err := r.optTimeTag(fn(f))
	return PIID(v), oads, tt, err
}
