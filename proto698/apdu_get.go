package proto698

// GetRequestNormal reads one attribute (GET-Request-Normal, 05 01).
type GetRequestNormal struct {
	PIID    PIID
	OAD     OAD
	TimeTag *TimeTag
}

// GetRequestNormalList reads several attributes (GET-Request-NormalList, 05 02).
type GetRequestNormalList struct {
	PIID    PIID
	OADs    []OAD
	TimeTag *TimeTag
}

// GetResponseNormal answers GET-Request-Normal (85 01).
type GetResponseNormal struct {
	PIID   PIIDACD
	Result ResultNormal
	ServerTrailer
}

// GetResponseNormalList answers GET-Request-NormalList (85 02).
type GetResponseNormalList struct {
	PIID    PIIDACD
	Results []ResultNormal
	ServerTrailer
}

// SetRequestNormal writes one attribute (SET-Request-Normal, 06 01).
type SetRequestNormal struct {
	PIID    PIID
	OAD     OAD
	Value   Data
	TimeTag *TimeTag
}

// SetResponseNormal answers SET-Request-Normal (86 01).
type SetResponseNormal struct {
	PIID PIIDACD
	OAD  OAD
	DAR  DAR
	ServerTrailer
}

// ActionRequestNormal invokes one method (ACTION-Request-Normal, 07 01).
type ActionRequestNormal struct {
	PIID    PIID
	OMD     OMD
	Param   Data
	TimeTag *TimeTag
}

// ActionResponseNormal answers ACTION-Request-Normal (87 01): the method,
// its result and optional return data (nil when absent).
type ActionResponseNormal struct {
	PIID   PIIDACD
	OMD    OMD
	DAR    DAR
	Return Data
	ServerTrailer
}

// Service implementations.
func (*GetRequestNormal) Service() string      { return "GET-Request-Normal" }
func (*GetRequestNormalList) Service() string  { return "GET-Request-NormalList" }
func (*GetResponseNormal) Service() string     { return "GET-Response-Normal" }
func (*GetResponseNormalList) Service() string { return "GET-Response-NormalList" }
func (*SetRequestNormal) Service() string      { return "SET-Request-Normal" }
func (*SetResponseNormal) Service() string     { return "SET-Response-Normal" }
func (*ActionRequestNormal) Service() string   { return "ACTION-Request-Normal" }
func (*ActionResponseNormal) Service() string  { return "ACTION-Response-Normal" }

func (g *GetRequestNormal) appendTo(d []byte) ([]byte, error) {
	d, _ = g.OAD.appendValue(append(d, TagGetRequest, 1, byte(g.PIID)))
	return appendOptTimeTag(d, g.TimeTag), nil
}

func (g *GetRequestNormalList) appendTo(d []byte) ([]byte, error) {
	d = appendLength(append(d, TagGetRequest, 2, byte(g.PIID)), len(g.OADs))
	for _, o := range g.OADs {
		d, _ = o.appendValue(d)
	}
	return appendOptTimeTag(d, g.TimeTag), nil
}

func (g *GetResponseNormal) appendTo(d []byte) ([]byte, error) {
	d, err := g.Result.append(append(d, TagGetResponse, 1, byte(g.PIID)))
	if err != nil {
		return d, err
	}
	return g.ServerTrailer.append(d)
}

func (g *GetResponseNormalList) appendTo(d []byte) ([]byte, error) {
	d = appendLength(append(d, TagGetResponse, 2, byte(g.PIID)), len(g.Results))
	var err error
	for i := range g.Results {
		if d, err = g.Results[i].append(d); err != nil {
			return d, err
		}
	}
	return g.ServerTrailer.append(d)
}

func (s *SetRequestNormal) appendTo(d []byte) ([]byte, error) {
	d, _ = s.OAD.appendValue(append(d, TagSetRequest, 1, byte(s.PIID)))
	d, err := AppendData(d, s.Value)
	if err != nil {
		return d, err
	}
	return appendOptTimeTag(d, s.TimeTag), nil
}

func (s *SetResponseNormal) appendTo(d []byte) ([]byte, error) {
	d, _ = s.OAD.appendValue(append(d, TagSetResponse, 1, byte(s.PIID)))
	return s.ServerTrailer.append(append(d, byte(s.DAR)))
}

func (a *ActionRequestNormal) appendTo(d []byte) ([]byte, error) {
	d, _ = a.OMD.appendValue(append(d, TagActionRequest, 1, byte(a.PIID)))
	d, err := AppendData(d, a.Param)
	if err != nil {
		return d, err
	}
	return appendOptTimeTag(d, a.TimeTag), nil
}

func (a *ActionResponseNormal) appendTo(d []byte) ([]byte, error) {
	d, _ = a.OMD.appendValue(append(d, TagActionResponse, 1, byte(a.PIID)))
	d = append(d, byte(a.DAR))
	if a.Return == nil {
		d = append(d, 0)
	} else {
		var err error
		if d, err = AppendData(append(d, 1), a.Return); err != nil {
			return d, err
		}
	}
	return a.ServerTrailer.append(d)
}

func (r *reader) getRequestNormal() (APDU, error) {
	const f = "GET-Request-Normal"
	g := &GetRequestNormal{}
	p, err := r.u8(fn(f + ".PIID"))
	if err != nil {
		return nil, err
	}
	g.PIID = PIID(p)
	if g.OAD, err = r.oad(fn(f + ".OAD")); err != nil {
		return nil, err
	}
	g.TimeTag, err = r.optTimeTag(fn(f))
	return g, err
}

func (r *reader) getRequestNormalList() (APDU, error) {
	const f = "GET-Request-NormalList"
	g := &GetRequestNormalList{}
	p, err := r.u8(fn(f + ".PIID"))
	if err != nil {
		return nil, err
	}
	g.PIID = PIID(p)
	n, err := r.length(fn(f+".count"), 4)
	if err != nil {
		return nil, err
	}
	g.OADs = make([]OAD, n)
	for i := range g.OADs {
		if g.OADs[i], err = r.oad(fn(f + ".OAD")); err != nil {
			return nil, err
		}
	}
	g.TimeTag, err = r.optTimeTag(fn(f))
	return g, err
}

func (r *reader) getResponseNormal() (APDU, error) {
	const f = "GET-Response-Normal"
	g := &GetResponseNormal{}
	p, err := r.u8(fn(f + ".PIID-ACD"))
	if err != nil {
		return nil, err
	}
	g.PIID = PIIDACD(p)
	if g.Result, err = r.resultNormal(fn(f)); err != nil {
		return nil, err
	}
	g.ServerTrailer, err = r.serverTrailer(fn(f))
	return g, err
}

func (r *reader) getResponseNormalList() (APDU, error) {
	const f = "GET-Response-NormalList"
	g := &GetResponseNormalList{}
	p, err := r.u8(fn(f + ".PIID-ACD"))
	if err != nil {
		return nil, err
	}
	g.PIID = PIIDACD(p)
	n, err := r.length(fn(f+".count"), 6)
	if err != nil {
		return nil, err
	}
	g.Results = make([]ResultNormal, n)
	for i := range g.Results {
		if g.Results[i], err = r.resultNormal(fn(f)); err != nil {
			return nil, err
		}
	}
	g.ServerTrailer, err = r.serverTrailer(fn(f))
	return g, err
}

func (r *reader) setRequestNormal() (APDU, error) {
	const f = "SET-Request-Normal"
	s := &SetRequestNormal{}
	p, err := r.u8(fn(f + ".PIID"))
	if err != nil {
		return nil, err
	}
	s.PIID = PIID(p)
	if s.OAD, err = r.oad(fn(f + ".OAD")); err != nil {
		return nil, err
	}
	if s.Value, err = r.data(fn(f + ".Data")); err != nil {
		return nil, err
	}
	s.TimeTag, err = r.optTimeTag(fn(f))
	return s, err
}

func (r *reader) setResponseNormal() (APDU, error) {
	const f = "SET-Response-Normal"
	s := &SetResponseNormal{}
	p, err := r.u8(fn(f + ".PIID-ACD"))
	if err != nil {
		return nil, err
	}
	s.PIID = PIIDACD(p)
	if s.OAD, err = r.oad(fn(f + ".OAD")); err != nil {
		return nil, err
	}
	dar, err := r.u8(fn(f + ".DAR"))
	if err != nil {
		return nil, err
	}
	s.DAR = DAR(dar)
	s.ServerTrailer, err = r.serverTrailer(fn(f))
	return s, err
}

func (r *reader) actionRequestNormal() (APDU, error) {
	const f = "ACTION-Request-Normal"
	a := &ActionRequestNormal{}
	p, err := r.u8(fn(f + ".PIID"))
	if err != nil {
		return nil, err
	}
	a.PIID = PIID(p)
	if a.OMD, err = r.omd(fn(f + ".OMD")); err != nil {
		return nil, err
	}
	if a.Param, err = r.data(fn(f + ".Data")); err != nil {
		return nil, err
	}
	a.TimeTag, err = r.optTimeTag(fn(f))
	return a, err
}

func (r *reader) actionResponseNormal() (APDU, error) {
	const f = "ACTION-Response-Normal"
	a := &ActionResponseNormal{}
	p, err := r.u8(fn(f + ".PIID-ACD"))
	if err != nil {
		return nil, err
	}
	a.PIID = PIIDACD(p)
	if a.OMD, err = r.omd(fn(f + ".OMD")); err != nil {
		return nil, err
	}
	dar, err := r.u8(fn(f + ".DAR"))
	if err != nil {
		return nil, err
	}
	a.DAR = DAR(dar)
	has, err := r.optional(fn(f + ".return data"))
	if err != nil {
		return nil, err
	}
	if has {
		if a.Return, err = r.data(fn(f + ".return data")); err != nil {
			return nil, err
		}
	}
	a.ServerTrailer, err = r.serverTrailer(fn(f))
	return a, err
}
