package store

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"holdup/eeprom"
)

// damageFixture is a journal image holding unconsumed records over several
// pages, and what the test knows about every record it appended.
type damageFixture struct {
	part     eeprom.Part
	g        geometry
	img      []byte
	raw      map[uint64][]byte // every record appended, by sequence
	live     []uint64          // the unconsumed ones, in order
	pages    map[uint64][2]int // first and last page of each live record's frame
	consumed uint64
}

// buildDamageFixture writes a journal on an at24c32 (128 pages of 32
// bytes). wrapped: the writer first laps the ring (appending and consuming)
// so that older frames follow the tail, as on a terminal in service;
// otherwise the journal is young and the pages after the tail are blank.
// Either way the live records (21 of them, about half the chip) have a
// consume marker among them.
func buildDamageFixture(t testing.TB, wrapped bool) *damageFixture {
	t.Helper()
	ctx := context.Background()
	sim, chip := simChip(t, "at24c32", eeprom.TornRandom, 7)
	j, err := Open(chip, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	fx := &damageFixture{part: chip.Part(), g: j.g, raw: map[uint64][]byte{}, pages: map[uint64][2]int{}}
	c := newCodec()
	i := 0
	add := func() uint64 {
		rec := typicalRecord(i)
		if i%3 == 1 {
			rec.Value = bytes.Repeat([]byte{byte(i)}, 30+i%50) // spans pages
		}
		i++
		seq, err := j.Append(ctx, rec)
		if err != nil {
			t.Fatal(err)
		}
		fx.raw[seq], _ = c.encode(&rec, seq)
		return seq
	}
	if wrapped {
		for lap := 0; ; {
			seq := add()
			es := snapshot(t, j)
			if es[len(es)-1].start < es[0].start {
				lap++
			}
			if i%6 == 5 || lap > 0 {
				if err := j.Consume(ctx, seq); err != nil {
					t.Fatal(err)
				}
			}
			if lap > 0 && es[len(es)-1].start > fx.g.pageSize*fx.g.pages/3 {
				break
			}
		}
	}
	var batch []uint64
	for k := 0; k < 12; k++ {
		batch = append(batch, add())
	}
	// Nine of the twelve stay (dictionary frames take sequence numbers too).
	if err := j.Consume(ctx, batch[2]); err != nil {
		t.Fatal(err)
	}
	for k := 0; k < 12; k++ {
		add()
	}
	for _, e := range snapshot(t, j) {
		fx.live = append(fx.live, e.seq)
		fp, lp := j.framePages(e)
		fx.pages[e.seq] = [2]int{fp, lp}
	}
	st, err := j.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fx.consumed = st.Consumed
	if len(fx.live) != 21 {
		t.Fatalf("fixture holds %d live records, want 21", len(fx.live))
	}
	j.Close()
	fx.img = sim.Image()
	return fx
}

// outcome is what a mount and a replay of a damaged copy made of each
// live record.
type outcome struct {
	intact, corrupt, lost, damaged int
	silent                         []uint64 // missing with no report covering them
}

// check mounts img and replays it. Every record replay returns must be one
// appended, byte for byte; every live record of the fixture must be
// returned, or reported: as corrupt by replay, inside a lost range, or by
// a skipped region on a page its frame occupied.
func (fx *damageFixture) check(t *testing.T, what string, img []byte) outcome {
	t.Helper()
	sim := eeprom.NewSim(eeprom.SimConfig{Part: fx.part, Seed: 1})
	if err := sim.Load(img); err != nil {
		t.Fatal(err)
	}
	chip, err := eeprom.NewChip(sim, fx.part, 0x50)
	if err != nil {
		t.Fatal(err)
	}
	j, err := Open(chip, Options{})
	if err != nil {
		t.Fatalf("%s: mount: %v", what, err)
	}
	defer j.Close()
	rep := j.MountReport()
	got := map[uint64]bool{}
	rr, err := j.Replay(context.Background(), func(e Entry) error {
		want, ok := fx.raw[e.Seq]
		if !ok || !bytes.Equal(want, e.Raw) {
			t.Errorf("%s: replay returned seq %d that differs from any record appended", what, e.Seq)
		}
		got[e.Seq] = true
		return nil
	})
	if err != nil {
		t.Fatalf("%s: replay: %v", what, err)
	}
	corrupt := map[uint64]bool{}
	for _, c := range rr.Corrupt {
		corrupt[c.Seq] = true
	}
	for _, r := range rep.Lost {
		if r.First > r.Last || r.First <= rep.Consumed || r.Last >= rep.NextSeq {
			t.Errorf("%s: lost range %v outside the mark %d and the tail %d", what, r, rep.Consumed, rep.NextSeq-1)
		}
	}
	if lr := j.LostRanges(); len(lr) != len(rep.Lost) {
		t.Errorf("%s: LostRanges %v, mount report %v", what, lr, rep.Lost)
	}
	var o outcome
next:
	for _, s := range fx.live {
		switch {
		case got[s]:
			o.intact++
			continue
		case corrupt[s]:
			o.corrupt++
			continue
		}
		for _, r := range rep.Lost {
			if r.Contains(s) {
				o.lost++
				found := false
				for _, x := range rr.Lost {
					found = found || x == r
				}
				if !found && s > rep.Consumed {
					t.Errorf("%s: replay did not report the lost range %v it crossed", what, r)
				}
				continue next
			}
		}
		pp := fx.pages[s]
		for _, r := range rep.Skipped {
			if r.Page >= pp[0] && r.Page <= pp[1] {
				o.damaged++
				continue next
			}
		}
		o.silent = append(o.silent, s)
	}
	return o
}

// fillPage returns a copy of the image img with page p (of pageSize
// bytes) filled with fill.
func fillPage(img []byte, pageSize, p int, fill byte) []byte {
	img = bytes.Clone(img)
	for i := p * pageSize; i < (p+1)*pageSize; i++ {
		img[i] = fill
	}
	return img
}

// TestDamagedPagesNeverSilent erases, then zeroes, every page of a
// journal in service, one at a time on a fresh copy: each live record is
// returned intact or reported, never silently missing, and nothing
// corrupt is returned as data.
func TestDamagedPagesNeverSilent(t *testing.T) {
	fx := buildDamageFixture(t, true)
	for _, fill := range []byte{0xFF, 0x00} {
		var sum outcome
		for p := 0; p < fx.g.pages; p++ {
			img := fillPage(fx.img, fx.g.pageSize, p, fill)
			what := fmt.Sprintf("page %d filled with 0x%02X", p, fill)
			o := fx.check(t, what, img)
			if len(o.silent) > 0 {
				t.Errorf("%s: records %v missing without a report", what, o.silent)
			}
			sum.intact += o.intact
			sum.lost += o.lost
			sum.damaged += o.damaged
			sum.corrupt += o.corrupt
		}
		t.Logf("fill 0x%02X over %d pages: %d records intact, %d in lost ranges, %d on damaged regions, %d corrupt",
			fill, fx.g.pages, sum.intact, sum.lost, sum.damaged, sum.corrupt)
		if sum.lost == 0 {
			t.Errorf("fill 0x%02X: no lost range was ever reported", fill)
		}
	}
}

// TestDamagedHeaderNeverSilent sets the header byte of every page to each
// value one bit away and to 0x00 and 0xFF, and the header of one page in
// the middle of the live records to every value: the header is cross-
// checked against the frames around it, so every record is still found
// and the bad header is reported.
func TestDamagedHeaderNeverSilent(t *testing.T) {
	fx := buildDamageFixture(t, true)
	mid := fx.pages[fx.live[len(fx.live)/2]][0]
	try := func(p int, v byte) {
		if fx.img[p*fx.g.pageSize] == v {
			return
		}
		img := append([]byte(nil), fx.img...)
		img[p*fx.g.pageSize] = v
		what := fmt.Sprintf("page %d header 0x%02X (was 0x%02X)", p, v, fx.img[p*fx.g.pageSize])
		o := fx.check(t, what, img)
		if len(o.silent) > 0 {
			t.Errorf("%s: records %v missing without a report", what, o.silent)
		}
		if o.intact != len(fx.live) {
			t.Errorf("%s: %d of %d records returned intact", what, o.intact, len(fx.live))
		}
	}
	for p := 0; p < fx.g.pages; p++ {
		h := fx.img[p*fx.g.pageSize]
		for bit := 0; bit < 8; bit++ {
			try(p, h^1<<bit)
		}
		try(p, 0x00)
		try(p, 0xFF)
	}
	for v := 0; v < 256; v++ {
		try(mid, byte(v))
	}
}

// TestDamageYoungJournal: on a journal that has not yet wrapped, only the
// page holding the newest records can vanish unreported (erased, it looks
// like a page never written); every other page's damage is reported.
func TestDamageYoungJournal(t *testing.T) {
	fx := buildDamageFixture(t, false)
	tail := fx.pages[fx.live[len(fx.live)-1]]
	for _, fill := range []byte{0xFF, 0x00} {
		for p := 0; p < fx.g.pages; p++ {
			img := fillPage(fx.img, fx.g.pageSize, p, fill)
			what := fmt.Sprintf("page %d filled with 0x%02X", p, fill)
			o := fx.check(t, what, img)
			if len(o.silent) > 0 && !(fill == 0xFF && p >= tail[0] && p <= tail[1]) {
				t.Errorf("%s: records %v missing without a report", what, o.silent)
			}
		}
	}
}

// TestLostRangesIntactJournal: an undamaged journal reports nothing lost
// across laps, consume markers and page-spanning records.
func TestLostRangesIntactJournal(t *testing.T) {
	for _, wrapped := range []bool{false, true} {
		fx := buildDamageFixture(t, wrapped)
		o := fx.check(t, fmt.Sprintf("intact (wrapped %v)", wrapped), fx.img)
		if o.intact != len(fx.live) {
			t.Errorf("wrapped %v: %d of %d records intact", wrapped, o.intact, len(fx.live))
		}
		in, err := Inspect(fx.img, fx.g.pageSize)
		if err != nil {
			t.Fatal(err)
		}
		if len(in.Report.Lost) != 0 || len(in.Report.Skipped) != 0 {
			t.Errorf("wrapped %v: intact image reports lost %v, skipped %v", wrapped, in.Report.Lost, in.Report.Skipped)
		}
	}
}

// TestLostRangeReportedOnce: a replay reports the lost range it crosses;
// once the records after it are consumed, the next replay does not, and
// Stats and Inspect (journal dump) carry it.
func TestLostRangeReportedOnce(t *testing.T) {
	fx := buildDamageFixture(t, true)
	mid := fx.pages[fx.live[len(fx.live)/2]]
	img := append([]byte(nil), fx.img...)
	for i := mid[0] * fx.g.pageSize; i < (mid[1]+1)*fx.g.pageSize; i++ {
		img[i] = 0xFF
	}
	in, err := Inspect(img, fx.g.pageSize)
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Report.Lost) != 1 || !in.Report.Lost[0].Contains(fx.live[len(fx.live)/2]) {
		t.Fatalf("inspect: lost %v, want one range holding seq %d", in.Report.Lost, fx.live[len(fx.live)/2])
	}
	sim := eeprom.NewSim(eeprom.SimConfig{Part: fx.part, Seed: 1})
	if err := sim.Load(img); err != nil {
		t.Fatal(err)
	}
	chip, _ := eeprom.NewChip(sim, fx.part, 0x50)
	j, err := Open(chip, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	ctx := context.Background()
	lost := j.LostRanges()
	if len(lost) != 1 || lost[0] != in.Report.Lost[0] {
		t.Fatalf("LostRanges %v, inspect %v", lost, in.Report.Lost)
	}
	t.Logf("lost: %v", lost[0])
	var last uint64
	rep, err := j.Replay(ctx, func(e Entry) error { last = e.Seq; return nil })
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Lost) != 1 || rep.Lost[0] != lost[0] {
		t.Fatalf("replay lost %v, want %v", rep.Lost, lost)
	}
	st, err := j.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.LostRanges != 1 || st.LostSeqs != lost[0].Count() {
		t.Fatalf("stats lost %d ranges / %d seqs, want 1 / %d", st.LostRanges, st.LostSeqs, lost[0].Count())
	}
	if err := j.Consume(ctx, last); err != nil {
		t.Fatal(err)
	}
	rep, err = j.Replay(ctx, func(Entry) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Lost) != 0 {
		t.Fatalf("replay after consuming past the range still reports %v", rep.Lost)
	}
}

// TestTortureNoFalseLoss replays the torture workload's power cuts (short)
// and checks that a cut never makes a mount report lost records: a torn
// write holds only unacknowledged frames.
func TestTortureNoFalseLoss(t *testing.T) {
	for _, mode := range []eeprom.TornMode{eeprom.TornOld, eeprom.TornNew, eeprom.TornRandom} {
		t.Run(mode.String(), func(t *testing.T) {
			t.Parallel()
			_, chip := simChip(t, "at24c64", mode, 5)
			dev := &logDev{Chip: chip, state: &workState{submitted: map[string][]byte{}}}
			runWorkload(t, dev, 5, 150, false)
			if t.Failed() {
				return
			}
			part := chip.Part()
			img := bytes.Repeat([]byte{0xFF}, part.Size)
			for k, op := range dev.writes {
				sim := eeprom.NewSim(eeprom.SimConfig{Part: part, Torn: mode, Seed: uint64(k)})
				if err := sim.Load(img); err != nil {
					t.Fatal(err)
				}
				cchip, _ := eeprom.NewChip(sim, part, 0x50)
				sim.CutAt(1)
				_, _ = cchip.WriteAt(op.data, op.off)
				sim.PowerOn()
				in, err := Inspect(sim.Image(), part.PageSize)
				if err != nil {
					t.Fatal(err)
				}
				if len(in.Report.Lost) > 0 {
					t.Fatalf("cut %d: lost %v reported after a clean power cut", k+1, in.Report.Lost)
				}
				copy(img[op.off:], op.data)
			}
		})
	}
}
