package proto698

// REPORT-Notification-List and REPORT-Response-List: the terminal's own
// report of several object attributes and the master's confirmation.
//
// Choice numbers and layout, as DL/T 698.45 defines them and public
// implementations of it enumerate them (REPORT-Notification CHOICE:
// 1 ReportNotificationList, 2 ReportNotificationRecordList,
// 3 ReportNotificationTransData; REPORT-Response CHOICE: 1 ReportResponseList,
// 2 ReportResponseRecordList, 3 ReportResponseTransData — cross-checked
// against hlqqlm/split698 p2_report_notification_list.c and Go and C++
// 698.45 codecs that register 8801/0801):
//
//	ReportNotificationList ::= SEQUENCE {
//	  PIID-ACD, SEQUENCE OF A-ResultNormal }   followed by FollowReport OPTIONAL, TimeTag OPTIONAL
//	ReportResponseList ::= SEQUENCE {
//	  PIID, SEQUENCE OF OAD }                  followed by TimeTag OPTIONAL
//
// A-ResultNormal is OAD + Get-Result (CHOICE 0 DAR, 1 Data), the same
// encoding GET-Response-Normal uses, so an invalid value is choice 1 with
// Data NULL (01 00), never a DAR and never an old value.

// ReportNotificationList is REPORT-Notification-List (88 01): the server
// (terminal) pushes the current values of several object attributes, each
// as Data (Null{} when the value is not valid) or a DAR.
type ReportNotificationList struct {
	PIID    PIIDACD
	Results []ResultNormal
	ServerTrailer
}

// ReportResponseList is REPORT-Response-List (08 01): the client (master
// station) confirms a REPORT-Notification-List, echoing its PIID and the
// OADs it received.
type ReportResponseList struct {
	PIID    PIID
	OADs    []OAD
	TimeTag *TimeTag
}

// Service implements APDU.
func (*ReportNotificationList) Service() string { return "REPORT-Notification-List" }

// Service implements APDU.
func (*ReportResponseList) Service() string { return "REPORT-Response-List" }

func (n *ReportNotificationList) appendTo(d []byte) ([]byte, error) {
	d = appendLength(append(d, TagReportNotification, 1, byte(n.PIID)), len(n.Results))
	var err error
	for i := range n.Results {
		if d, err = n.Results[i].append(d); err != nil {
			return d, err
		}
	}
	return n.ServerTrailer.append(d)
}

func (p *ReportResponseList) appendTo(d []byte) ([]byte, error) {
	d = appendLength(append(d, TagReportResponse, 1, byte(p.PIID)), len(p.OADs))
	for _, o := range p.OADs {
		d, _ = o.appendValue(d)
	}
	return appendOptTimeTag(d, p.TimeTag), nil
}

// minResultNormal is the shortest A-ResultNormal: OAD, choice, and one
// byte of DAR or of Data (NULL).
const minResultNormal = 6

func (r *reader) reportNotificationList() (APDU, error) {
	const f = "REPORT-Notification-List"
	n := &ReportNotificationList{}
	p, err := r.u8(fn(f + ".PIID-ACD"))
	if err != nil {
		return nil, err
	}
	n.PIID = PIIDACD(p)
	cnt, err := r.length(fn(f+".count"), minResultNormal)
	if err != nil {
		return nil, err
	}
	n.Results = make([]ResultNormal, cnt)
	for i := range n.Results {
		if n.Results[i], err = r.resultNormal(fn(f)); err != nil {
			return nil, err
		}
	}
	n.ServerTrailer, err = r.serverTrailer(fn(f))
	return n, err
}

func (r *reader) reportResponseList() (APDU, error) {
	p := &ReportResponseList{}
	var err error
	p.PIID, p.OADs, p.TimeTag, err = r.reportResponse("REPORT-Response-List")
	return p, err
}
