package power

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"
)

// calls is the shared, ordered log of every call the monitor makes into
// its dependencies, so tests can assert the order across fakes.
type calls struct {
	mu  sync.Mutex
	log []string
}

func (c *calls) add(format string, a ...any) {
	c.mu.Lock()
	c.log = append(c.log, fmt.Sprintf(format, a...))
	c.mu.Unlock()
}

func (c *calls) all() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.log...)
}

func (c *calls) count(name string) int {
	n := 0
	for _, s := range c.all() {
		if s == name {
			n++
		}
	}
	return n
}

// fakeGate models the scheduler's power gate: it refuses to be gated twice
// or un-gated when open (the monitor must not do that) and counts misuse.
type fakeGate struct {
	c      *calls
	mu     sync.Mutex
	gated  bool
	misuse int
	at     time.Time // real time of the last GateMainsOnly, for the benchmark
	none   bool      // no device is mains-only or high-draw: GateMainsOnly returns 0
}

func (g *fakeGate) GateMainsOnly() int {
	g.mu.Lock()
	if g.gated {
		g.misuse++
	}
	g.gated = true
	g.at = time.Now()
	g.mu.Unlock()
	if g.c != nil {
		g.c.add("gate")
	}
	if g.none {
		return 0
	}
	return 2
}

func (g *fakeGate) Ungate() {
	g.mu.Lock()
	if !g.gated {
		g.misuse++
	}
	g.gated = false
	g.mu.Unlock()
	if g.c != nil {
		g.c.add("ungate")
	}
}

func (g *fakeGate) state() (gated bool, misuse int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.gated, g.misuse
}

// fakeJournal models the lifecycle records of the EEPROM journal: an
// ordered list of begin and end records; OpenOutage is derived from it the
// way the store derives it from the EEPROM image.
type fakeJournal struct {
	c       *calls
	mu      sync.Mutex
	begins  []OutageBegin
	ends    []OutageEnd
	failAll error // every call fails with it
}

func (j *fakeJournal) AppendOutageBegin(ctx context.Context, b OutageBegin) error {
	j.c.add("journal.begin")
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.failAll != nil {
		return j.failAll
	}
	j.begins = append(j.begins, b)
	return nil
}

func (j *fakeJournal) AppendOutageEnd(ctx context.Context, e OutageEnd) error {
	j.c.add("journal.end")
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.failAll != nil {
		return j.failAll
	}
	for _, b := range j.begins {
		if b.At.Equal(e.Begin) {
			j.ends = append(j.ends, e)
			return nil
		}
	}
	return fmt.Errorf("fake journal: end for unknown begin %v", e.Begin)
}

func (j *fakeJournal) OpenOutage(ctx context.Context) (OutageBegin, bool, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.failAll != nil {
		return OutageBegin{}, false, j.failAll
	}
	if len(j.begins) == 0 {
		return OutageBegin{}, false, nil
	}
	last := j.begins[len(j.begins)-1]
	for _, e := range j.ends {
		if e.Begin.Equal(last.At) {
			return OutageBegin{}, false, nil
		}
	}
	return last, true, nil
}

func (j *fakeJournal) snapshot() ([]OutageBegin, []OutageEnd) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]OutageBegin(nil), j.begins...), append([]OutageEnd(nil), j.ends...)
}

type uplinkReport struct {
	restore    bool
	begin, end time.Time
}

type fakeUplink struct {
	c       *calls
	mu      sync.Mutex
	reports []uplinkReport
	fail    error
}

func (u *fakeUplink) ReportOutage(begin time.Time) error {
	u.c.add("uplink.outage")
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.fail != nil {
		return u.fail
	}
	u.reports = append(u.reports, uplinkReport{begin: begin})
	return nil
}

func (u *fakeUplink) ReportRestore(begin, end time.Time) error {
	u.c.add("uplink.restore")
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.fail != nil {
		return u.fail
	}
	u.reports = append(u.reports, uplinkReport{restore: true, begin: begin, end: end})
	return nil
}

func (u *fakeUplink) snapshot() []uplinkReport {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]uplinkReport(nil), u.reports...)
}

// fakeModules has three exposed points, none when none is set.
type fakeModules struct {
	c    *calls
	none bool
}

func (f *fakeModules) SetInvalid(invalid bool) int {
	f.c.add("modules.invalid=%v", invalid)
	if f.none {
		return 0
	}
	return 3
}

// fakeReinit re-initialises named interfaces; fail makes one fail.
type fakeReinit struct {
	c     *calls
	names []string
	fail  map[string]error
}

func (f *fakeReinit) Reinit(ctx context.Context) []ReinitResult {
	f.c.add("reinit")
	var out []ReinitResult
	for _, n := range f.names {
		out = append(out, ReinitResult{Interface: n, Err: f.fail[n]})
	}
	return out
}

type fakeResumer struct{ c *calls }

func (f *fakeResumer) Resume(ctx context.Context) error { f.c.add("resume"); return nil }

// journalRec is a critical-data record in the fake journal.
type journalRec struct {
	id  int
	bad bool // fails the second verification
}

// fakeRecoverer models the store's replay: the journal is a queue of
// records; Replay takes batches, checks ctx between batches (the safe
// points), verifies each record (bad → kept aside), imports the good ones
// into the data store keyed by id (already there → duplicate) and consumes
// the batch only after it is fully imported. hold makes Replay wait before
// the given batch until release is closed or ctx is cancelled.
type fakeRecoverer struct {
	c       *calls
	mu      sync.Mutex
	journal []journalRec
	store   map[int]int // id → import count
	aside   []int
	batch   int
	holdAt  int // batch index to hold before (-1: none)
	release chan struct{}
	held    chan struct{} // closed when Replay reaches the hold
	failErr error
}

func newFakeRecoverer(c *calls) *fakeRecoverer {
	return &fakeRecoverer{c: c, store: map[int]int{}, batch: 10, holdAt: -1}
}

func (r *fakeRecoverer) journalAdd(ids ...int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, id := range ids {
		r.journal = append(r.journal, journalRec{id: id})
	}
}

func (r *fakeRecoverer) holdBefore(batch int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.holdAt, r.release, r.held = batch, make(chan struct{}), make(chan struct{})
}

func (r *fakeRecoverer) Pending(ctx context.Context) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.journal), r.failErr
}

func (r *fakeRecoverer) Replay(ctx context.Context) (ReplayResult, error) {
	r.c.add("replay")
	var res ReplayResult
	for b := 0; ; b++ {
		r.mu.Lock()
		if r.failErr != nil {
			r.mu.Unlock()
			return res, r.failErr
		}
		if len(r.journal) == 0 {
			r.mu.Unlock()
			return res, nil
		}
		hold := b == r.holdAt
		release, held := r.release, r.held
		r.mu.Unlock()
		if hold {
			r.mu.Lock()
			r.holdAt = -1
			r.mu.Unlock()
			close(held)
			select {
			case <-release:
			case <-ctx.Done():
			}
		}
		if err := ctx.Err(); err != nil {
			return res, fmt.Errorf("fake replay: stopped before batch %d: %w", b, err)
		}
		r.mu.Lock()
		n := min(r.batch, len(r.journal))
		for _, rec := range r.journal[:n] {
			switch {
			case rec.bad:
				r.aside = append(r.aside, rec.id)
				res.Rejected++
			case r.store[rec.id] > 0:
				res.Duplicate++
			default:
				r.store[rec.id]++
				res.Replayed++
			}
		}
		r.journal = r.journal[n:] // consume only what was imported or set aside
		r.mu.Unlock()
	}
}

// exactlyOnce checks that ids 1..n are each in the store once and the
// journal is empty.
func (r *fakeRecoverer) exactlyOnce(n int) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.journal) != 0 {
		return fmt.Errorf("journal still holds %d records", len(r.journal))
	}
	for id := 1; id <= n; id++ {
		if r.store[id] != 1 {
			return fmt.Errorf("record %d imported %d times", id, r.store[id])
		}
	}
	if len(r.store) != n {
		return fmt.Errorf("store holds %d records, want %d", len(r.store), n)
	}
	return nil
}

type fakeOutageLog struct {
	c       *calls
	mu      sync.Mutex
	records []OutageRecord
}

// Record keeps one entry per outage, keyed by its begin time, as the data
// store does: writing an outage again replaces its entry.
func (l *fakeOutageLog) Record(ctx context.Context, r OutageRecord) error {
	l.c.add("outagelog")
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := range l.records {
		if l.records[i].Begin.Equal(r.Begin) {
			l.records[i] = r
			return nil
		}
	}
	l.records = append(l.records, r)
	return nil
}

func (l *fakeOutageLog) snapshot() []OutageRecord {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]OutageRecord(nil), l.records...)
}

// fakeVoltmeter answers with the voltages the test sets, as an AC-sampling
// unit on the mains would; block makes it hang until its ctx is cancelled
// (unit unreachable), garbage makes it answer nonsense.
type fakeVoltmeter struct {
	mu        sync.Mutex
	volts     [3]float64
	block     bool
	calls     int
	cancelled int
	waiting   int // reads blocked until cancelled
}

func (v *fakeVoltmeter) set(a, b, c float64) {
	v.mu.Lock()
	v.volts = [3]float64{a, b, c}
	v.mu.Unlock()
}

func (v *fakeVoltmeter) setBlock(b bool) {
	v.mu.Lock()
	v.block = b
	v.mu.Unlock()
}

func (v *fakeVoltmeter) ReadVoltages(ctx context.Context) ([3]float64, error) {
	v.mu.Lock()
	v.calls++
	block, volts := v.block, v.volts
	v.mu.Unlock()
	if block {
		v.mu.Lock()
		v.waiting++
		v.mu.Unlock()
		<-ctx.Done()
		v.mu.Lock()
		v.waiting--
		v.cancelled++
		v.mu.Unlock()
		return [3]float64{}, fmt.Errorf("fake voltmeter: %w", ctx.Err())
	}
	return volts, nil
}

// blocking reports whether a reading would not answer on its own: the
// fake is set to block, or a reading is blocked waiting for cancellation.
func (v *fakeVoltmeter) blocking() bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.block || v.waiting > 0
}

func (v *fakeVoltmeter) stats() (calls, cancelled int) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.calls, v.cancelled
}

type fakeAlarms struct {
	mu     sync.Mutex
	alarms []Alarm
}

func (a *fakeAlarms) Raise(al Alarm) {
	a.mu.Lock()
	a.alarms = append(a.alarms, al)
	a.mu.Unlock()
}

func (a *fakeAlarms) codes() []AlarmCode {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []AlarmCode
	for _, x := range a.alarms {
		out = append(out, x.Code)
	}
	return out
}

func (a *fakeAlarms) find(code AlarmCode) (Alarm, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, x := range a.alarms {
		if x.Code == code {
			return x, true
		}
	}
	return Alarm{}, false
}

type fakeFlusher struct {
	c    *calls
	mu   sync.Mutex
	left []time.Duration
}

func (f *fakeFlusher) FinalFlush(ctx context.Context, left time.Duration) error {
	f.c.add("flush")
	f.mu.Lock()
	f.left = append(f.left, left)
	f.mu.Unlock()
	return nil
}

func (f *fakeFlusher) snapshot() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Duration(nil), f.left...)
}

// supercapModel discharges C farads from v0 at constant power p, by the
// fake clock: V(t)² = v0² − 2pt/C after the loss.
type supercapModel struct {
	clk       *FakeClock
	mu        sync.Mutex
	since     time.Time
	on        bool
	c, p, v0  float64
	failAfter int // readings before it starts failing (0: never)
	reads     int
}

func (s *supercapModel) startDischarge() {
	s.mu.Lock()
	s.on, s.since = true, s.clk.Now()
	s.mu.Unlock()
}

func (s *supercapModel) read() (float64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reads++
	if s.failAfter > 0 && s.reads > s.failAfter {
		return 0, errors.New("fake adc: i2c nak")
	}
	if !s.on {
		return s.v0, nil
	}
	t := s.clk.Now().Sub(s.since).Seconds()
	return math.Sqrt(math.Max(0, s.v0*s.v0-2*s.p*t/s.c)), nil
}
