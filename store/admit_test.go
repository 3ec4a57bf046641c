package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"holdup/eeprom"
)

func TestAdmissionOf(t *testing.T) {
	ctl := typicalRecord(0)
	checked := typicalRecord(1)
	checked.Business = BusinessCollection
	unchecked := checked
	unchecked.Integrity = Integrity{Kind: IntegrityNone}
	alarm := unchecked
	alarm.Business = BusinessAlarm
	tests := []struct {
		name string
		rec  Record
		want Admission
	}{
		{"outage-begin", OutageBeginRecord(OutageBegin{At: t0}), AdmitLifecycle},
		{"outage-end", OutageEndRecord(OutageEnd{Begin: t0, End: t0}), AdmitLifecycle},
		{"control", ctl, AdmitControl},
		{"alarm", alarm, AdmitControl},
		{"checked collection", checked, AdmitChecked},
		{"unchecked collection", unchecked, AdmitUnchecked},
	}
	for _, tc := range tests {
		if got := AdmissionOf(&tc.rec); got != tc.want {
			t.Errorf("%s: AdmissionOf = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestReserveByPart: on every part of the table the reserves are ordered
// by importance and leave at least half the chip to every class; from the
// AT24C64 up the lifecycle reserve holds two lifecycle frames of the
// largest size, whatever page a wrap starts them on.
func TestReserveByPart(t *testing.T) {
	c := newCodec()
	f := maxLifecycleFrame(c)
	for _, p := range eeprom.Parts() {
		g := geometry{pageSize: p.PageSize, pages: p.Pages()}
		r := reserveFor(g, c, 2)
		if !(r.Lifecycle == 2 && r.Lifecycle < r.Control && r.Control < r.Checked && r.Checked < r.Unchecked) {
			t.Errorf("%s: reserves %+v not strictly ordered from the marker's 2 pages", p.Name, r)
		}
		if r.Unchecked > g.pages/2 {
			t.Errorf("%s: reserves %+v take more than half of %d pages", p.Name, r, g.pages)
		}
		if p.Size < 8<<10 {
			continue
		}
		if need := (2*f+p.PageSize-2)/(p.PageSize-1) + 1; r.Control-r.Lifecycle < need {
			t.Errorf("%s: lifecycle reserve %d pages, two %d-byte frames need %d", p.Name, r.Control-r.Lifecycle, f, need)
		}
	}
}

// largestLifecycle returns the outage begin and end records at their
// largest (boot id and evidence at MaxStringLen).
func largestLifecycle() (Record, Record) {
	long := strings.Repeat("e", MaxStringLen)
	return OutageBeginRecord(OutageBegin{At: t0, Confirmed: true, Volts: [3]float64{1.5, 2.5, 3.5}, BootID: long}),
		OutageEndRecord(OutageEnd{Begin: t0, End: t0.Add(3e9), Confirmed: true, Evidence: long})
}

// TestAdmissionOrderNearFull fills a journal class by class: unchecked
// collection is refused first, then checked collection, then control, each
// with ErrReserved (which is ErrFull too) while the next class is still
// admitted; the refusals are counted per class; after the control flood
// the outage's largest begin and end records still land, and only then is
// a lifecycle record refused, with ErrFull alone. A consume makes room for
// every class again. Run on the version-2 writer twice: on a fresh journal
// with one device, and on one whose dictionary needs refreshing — the
// writer in its second lap, an unconsumed largest outage-begin record
// ahead of it (its dictionary frame pinned) and the fills spread over
// twelve devices, so the units near the end write entries again.
func TestAdmissionOrderNearFull(t *testing.T) {
	t.Run("fresh", func(t *testing.T) { admissionOrderNearFull(t, false) })
	t.Run("refreshing", func(t *testing.T) { admissionOrderNearFull(t, true) })
}

func admissionOrderNearFull(t *testing.T, wrapped bool) {
	ctx := context.Background()
	_, chip := simChip(t, "at24c64", eeprom.TornRandom, 7)
	j, err := Open(chip, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	res := j.Reserve()
	device := func(i int) string { return "breaker-07" }
	var pinnedBegin uint64
	if wrapped {
		device = func(i int) string { return fmt.Sprintf("dev-%02d", i%12) }
		// Half way round the chip, every record consumed, then the
		// outage begins: its record stays unconsumed.
		for i := 0; ; i++ {
			r := typicalRecord(i)
			r.Device = device(i)
			seq, err := j.Append(ctx, r)
			if err != nil {
				t.Fatal(err)
			}
			if err := j.Consume(ctx, seq); err != nil {
				t.Fatal(err)
			}
			st, err := j.Stats(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if j.w >= st.Pages/2 {
				break
			}
		}
		begin, _ := largestLifecycle()
		if pinnedBegin, err = j.Append(ctx, begin); err != nil {
			t.Fatal(err)
		}
	}
	control := func(i int) Record {
		r := typicalRecord(i)
		r.Device = device(i)
		return r
	}
	checked := func(i int) Record {
		r := control(i)
		r.Business = BusinessCollection
		return r
	}
	unchecked := func(i int) Record {
		r := checked(i)
		r.Integrity = Integrity{Kind: IntegrityNone}
		return r
	}
	// fill appends records of one class until the first refusal and
	// returns how many were admitted and the free pages ahead of the
	// writer then.
	fill := func(name string, mk func(int) Record) (int, int) {
		t.Helper()
		for n := 0; n < 1000; n++ {
			_, err := j.Append(ctx, mk(n))
			if err == nil {
				continue
			}
			if !errors.Is(err, ErrReserved) || !errors.Is(err, ErrFull) {
				t.Fatalf("%s record %d refused with %v, want ErrReserved (and ErrFull)", name, n, err)
			}
			st, err := j.Stats(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return n, freeAhead(j, st.Pages)
		}
		t.Fatalf("%s: 1000 records admitted on an 8 KiB part", name)
		return 0, 0
	}
	// The frame of a typical record spans at most 4 pages of 32 bytes.
	const framePages = 4
	nu, freeU := fill("unchecked", unchecked)
	if nu == 0 || freeU >= res.Unchecked+framePages || freeU < res.Unchecked-1 {
		t.Fatalf("unchecked refused after %d records with %d pages free; its reserve is %d", nu, freeU, res.Unchecked)
	}
	nc, freeC := fill("checked", checked)
	if nc == 0 || freeC >= res.Checked+framePages {
		t.Fatalf("checked refused after %d more records with %d pages free; its reserve is %d", nc, freeC, res.Checked)
	}
	if _, err := j.Append(ctx, unchecked(0)); !errors.Is(err, ErrReserved) {
		t.Fatalf("unchecked after the checked fill: %v", err)
	}
	nk, freeK := fill("control", control)
	if nk == 0 || freeK >= res.Control+framePages {
		t.Fatalf("control refused after %d more records with %d pages free; its reserve is %d", nk, freeK, res.Control)
	}
	// The flood goes on: every further control record is refused.
	for i := range 20 {
		if _, err := j.Append(ctx, control(i)); !errors.Is(err, ErrReserved) {
			t.Fatalf("control record %d of the flood: %v", i, err)
		}
	}
	begin, end := largestLifecycle()
	if _, err := j.Append(ctx, begin); err != nil {
		t.Fatalf("largest outage-begin after the control flood: %v", err)
	}
	endSeq, err := j.Append(ctx, end)
	if err != nil {
		t.Fatalf("largest outage-end after the control flood: %v", err)
	}
	var lerr error
	for range 100 {
		if _, lerr = j.Append(ctx, end); lerr != nil {
			break
		}
	}
	if !errors.Is(lerr, ErrFull) || errors.Is(lerr, ErrReserved) {
		t.Fatalf("lifecycle record on a full journal: %v, want ErrFull only", lerr)
	}
	st, err := j.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := Refusals{Lifecycle: 1, Control: 21, Checked: 1, Unchecked: 2}
	if st.Refused != want || st.FullRejects != want.Total() {
		t.Fatalf("refusals %+v (full rejects %d), want %+v (%d)", st.Refused, st.FullRejects, want, want.Total())
	}
	if st.Refused.String() != "lifecycle 1, control 21, checked 1, unchecked 2" {
		t.Errorf("refusals read %q", st.Refused.String())
	}
	// Every admitted record is on the chip, the end record among them
	// (and the first outage's begin record, its dictionary intact).
	got := collect(t, j)
	if got[len(got)-1].Seq < endSeq {
		t.Fatalf("replay ends at %d, the outage-end record is %d", got[len(got)-1].Seq, endSeq)
	}
	if wrapped {
		if got[0].Seq != pinnedBegin {
			t.Fatalf("replay starts at %d, the pinned outage-begin record is %d", got[0].Seq, pinnedBegin)
		}
		if _, ok := OutageBeginOf(got[0].Record); !ok {
			t.Fatalf("the pinned outage-begin record replays as %+v", got[0].Record)
		}
		// The writer came round to the begin record's dictionary frame:
		// its source was written again, not left to a copy the writer
		// had to stop before.
		mains := j.d.byKey[func() string { k, _ := j.c.dictKey(sourceOf(&got[0].Record, nil)); return k }()]
		if mains == nil || mains.copySeq <= pinnedBegin {
			t.Fatalf("the lifecycle source's newest copy %+v is not after the begin record %d: no refresh was tested", mains, pinnedBegin)
		}
	}
	if err := j.Consume(ctx, got[len(got)-1].Seq); err != nil {
		t.Fatal(err)
	}
	for name, r := range map[string]Record{"unchecked": unchecked(1), "checked": checked(1), "control": typicalRecord(1)} {
		if _, err := j.Append(ctx, r); err != nil {
			t.Errorf("%s after consuming: %v", name, err)
		}
	}
}

// freeAhead counts the free pages from the writer's next one up to the
// first that is not free: the room the admission reserves keep (pages
// behind the writer that hold only dictionary frames are free too, but
// the writer does not come to them before the records after them). Call
// it after a round trip to the writer (Stats), which orders the reads.
func freeAhead(j *Journal, pages int) int {
	from := j.w + 1
	if j.off == 1 {
		from = j.w
	}
	n := 0
	for ; n < pages && j.free(from+n); n++ {
	}
	return n
}

func TestRefusalsSub(t *testing.T) {
	a := Refusals{Lifecycle: 1, Control: 5, Checked: 7, Unchecked: 9}
	b := Refusals{Control: 2, Checked: 7, Unchecked: 10}
	if got, want := a.Sub(b), (Refusals{Lifecycle: 1, Control: 3, Checked: 0, Unchecked: 9}); got != want {
		t.Fatalf("Sub = %+v, want %+v", got, want)
	}
	if (Refusals{}).String() != "" {
		t.Error("no refusals should read empty")
	}
}

// TestRefusalAtChipEndKeepsMarkerRoom: an append refused at the end of
// the chip's first lap does not move the cursor to page 0 (which holds
// unconsumed records), so the consume marker still finds the pages kept
// for it and the journal can be consumed. Large frames make the refused
// one cross the chip's end.
func TestRefusalAtChipEndKeepsMarkerRoom(t *testing.T) {
	for _, part := range []string{"at24c32", "at24c64", "at24c256"} {
		t.Run(part, func(t *testing.T) {
			ctx := context.Background()
			_, chip := simChip(t, part, eeprom.TornRandom, 3)
			j, err := Open(chip, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer j.Close()
			_, end := largestLifecycle()
			var last uint64
			for {
				seq, err := j.Append(ctx, end)
				if errors.Is(err, ErrFull) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				last = seq
			}
			if err := j.Consume(ctx, last); err != nil {
				t.Fatalf("consume after the journal filled: %v", err)
			}
			if _, err := j.Append(ctx, end); err != nil {
				t.Fatalf("append after the consume: %v", err)
			}
		})
	}
}

// TestAdmitsAgreesWithAppend drives a journal around its ring several
// times with a mix of classes, devices (new dictionary entries and their
// frames, refreshes, new laps) and consumes that lag behind, asking Admits
// before every Append: Admits says yes exactly when the Append then
// succeeds, refuses with the same kind of error (ErrReserved or ErrFull
// alone) when it does not, and writes nothing (no page written, no
// sequence number taken). Every consume is written: a consume marker is
// never refused for want of space (v2 seed 14 refused one at step 873,
// and every one after it, when a record had used a dictionary entry again
// without writing it ahead of the writer, which then stood on the entry's
// pinned page). Both writers: version 2 and version 1. With -short the
// runs are shorter (seed 14 still past step 873; v2 on seed 5 refused its
// first consume at step 1309 and runs that far only in the full form).
func TestAdmitsAgreesWithAppend(t *testing.T) {
	for _, tc := range []struct {
		name         string
		legacy       bool
		seed         uint64
		steps, short int
	}{
		{"v2", false, 5, 1500, 400},
		{"v2-seed14", false, 14, 1500, 900},
		{"v1", true, 5, 1500, 400},
	} {
		legacy := tc.legacy
		if testing.Short() {
			tc.steps = tc.short
		}
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			_, chip := simChip(t, "at24c64", eeprom.TornRandom, 11)
			j, err := Open(chip, Options{legacyV1: legacy})
			if err != nil {
				t.Fatal(err)
			}
			defer j.Close()
			rng := rand.New(rand.NewPCG(tc.seed, 9))
			begin, end := largestLifecycle()
			var acked []uint64
			admitted, refused := 0, 0
			for i := 0; i < tc.steps; i++ {
				var rec Record
				switch k := rng.IntN(20); {
				case k == 0:
					rec = begin
				case k == 1:
					rec = end
				default:
					rec = typicalRecord(i)
					rec.Device = fmt.Sprintf("dev-%02d", rng.IntN(12))
					switch k % 3 {
					case 1:
						rec.Business = BusinessCollection
					case 2:
						rec.Business = BusinessCollection
						rec.Integrity = Integrity{Kind: IntegrityNone}
					}
				}
				before, err := j.Stats(ctx)
				if err != nil {
					t.Fatal(err)
				}
				aerr := j.Admits(ctx, rec)
				after, err := j.Stats(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if after.PageWrites != before.PageWrites || after.NextSeq != before.NextSeq {
					t.Fatalf("step %d: Admits wrote: page writes %d → %d, next seq %d → %d", i, before.PageWrites, after.PageWrites, before.NextSeq, after.NextSeq)
				}
				seq, perr := j.Append(ctx, rec)
				if (aerr == nil) != (perr == nil) || errors.Is(aerr, ErrReserved) != errors.Is(perr, ErrReserved) {
					t.Fatalf("step %d (%s record of %s): Admits %v, Append %v", i, AdmissionOf(&rec), rec.Device, aerr, perr)
				}
				if perr != nil {
					refused++
					if !errors.Is(perr, ErrFull) {
						t.Fatalf("step %d: refused with %v, want ErrFull", i, perr)
					}
				} else {
					admitted++
					acked = append(acked, seq)
				}
				// The reader lags: now and then it consumes all but the
				// newest few records, so the ring wraps with live records.
				if rng.IntN(25) == 0 && len(acked) > 6 {
					upto := acked[len(acked)-1-rng.IntN(6)]
					if err := j.Consume(ctx, upto); err != nil {
						t.Fatalf("step %d: consume up to %d refused: %v", i, upto, err)
					}
				}
			}
			st, err := j.Stats(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if admitted < tc.steps/2 || refused < tc.steps/20 || st.PageWrites < 2*uint64(st.Pages) {
				t.Fatalf("admitted %d, refused %d, %d page writes: the run should go round the ring, full at times", admitted, refused, st.PageWrites)
			}
			t.Logf("admitted %d, refused %d, %d page writes", admitted, refused, st.PageWrites)
			if st.Refused.Total() != 2*uint64(refused) {
				t.Fatalf("refusals counted %d (%+v), want %d: each refused Admits and its Append", st.Refused.Total(), st.Refused, 2*refused)
			}
		})
	}
}
