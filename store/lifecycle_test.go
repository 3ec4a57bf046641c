package store

import (
	"context"
	"encoding/hex"
	"errors"
	"path/filepath"
	"reflect"
	"runtime"
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
	b, err := j.Append(ctx, OutageBeginRecord(OutageBegin{At: begin, Confirmed: true, Volts: [3]float64{12, 11, 13}}))
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
	e, err := j.Append(ctx, OutageEndRecord(OutageEnd{Begin: begin, End: begin.Add(time.Minute), Confirmed: true}))
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
	b2, _ := j.Append(ctx, OutageBeginRecord(OutageBegin{At: begin2}))
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
	b1, _ := j.Append(ctx, OutageBeginRecord(OutageBegin{At: done, Confirmed: true}))
	j.Append(ctx, typicalRecord(0))
	e1, _ := j.Append(ctx, OutageEndRecord(OutageEnd{Begin: done, End: done.Add(time.Minute), Confirmed: true}))
	d, err := OpenDataStore(filepath.Join(t.TempDir(), "d.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := NewRecovery(j, d).Replay(ctx); err != nil {
		t.Fatal(err)
	}
	open := t0 // the capacitor runs out during this one
	b2, _ := j.Append(ctx, OutageBeginRecord(OutageBegin{At: open, Confirmed: true}))
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
	e2, _ := j.Append(ctx, OutageEndRecord(OutageEnd{Begin: open, End: open.Add(time.Hour), Cold: true}))
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
	if _, err := j.Append(ctx, OutageBeginRecord(OutageBegin{At: begin, Confirmed: true})); err == nil {
		t.Fatal("append with the bus failing succeeded")
	}
	sim.InjectFault(nil)
	if n := j.OutageEventNumber(begin); n != uint32(begin.Unix()) {
		t.Fatalf("failed begin: number %d, want %d", n, uint32(begin.Unix()))
	}
	if _, err := j.Append(ctx, typicalRecord(0)); err != nil {
		t.Fatalf("append after a failed page write: %v", err)
	}
	if _, err := j.Append(ctx, OutageEndRecord(OutageEnd{Begin: begin, End: begin.Add(time.Minute), Confirmed: true})); err != nil {
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
			// A reader as the uplink is one, not a spinner: on one CPU
			// a loop that never yields starves the appender's ACK
			// polling until the scheduler preempts it.
			runtime.Gosched()
		}
	})
	for i := range outages {
		begin := t0.Add(time.Duration(i) * time.Hour)
		seqs[i], err = j.Append(ctx, OutageBeginRecord(OutageBegin{At: begin, Confirmed: true}))
		if err != nil {
			t.Fatal(err)
		}
		j.Append(ctx, OutageEndRecord(OutageEnd{Begin: begin, End: begin.Add(time.Minute), Confirmed: true}))
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
	if _, err := j.Append(ctx, OutageBeginRecord(OutageBegin{At: at, Confirmed: true, Volts: volts})); err != nil {
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
	got, ok := OutageBeginOf(e.Record)
	if !ok || !got.At.Equal(at) || !got.Confirmed || got.Volts != volts || got.BootID != "" {
		t.Fatalf("OutageBeginOf = %+v %v, want %v true %v \"\" true", got, ok, at, volts)
	}
	for _, r := range []Record{OutageEndRecord(OutageEnd{Begin: at, End: at.Add(time.Second), Confirmed: true}), typicalRecord(1)} {
		if _, ok := OutageBeginOf(r); ok {
			t.Errorf("%+v read as an outage begin", r.Attrs)
		}
	}
}

// TestOutageRecordEncoding: the outage-begin and outage-end constructors
// build exactly the records (and, through the codec, exactly the bytes)
// that journals written before OutageBegin and OutageEnd hold, so those
// replay the same: the optional boot id and evidence attributes appear
// only when set, and an over-long one is clipped. The readers give back
// what the constructors took, before and after a CBOR round trip (where
// "begin" decodes as a uint64).
func TestOutageRecordEncoding(t *testing.T) {
	const boot = "0f3d6a1e-7c55-4c3b-9b0e-2a9d3c8e1f47"
	const ev = "boot id changed: the terminal rebooted"
	end := t0.Add(90 * time.Second)
	mains := func(at time.Time, attrs map[string]any) Record {
		return Record{Time: at, Business: BusinessEvent, Interface: "power", Device: "mains",
			Attrs: attrs, Integrity: Integrity{Kind: IntegrityNone}}
	}
	tests := []struct {
		name  string
		begin *OutageBegin // or
		end   *OutageEnd
		want  Record
		cbor  string // hex of the encoding at sequence 7; "" not checked
	}{
		{
			name:  "begin confirmed",
			begin: &OutageBegin{At: t0, Confirmed: true, Volts: [3]float64{231.5, 0, 12.25}},
			want: mains(t0, map[string]any{"event": "outage-begin", "confirmed": true,
				"ua": 231.5, "ub": 0.0, "uc": 12.25}),
			cbor: "a80107021b000001a219ed7cdb03030465706f77657205656d61696e7306a5627561f95b3c627562f90000627563f94a20656576656e746c6f75746167652d626567696e69636f6e6669726d6564f507f608820000",
		},
		{
			name:  "begin with boot id",
			begin: &OutageBegin{At: t0, BootID: boot},
			want: mains(t0, map[string]any{"event": "outage-begin", "confirmed": false,
				"ua": 0.0, "ub": 0.0, "uc": 0.0, "boot_id": boot}),
			cbor: "a80107021b000001a219ed7cdb03030465706f77657205656d61696e7306a6627561f90000627562f90000627563f90000656576656e746c6f75746167652d626567696e67626f6f745f6964782430663364366131652d376335352d346333622d396230652d32613964336338653166343769636f6e6669726d6564f407f608820000",
		},
		{
			name: "end warm",
			end:  &OutageEnd{Begin: t0, End: end, Confirmed: true},
			want: mains(end, map[string]any{"event": "outage-end", "confirmed": true, "cold": false,
				"begin": t0.UnixMilli()}),
			cbor: "a80107021b000001a219eedc6b03030465706f77657205656d61696e7306a464636f6c64f465626567696e1b000001a219ed7cdb656576656e746a6f75746167652d656e6469636f6e6669726d6564f507f608820000",
		},
		{
			name: "end cold with evidence",
			end:  &OutageEnd{Begin: t0, End: end, Cold: true, Evidence: ev},
			want: mains(end, map[string]any{"event": "outage-end", "confirmed": false, "cold": true,
				"begin": t0.UnixMilli(), "evidence": ev}),
			cbor: "a80107021b000001a219eedc6b03030465706f77657205656d61696e7306a564636f6c64f565626567696e1b000001a219ed7cdb656576656e746a6f75746167652d656e646865766964656e63657826626f6f74206964206368616e6765643a20746865207465726d696e616c207265626f6f74656469636f6e6669726d6564f407f608820000",
		},
		{
			name: "end with over-long evidence",
			end:  &OutageEnd{Begin: t0, End: t0, Cold: true, Evidence: strings.Repeat("é", MaxStringLen)},
			want: mains(t0, map[string]any{"event": "outage-end", "confirmed": false, "cold": true,
				"begin": t0.UnixMilli(), "evidence": strings.Repeat("é", MaxStringLen/2)}),
		},
	}
	c := newCodec()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var r Record
			if tc.begin != nil {
				r = OutageBeginRecord(*tc.begin)
			} else {
				r = OutageEndRecord(*tc.end)
			}
			if !reflect.DeepEqual(r, tc.want) {
				t.Fatalf("record\n%#v\nwant\n%#v", r, tc.want)
			}
			if err := r.Validate(); err != nil {
				t.Fatal(err)
			}
			b, err := c.encode(&r, 7)
			if err != nil {
				t.Fatal(err)
			}
			if got := hex.EncodeToString(b); tc.cbor != "" && got != tc.cbor {
				t.Fatalf("encoding\n%s\nwant\n%s", got, tc.cbor)
			}
			decoded, err := c.decode(b)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range []Record{r, decoded} {
				if tc.begin != nil {
					got, ok := OutageBeginOf(r)
					if !ok || !reflect.DeepEqual(got, *tc.begin) {
						t.Errorf("OutageBeginOf = %+v %v, want %+v", got, ok, *tc.begin)
					}
					if _, ok := OutageEndOf(r); ok {
						t.Error("an outage begin read as an outage end")
					}
					continue
				}
				want := *tc.end
				want.Evidence, _ = tc.want.Attrs["evidence"].(string) // as clipped
				got, ok := OutageEndOf(r)
				if !ok || !reflect.DeepEqual(got, want) {
					t.Errorf("OutageEndOf = %+v %v, want %+v", got, ok, want)
				}
				if _, ok := OutageBeginOf(r); ok {
					t.Error("an outage end read as an outage begin")
				}
			}
		})
	}
	if _, ok := OutageEndOf(typicalRecord(1)); ok {
		t.Error("a typical record read as an outage end")
	}
}
