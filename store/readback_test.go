package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"holdup/eeprom"
)

// snapshot returns the writer's committed, unconsumed records (where each
// frame sits on the chip), through the writer goroutine.
func snapshot(t testing.TB, j *Journal) []entry {
	t.Helper()
	res := j.call(context.Background(), &request{kind: reqSnapshot})
	if res.err != nil {
		t.Fatal(res.err)
	}
	return res.entries
}

// framePos returns the chip offset of byte i of e's frame (page headers
// skipped).
func framePos(g geometry, e entry, i int) int {
	pos := e.start
	for ; i > 0; i-- {
		pos = g.next(pos)
	}
	return pos
}

// damage says how one record's frame is damaged on the chip.
type damage struct {
	what   string
	byteAt func(e entry) int // index into the frame (tag = 0)
	want   string            // in the rejection's reason
}

func frameHdr(e entry) int { return e.size() - len(e.payload) - crcLen }

var damages = []damage{
	{"payload byte", func(e entry) int { return frameHdr(e) + len(e.payload)/2 }, "CRC-32C mismatch"},
	{"CRC byte", func(e entry) int { return e.size() - 1 }, "CRC-32C mismatch"},
	{"length byte", func(e entry) int { return 1 }, "length"},
	{"sequence byte", func(e entry) int { return 2 }, "sequence"},
	{"tag byte", func(e entry) int { return 0 }, "tag"},
}

// flip inverts bit 1 of the frame byte at i on the image; it returns the
// chip offset.
func flip(img []byte, g geometry, e entry, i int) int {
	pos := framePos(g, e, i)
	img[pos] ^= 0x02
	return pos
}

func openStore(t testing.TB) *DataStore {
	t.Helper()
	d, err := OpenDataStore(filepath.Join(t.TempDir(), "d.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// storedSeqs returns how many times each sequence is stored, checking each
// stored record against its encoding when appended.
func storedSeqs(t testing.TB, d *DataStore, want map[uint64][]byte) map[uint64]int {
	t.Helper()
	c := newCodec()
	seen := map[uint64]int{}
	err := d.Records(func(s StoredRecord) error {
		seen[s.Record.Seq]++
		raw, _ := c.encode(&s.Record, s.Record.Seq)
		if w, ok := want[s.Record.Seq]; !ok || string(raw) != string(w) {
			t.Errorf("stored record %d is not the one appended", s.Record.Seq)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return seen
}

// TestReplayReadsBackFromChip corrupts the chip under a mounted journal —
// a payload, CRC, length, sequence and tag byte of different records, one
// of them in a frame's second page — and replays into the data store: the
// damaged records are rejected with their place and reason, the intact
// ones stored exactly once, nothing corrupt stored; repairing the chip
// afterwards brings none of them back, live or after a remount.
func TestReplayReadsBackFromChip(t *testing.T) {
	for _, batch := range []int{32, 2} {
		t.Run(fmt.Sprint("batch", batch), func(t *testing.T) {
			ctx := context.Background()
			sim, chip := simChip(t, "at24c64", eeprom.TornRandom, 1)
			j, err := Open(chip, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer j.Close()
			want := map[uint64][]byte{}
			c := newCodec()
			for i := 0; i < 16; i++ {
				rec := typicalRecord(i)
				seq, err := j.Append(ctx, rec)
				if err != nil {
					t.Fatal(err)
				}
				want[seq], _ = c.encode(&rec, seq)
			}
			es := snapshot(t, j)
			if len(es) != 16 {
				t.Fatalf("%d unconsumed records, want 16", len(es))
			}
			g := j.g
			clean := sim.Image()
			img := sim.Image()
			type hit struct {
				d   damage
				pos int
			}
			hits := map[uint64]hit{}
			for k, dm := range damages {
				e := es[1+3*k]
				hits[e.seq] = hit{dm, flip(img, g, e, dm.byteAt(e))}
			}
			// A payload byte past the frame's first page.
			e := es[15]
			fp, lp := j.framePages(e)
			if lp == fp {
				t.Fatalf("record %d does not span a page boundary", e.seq)
			}
			i := e.size() - crcLen - 1
			for ; i > 0 && framePos(g, e, i)/g.pageSize == fp; i-- {
			}
			if i < frameHdr(e) || framePos(g, e, i)/g.pageSize == fp {
				t.Fatal("no payload byte past the first page")
			}
			hits[e.seq] = hit{damage{"payload byte on the next page", nil, "CRC-32C mismatch"}, flip(img, g, e, i)}
			if err := sim.Load(img); err != nil {
				t.Fatal(err)
			}

			// The journal itself reports each damaged record with its place.
			var got []uint64
			rep, err := j.Replay(ctx, func(e Entry) error { got = append(got, e.Seq); return nil })
			if err != nil {
				t.Fatal(err)
			}
			if rep.Records != 16-len(hits) || len(got) != rep.Records || len(rep.Corrupt) != len(hits) {
				t.Fatalf("replay handed out %d records (%d reported) and %d corrupt, want %d and %d",
					len(got), rep.Records, len(rep.Corrupt), 16-len(hits), len(hits))
			}
			for _, s := range got {
				if _, bad := hits[s]; bad {
					t.Errorf("damaged record %d handed out", s)
				}
			}
			for _, ce := range rep.Corrupt {
				h, ok := hits[ce.Seq]
				if !ok {
					t.Errorf("intact record %d reported corrupt: %v", ce.Seq, ce.Err)
					continue
				}
				e := es[slices.IndexFunc(es, func(e entry) bool { return e.seq == ce.Seq })]
				where := fmt.Sprintf("page %d offset %d", e.start/g.pageSize, e.start%g.pageSize)
				if !errors.Is(ce.Err, ErrCorrupt) || ce.Page != e.start/g.pageSize || ce.Offset != e.start%g.pageSize ||
					!strings.Contains(ce.Err.Error(), where) || !strings.Contains(ce.Err.Error(), h.d.want) {
					t.Errorf("%s of record %d: reported %+v, want %s and %q", h.d.what, ce.Seq, ce, where, h.d.want)
				}
			}

			// Recovery: the rejected bucket gets the damaged ones.
			d := openStore(t)
			r := NewRecovery(j, d)
			r.batch = batch
			counts, err := r.Replay(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if counts.Replayed != 16-len(hits) || counts.Rejected != len(hits) || counts.Duplicate != 0 {
				t.Fatalf("counts %+v, want %d replayed and %d rejected", counts, 16-len(hits), len(hits))
			}
			rej, err := d.Rejections()
			if err != nil {
				t.Fatal(err)
			}
			if len(rej) != len(hits) {
				t.Fatalf("%d rejections, want %d", len(rej), len(hits))
			}
			for _, x := range rej {
				h, ok := hits[x.Seq]
				if !ok || !strings.Contains(x.Reason, "corrupt") || !strings.Contains(x.Reason, h.d.want) ||
					!strings.Contains(x.Reason, "page ") {
					t.Errorf("rejection %d: %q", x.Seq, x.Reason)
				}
			}
			check := func(when string) {
				t.Helper()
				seen := storedSeqs(t, d, want)
				for s := range want {
					_, bad := hits[s]
					if n := seen[s]; bad && n != 0 || !bad && n != 1 {
						t.Errorf("%s: record %d (damaged %v) stored %d times", when, s, bad, n)
					}
				}
				if n, rejected, _ := d.Counts(); n != 16-len(hits) || rejected != len(hits) {
					t.Errorf("%s: data store holds %d records and %d rejected", when, n, rejected)
				}
				if p, _ := r.Pending(ctx); p != 0 {
					t.Errorf("%s: %d records pending", when, p)
				}
			}
			check("after replay")

			// Repair the chip: the damaged records were rejected and
			// consumed; nothing brings them back.
			img = sim.Image()
			for _, h := range hits {
				img[h.pos] = clean[h.pos]
			}
			if err := sim.Load(img); err != nil {
				t.Fatal(err)
			}
			if counts, err := r.Replay(ctx); err != nil || counts != (ReplayCounts{}) {
				t.Fatalf("replay after repair: %+v, %v", counts, err)
			}
			check("after repair")
			j.Close()
			j, err = Open(chip, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if rep := j.MountReport(); rep.Records != 0 || len(rep.Skipped) != 0 {
				t.Fatalf("remount after repair: %+v", rep)
			}
			r = NewRecovery(j, d)
			if counts, err := r.Replay(ctx); err != nil || counts != (ReplayCounts{}) {
				t.Fatalf("replay after remount: %+v, %v", counts, err)
			}
			check("after remount")
		})
	}
}

// TestReplayReadsBackAcrossTheWrap puts the unconsumed records across the
// end of the ring (the last frames before the end of the chip, the next
// ones from page 0) and damages one on each side: both are rejected, the
// rest stored, and the read-back reads each page holding them once.
func TestReplayReadsBackAcrossTheWrap(t *testing.T) {
	ctx := context.Background()
	sim, chip := simChip(t, "at24c32", eeprom.TornRandom, 1)
	j, err := Open(chip, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	want := map[uint64][]byte{}
	c := newCodec()
	add := func(i int) uint64 {
		rec := typicalRecord(i)
		seq, err := j.Append(ctx, rec)
		if err != nil {
			t.Fatal(err)
		}
		want[seq], _ = c.encode(&rec, seq)
		return seq
	}
	// Fill and consume until the writer is in the last tenth of the chip.
	for i := 0; ; i++ {
		seq := add(i)
		es := snapshot(t, j)
		if last := es[len(es)-1]; last.start > 9*int(chip.Size())/10 {
			if err := j.Consume(ctx, seq); err != nil {
				t.Fatal(err)
			}
			break
		}
		if i%8 == 7 {
			if err := j.Consume(ctx, seq); err != nil {
				t.Fatal(err)
			}
		}
	}
	var fresh []uint64
	for i := 0; i < 10; i++ {
		fresh = append(fresh, add(100+i))
	}
	es := snapshot(t, j)
	if len(es) != 10 {
		t.Fatalf("%d unconsumed records, want 10", len(es))
	}
	wrap := 0
	for wrap < len(es) && es[wrap].start > es[0].start-1 {
		wrap++
	}
	if wrap == 0 || wrap == len(es) {
		t.Fatalf("records do not wrap: starts %v", es)
	}
	img := sim.Image()
	before, after := es[wrap-1], es[wrap]
	flip(img, j.g, before, frameHdr(before)+3)
	flip(img, j.g, after, after.size()-2)
	if err := sim.Load(img); err != nil {
		t.Fatal(err)
	}
	pages := map[int]bool{}
	for _, e := range es {
		fp, lp := j.framePages(e)
		for p := fp; p <= lp; p++ {
			pages[p] = true
		}
	}
	d := openStore(t)
	read0 := chip.Stats().BytesRead
	counts, err := NewRecovery(j, d).Replay(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if read := chip.Stats().BytesRead - read0; read != uint64(len(pages)*j.g.pageSize) {
		t.Errorf("replay read %d bytes; the %d pages holding the records are %d", read, len(pages), len(pages)*j.g.pageSize)
	}
	if counts.Replayed != 8 || counts.Rejected != 2 {
		t.Fatalf("counts %+v, want 8 replayed and 2 rejected", counts)
	}
	rej, _ := d.Rejections()
	if len(rej) != 2 || rej[0].Seq != before.seq || rej[1].Seq != after.seq {
		t.Fatalf("rejections %+v, want %d and %d", rej, before.seq, after.seq)
	}
	seen := storedSeqs(t, d, want)
	for _, s := range fresh {
		bad := s == before.seq || s == after.seq
		if n := seen[s]; bad && n != 0 || !bad && n != 1 {
			t.Errorf("record %d (damaged %v) stored %d times", s, bad, n)
		}
	}
}

// TestReplayReadErrorJudgesNothing: a bus that fails the read-back stops
// the replay with the error; nothing is rejected or consumed, and the next
// replay stores every record.
func TestReplayReadErrorJudgesNothing(t *testing.T) {
	ctx := context.Background()
	sim, chip := simChip(t, "at24c64", eeprom.TornRandom, 1)
	j, err := Open(chip, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	for i := 0; i < 5; i++ {
		if _, err := j.Append(ctx, typicalRecord(i)); err != nil {
			t.Fatal(err)
		}
	}
	busErr := errors.New("bus stuck")
	sim.InjectFault(func(addr uint16, w, r []byte) error {
		if len(r) > 0 {
			return busErr
		}
		return nil
	})
	d := openStore(t)
	counts, err := NewRecovery(j, d).Replay(ctx)
	if !errors.Is(err, busErr) || errors.Is(err, ErrCorrupt) || counts != (ReplayCounts{}) {
		t.Fatalf("replay on a failing bus: %+v, %v", counts, err)
	}
	if n, rejected, _ := d.Counts(); n != 0 || rejected != 0 {
		t.Fatalf("data store holds %d records and %d rejected", n, rejected)
	}
	sim.InjectFault(nil)
	if counts, err := NewRecovery(j, d).Replay(ctx); err != nil || counts.Replayed != 5 || counts.Rejected != 0 {
		t.Fatalf("replay after the bus recovered: %+v, %v", counts, err)
	}
}

// TestReplayReadBackWithConcurrentAppends replays while producers append:
// the read-back shares the bus with page writes through the writer, and
// every record ends up stored exactly once.
func TestReplayReadBackWithConcurrentAppends(t *testing.T) {
	ctx := context.Background()
	_, chip := simChip(t, "at24c256", eeprom.TornRandom, 1)
	j, err := Open(chip, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	c := newCodec()
	var mu sync.Mutex
	want := map[uint64][]byte{}
	add := func(i int) {
		rec := typicalRecord(i)
		seq, err := j.Append(ctx, rec)
		if err != nil {
			t.Error(err)
			return
		}
		raw, _ := c.encode(&rec, seq)
		mu.Lock()
		want[seq] = raw
		mu.Unlock()
	}
	for i := 0; i < 40; i++ {
		add(i)
	}
	d := openStore(t)
	r := NewRecovery(j, d)
	r.batch = 4
	var wg sync.WaitGroup
	for p := 0; p < 3; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				add(1000*p + i)
			}
		}()
	}
	total := ReplayCounts{}
	for {
		counts, err := r.Replay(ctx)
		if err != nil {
			t.Fatal(err)
		}
		total.Replayed += counts.Replayed
		total.Rejected += counts.Rejected
		total.Duplicate += counts.Duplicate
		if counts.Replayed == 0 {
			done := make(chan struct{})
			go func() { wg.Wait(); close(done) }()
			<-done
			if p, _ := r.Pending(ctx); p == 0 {
				break
			}
		}
	}
	if total.Replayed != 100 || total.Rejected != 0 || total.Duplicate != 0 {
		t.Fatalf("counts %+v, want 100 replayed", total)
	}
	seen := storedSeqs(t, d, want)
	for s := range want {
		if seen[s] != 1 {
			t.Errorf("record %d stored %d times", s, seen[s])
		}
	}
}

// TestReplayReadBackPackedPages: records packed several to a page, found
// by the mount, then damaged under the live journal (two neighbours in one
// page, and one past the frame's first page): the read-back reads every
// page holding them once and rejects exactly the damaged ones.
func TestReplayReadBackPackedPages(t *testing.T) {
	ctx := context.Background()
	sim, chip := simChip(t, "at24c256", eeprom.TornRandom, 1)
	j, err := Open(chip, Options{})
	if err != nil {
		t.Fatal(err)
	}
	j.Close()
	// Writer stopped: pack the frames back to back, as group commit does.
	c := newCodec()
	want := map[uint64][]byte{}
	for i := 0; i < 12; i++ {
		rec := typicalRecord(i)
		payload, err := c.encode(&rec, j.nextSeq)
		if err != nil {
			t.Fatal(err)
		}
		want[j.nextSeq] = payload
		if _, err := j.place(nil, tagRecord, j.nextSeq, payload, 0, 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.flush(); err != nil {
		t.Fatal(err)
	}
	j, err = Open(chip, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	es := snapshot(t, j)
	if len(es) != 12 {
		t.Fatalf("%d records mounted, want 12", len(es))
	}
	// Two neighbours sharing a page: the end of one, the start of the next.
	k := -1
	for i := 0; i+1 < len(es) && k < 0; i++ {
		_, lp := j.framePages(es[i])
		if fp, _ := j.framePages(es[i+1]); lp == fp {
			k = i
		}
	}
	if k < 0 || k+1 == (k+6)%12 {
		t.Fatal("no two records share a page")
	}
	a, b, far := es[k], es[k+1], es[(k+6)%12]
	img := sim.Image()
	flip(img, j.g, a, a.size()-2)            // CRC, in the shared page
	flip(img, j.g, b, frameHdr(b)+1)         // payload, in the shared page
	flip(img, j.g, far, far.size()-crcLen-1) // payload, last page of the frame
	if err := sim.Load(img); err != nil {
		t.Fatal(err)
	}
	pages := map[int]bool{}
	for _, e := range es {
		fp, lp := j.framePages(e)
		for p := fp; p <= lp; p++ {
			pages[p] = true
		}
	}
	d := openStore(t)
	read0 := chip.Stats().BytesRead
	counts, err := NewRecovery(j, d).Replay(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if read := chip.Stats().BytesRead - read0; read != uint64(len(pages)*j.g.pageSize) {
		t.Errorf("replay read %d bytes; the %d pages holding the records are %d", read, len(pages), len(pages)*j.g.pageSize)
	}
	if counts.Replayed != 9 || counts.Rejected != 3 {
		t.Fatalf("counts %+v, want 9 replayed and 3 rejected", counts)
	}
	rej, _ := d.Rejections()
	var got []uint64
	for _, x := range rej {
		got = append(got, x.Seq)
	}
	wantRej := []uint64{a.seq, b.seq, far.seq}
	slices.Sort(wantRej)
	if !slices.Equal(got, wantRej) {
		t.Fatalf("rejected %v, want %v", got, wantRej)
	}
	seen := storedSeqs(t, d, want)
	for s := range want {
		bad := slices.Contains(wantRej, s)
		if n := seen[s]; bad && n != 0 || !bad && n != 1 {
			t.Errorf("record %d (damaged %v) stored %d times", s, bad, n)
		}
	}
}
