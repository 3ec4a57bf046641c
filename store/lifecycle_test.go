package store

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"holdup/eeprom"
)

// TestOutageEventNumbering: the 3106 event number of an outage is the
// journal sequence of its begin record, known from the moment the append
// returns, and the span covers the records journaled in between.
func TestOutageEventNumbering(t *testing.T) {
	ctx := context.Background()
	_, chip := simChip(t, "at24c64", eeprom.TornRandom, 1)
	j, err := Open(chip, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	begin := t0.Add(123456) // sub-millisecond part: numbers key at the journal's resolution
	if n := j.OutageEventNumber(begin); n != uint32(begin.Unix()) {
		t.Fatalf("before the begin record: number %d, want the time fallback %d", n, uint32(begin.Unix()))
	}
	j.Append(ctx, typicalRecord(0))
	b, err := j.Append(ctx, OutageBeginRecord(begin, true, [3]float64{12, 11, 13}))
	if err != nil {
		t.Fatal(err)
	}
	if n := j.OutageEventNumber(begin); n != uint32(b) {
		t.Fatalf("number %d, want the begin record's sequence %d", n, b)
	}
	if n := j.OutageEventNumber(begin.Truncate(time.Millisecond)); n != uint32(b) {
		t.Fatalf("the same millisecond: number %d, want %d", n, b)
	}
	if _, _, ok := j.OutageSpan(begin); ok {
		t.Fatal("span known before the end record")
	}
	for i := 1; i <= 4; i++ {
		j.Append(ctx, typicalRecord(i))
	}
	e, err := j.Append(ctx, OutageEndRecord(begin, begin.Add(time.Minute), false, true))
	if err != nil {
		t.Fatal(err)
	}
	if from, to, ok := j.OutageSpan(begin); !ok || from != b || to != e {
		t.Fatalf("span %d..%d %v, want %d..%d", from, to, ok, b, e)
	}
	if n := j.OutageEventNumber(begin); n != uint32(b) {
		t.Fatalf("after the end record: number %d, want %d", n, b)
	}
	// Another outage has its own number; the first keeps its own.
	begin2 := begin.Add(time.Hour)
	b2, _ := j.Append(ctx, OutageBeginRecord(begin2, false, [3]float64{}))
	if n, n1 := j.OutageEventNumber(begin2), j.OutageEventNumber(begin); n != uint32(b2) || n1 != uint32(b) {
		t.Fatalf("numbers %d and %d, want %d and %d", n1, n, b, b2)
	}
	if _, _, ok := j.OutageSpan(begin2); ok {
		t.Fatal("span of an open outage")
	}
}

// TestOutageNumbersSurviveRemount: after a restart the journal learns the
// sequences from the records still on the chip, consumed or not, so a
// cold start reports the restore under the loss's number.
func TestOutageNumbersSurviveRemount(t *testing.T) {
	ctx := context.Background()
	_, chip := simChip(t, "at24c64", eeprom.TornRandom, 1)
	j, err := Open(chip, Options{})
	if err != nil {
		t.Fatal(err)
	}
	done := t0.Add(-time.Hour) // an outage already over, its records replayed
	b1, _ := j.Append(ctx, OutageBeginRecord(done, true, [3]float64{}))
	j.Append(ctx, typicalRecord(0))
	e1, _ := j.Append(ctx, OutageEndRecord(done, done.Add(time.Minute), false, true))
	d, err := OpenDataStore(filepath.Join(t.TempDir(), "d.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := NewRecovery(j, d).Replay(ctx); err != nil {
		t.Fatal(err)
	}
	open := t0 // the capacitor runs out during this one
	b2, _ := j.Append(ctx, OutageBeginRecord(open, true, [3]float64{}))
	j.Append(ctx, typicalRecord(1))
	j.Close()

	j, err = Open(chip, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if _, ok, _ := j.OpenOutage(ctx); !ok {
		t.Fatal("no open outage after the remount")
	}
	if n := j.OutageEventNumber(open); n != uint32(b2) {
		t.Fatalf("open outage after remount: number %d, want %d", n, b2)
	}
	if n := j.OutageEventNumber(done); n != uint32(b1) {
		t.Fatalf("consumed outage after remount: number %d, want %d", n, b1)
	}
	if from, to, ok := j.OutageSpan(done); !ok || from != b1 || to != e1 {
		t.Fatalf("consumed outage after remount: span %d..%d %v, want %d..%d", from, to, ok, b1, e1)
	}
	// The cold start journals the end: the span is complete.
	e2, _ := j.Append(ctx, OutageEndRecord(open, open.Add(time.Hour), true, false))
	if from, to, ok := j.OutageSpan(open); !ok || from != b2 || to != e2 {
		t.Fatalf("cold outage: span %d..%d %v, want %d..%d", from, to, ok, b2, e2)
	}
	if _, err := NewRecovery(j, d).Replay(ctx); err != nil {
		t.Fatal(err)
	}
	if n, ok, err := d.OutageJournaled(j, open); err != nil || !ok || n != 1 {
		t.Fatalf("OutageJournaled = %d %v %v, want 1", n, ok, err)
	}
}

// TestOutageNumberFallback: an outage whose begin record never reached the
// chip (the append failed) is numbered from its begin time, its end record
// gives no span, and OutageJournaled says the count is unknown.
func TestOutageNumberFallback(t *testing.T) {
	ctx := context.Background()
	sim, chip := simChip(t, "at24c64", eeprom.TornRandom, 1)
	j, err := Open(chip, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	begin := t0
	sim.InjectFault(func(uint16, []byte, []byte) error { return errors.New("bus error") })
	if _, err := j.Append(ctx, OutageBeginRecord(begin, true, [3]float64{})); err == nil {
		t.Fatal("append with the bus failing succeeded")
	}
	sim.InjectFault(nil)
	if n := j.OutageEventNumber(begin); n != uint32(begin.Unix()) {
		t.Fatalf("failed begin: number %d, want %d", n, uint32(begin.Unix()))
	}
	if _, err := j.Append(ctx, typicalRecord(0)); err != nil {
		t.Fatalf("append after a failed page write: %v", err)
	}
	if _, err := j.Append(ctx, OutageEndRecord(begin, begin.Add(time.Minute), false, true)); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := j.OutageSpan(begin); ok {
		t.Fatal("span without a begin record")
	}
	if n := j.OutageEventNumber(begin); n != uint32(begin.Unix()) {
		t.Fatalf("after the end: number %d, want %d", n, uint32(begin.Unix()))
	}
	d, err := OpenDataStore(filepath.Join(t.TempDir(), "d.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := NewRecovery(j, d).Replay(ctx); err != nil {
		t.Fatal(err)
	}
	if n, ok, err := d.OutageJournaled(j, begin); n != 0 || ok || err != nil {
		t.Fatalf("OutageJournaled = %d %v %v, want 0, unknown", n, ok, err)
	}
	// Nor does a remount invent one.
	j.Close()
	j2, err := Open(chip, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j2.Close()
	if n := j2.OutageEventNumber(begin); n != uint32(begin.Unix()) {
		t.Fatalf("after remount: number %d, want %d", n, uint32(begin.Unix()))
	}
}

// TestOutageNumbersWhileAppending reads the numbers while the writer
// appends (run with -race): readers never wait for the writer.
func TestOutageNumbersWhileAppending(t *testing.T) {
	ctx := context.Background()
	_, chip := simChip(t, "at24c256", eeprom.TornRandom, 1)
	j, err := Open(chip, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	const outages = 20
	seqs := make([]uint64, outages)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			for i := range outages {
				j.OutageEventNumber(t0.Add(time.Duration(i) * time.Hour))
				j.OutageSpan(t0.Add(time.Duration(i) * time.Hour))
			}
		}
	})
	for i := range outages {
		begin := t0.Add(time.Duration(i) * time.Hour)
		seqs[i], err = j.Append(ctx, OutageBeginRecord(begin, true, [3]float64{}))
		if err != nil {
			t.Fatal(err)
		}
		j.Append(ctx, OutageEndRecord(begin, begin.Add(time.Minute), false, true))
	}
	close(stop)
	wg.Wait()
	for i, s := range seqs {
		if n := j.OutageEventNumber(t0.Add(time.Duration(i) * time.Hour)); n != uint32(s) {
			t.Errorf("outage %d: number %d, want %d", i, n, s)
		}
	}
}

// TestOutageIndexBounded: past maxIndexedOutages the oldest outage is
// forgotten (its number falls back to the time), never a newer one.
func TestOutageIndexBounded(t *testing.T) {
	var idx outageIndex
	for i := range maxIndexedOutages + 3 {
		ms := int64(1000 * i)
		idx, _ = idx.with(outageRef{kind: lifecycleBegin, ms: ms}, uint64(10*i+1))
		idx, _ = idx.with(outageRef{kind: lifecycleEnd, ms: ms}, uint64(10*i+5))
	}
	if len(idx) != maxIndexedOutages {
		t.Fatalf("%d outages indexed, want %d", len(idx), maxIndexedOutages)
	}
	for i := range 3 {
		if _, ok := idx[int64(1000*i)]; ok {
			t.Errorf("outage %d kept", i)
		}
	}
	if s := idx[int64(1000*(maxIndexedOutages+2))]; s.begin != uint64(10*(maxIndexedOutages+2)+1) || s.end != s.begin+4 {
		t.Errorf("newest outage %+v", s)
	}
	if next, changed := idx.with(outageRef{kind: lifecycleEnd, ms: 1}, 99); changed || len(next) != len(idx) {
		t.Error("an end without its begin changed the index")
	}
	if _, changed := idx.with(outageRef{}, 99); changed {
		t.Error("a record that is no lifecycle record changed the index")
	}
}

func TestClip(t *testing.T) {
	for _, c := range []struct {
		s    string
		n    int
		want string
	}{
		{"rs485-2", MaxNameLen, "rs485-2"},
		{"abcdef", 3, "abc"},
		{"", 3, ""},
		{"abc", 0, ""},
		{"abc", -1, ""},
		{"日本語", 4, "日"},        // a 3-byte rune is never split
		{"ab日", 4, "ab"},       // the cut rune is dropped whole
		{"a\xffbcd", 3, "abc"}, // invalid bytes are dropped before the cut
		{"a\xffb", 3, "ab"},    // and from a string that fits
		{string(make([]byte, MaxStringLen+1)), MaxStringLen, string(make([]byte, MaxStringLen))},
	} {
		if got := Clip(c.s, c.n); got != c.want {
			t.Errorf("Clip(%q, %d) = %q, want %q", c.s, c.n, got, c.want)
		}
	}
}

func TestAddAttr(t *testing.T) {
	long := string(make([]byte, MaxStringLen+10))
	attrs := map[string]any{}
	for _, c := range []struct {
		key, value string
		ok         bool
	}{
		{"point", "P1", true},
		{"point", "P2", false}, // taken: the first value stays
		{"", "x", false},
		{string(make([]byte, MaxNameLen+1)), "x", false},
		{"bad\xff", "x", false},
		{"error", long, true},
		{"raw", "\xfe\xff", true}, // a garbled value is kept, made valid
		{"a", "1", true},
		{"b", "2", true},
		{"c", "3", true},
		{"d", "4", true},
		{"e", "5", true}, // the eighth
		{"f", "6", false},
	} {
		if got := AddAttr(attrs, c.key, c.value); got != c.ok {
			t.Errorf("AddAttr(%q) = %v, want %v", c.key, got, c.ok)
		}
	}
	if len(attrs) != MaxAttrs || attrs["point"] != "P1" || len(attrs["error"].(string)) != MaxStringLen || attrs["raw"] != "" {
		t.Fatalf("attrs %v", attrs)
	}
	r := Record{Time: t0, Business: BusinessCollection, Interface: Clip("rs485-"+string(make([]byte, 100)), MaxNameLen),
		Device: "meter-1", Attrs: attrs, Value: 1.5}
	if err := r.Validate(); err != nil {
		t.Fatalf("a record built with Clip and AddAttr: %v", err)
	}
}

func FuzzClip(f *testing.F) {
	f.Add("日本語", 4)
	f.Add("a\xffbcd", 3)
	f.Fuzz(func(t *testing.T, s string, n int) {
		got := Clip(s, n)
		if !utf8.ValidString(got) || len(got) > max(n, 0) {
			t.Fatalf("Clip(%q, %d) = %q: not valid UTF-8 of at most %d bytes", s, n, got, n)
		}
		if utf8.ValidString(s) && !strings.HasPrefix(s, got) {
			t.Fatalf("Clip(%q, %d) = %q: not a prefix of a valid string", s, n, got)
		}
		if utf8.ValidString(s) && len(s) <= n && got != s {
			t.Fatalf("Clip(%q, %d) = %q: a valid string that fits changed", s, n, got)
		}
	})
}

// TestOutageBeginOf: an open outage's begin record, read back from the
// chip after a remount, gives the time, confirmation and phase voltages it
// was journaled with; other records are not outage begins.
func TestOutageBeginOf(t *testing.T) {
	ctx := context.Background()
	_, chip := simChip(t, "at24c64", eeprom.TornRandom, 1)
	j, err := Open(chip, Options{})
	if err != nil {
		t.Fatal(err)
	}
	at := t0.Add(1500 * time.Millisecond)
	volts := [3]float64{12.5, 0, 231.25}
	if _, err := j.Append(ctx, OutageBeginRecord(at, true, volts)); err != nil {
		t.Fatal(err)
	}
	j.Close()
	j, err = Open(chip, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	e, ok, err := j.OpenOutage(ctx)
	if err != nil || !ok {
		t.Fatalf("open outage after remount: %v %v", ok, err)
	}
	gotAt, confirmed, gotVolts, ok := OutageBeginOf(e.Record)
	if !ok || !gotAt.Equal(at) || !confirmed || gotVolts != volts {
		t.Fatalf("OutageBeginOf = %v %v %v %v, want %v true %v true", gotAt, confirmed, gotVolts, ok, at, volts)
	}
	for _, r := range []Record{OutageEndRecord(at, at.Add(time.Second), false, true), typicalRecord(1)} {
		if _, _, _, ok := OutageBeginOf(r); ok {
			t.Errorf("%+v read as an outage begin", r.Attrs)
		}
	}
}
