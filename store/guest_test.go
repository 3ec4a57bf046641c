//go:build guest && linux

package store_test

// Hardware-in-the-loop tests of the journal: run inside
// test/guest/run-guest.sh (Debian armmp kernel on QEMU's AST2600,
// i2c-aspeed + i2c-dev, an AT24C256-style EEPROM at /dev/i2c-5 0x50 backed
// by a host file), never on the host. .ci/guest-test builds them with
// -tags guest.
//
// TestGuestPowerCutCycle is one step of the host script's power-cut chain:
// it replays what the previous boot left (printing REC lines), consumes it,
// then appends records (printing ACK lines) and cuts power itself by
// printing "@@HOST quit" after a chosen number of acknowledgements, while
// appends are still running. The host compares the ACK lines of boot k with
// the REC lines of boot k+1.

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"holdup/eeprom"
	"holdup/store"
)

var (
	guestBus        = flag.String("guest.bus", "/dev/i2c-5", "i2c-dev adapter of the guest's EEPROM")
	guestAddr       = flag.Uint("guest.addr", 0x50, "7-bit address of the guest's EEPROM")
	guestPart       = flag.String("guest.part", "at24c256", "part of the guest's EEPROM")
	guestEpoch      = flag.Int("guest.epoch", 0, "power-cut chain: this boot's number (1, 2, …); 0 skips TestGuestPowerCutCycle")
	guestCut        = flag.Int("guest.cut", 0, "power-cut chain: cut power after this many acknowledged appends; 0 only verifies")
	guestDS         = flag.String("guest.datastore", "", "TestGuestDataStoreDump: the data store file holdup run replayed into")
	guestDaemonRecs = flag.Bool("guest.daemon-records", false, "TestGuestDataStoreDump: the records were written by holdup run (print DREC lines, no writer check)")
	guestCutC       = flag.String("guest.cut-consume", "", "power-cut chain: at the cut, also consume the first half of this boot's acknowledged records: "+
		"racing (cut as the consume starts) or done (cut once it returned)")
)

func openGuestChip(t *testing.T) *eeprom.Chip {
	t.Helper()
	bus, err := eeprom.OpenDevBus(*guestBus)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bus.Close() })
	part, err := eeprom.LookupPart(*guestPart)
	if err != nil {
		t.Fatal(err)
	}
	c, err := eeprom.NewChip(bus, part, uint16(*guestAddr))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var guestT0 = time.Date(2026, 11, 26, 22, 0, 0, 0, time.UTC)

// guestRecord is record i of writer epoch: a deterministic function of
// both, so a verifier can rebuild what was appended from the device name
// alone. Every fourth record carries a byte string that spans several
// pages, so cuts land inside multi-page frames too.
func guestRecord(epoch, i int) store.Record {
	r := store.Record{
		Time:      guestT0.Add(time.Duration(epoch)*time.Hour + time.Duration(i)*250*time.Millisecond),
		Business:  store.BusinessControl,
		Interface: "rs485-2",
		Device:    fmt.Sprintf("e%d-%06d", epoch, i),
		Attrs:     map[string]any{"topic": "ctl/breaker/switch", "qos": 1},
		Integrity: store.Integrity{Kind: store.IntegrityCRC16Modbus, Value: (uint32(i) * 2654435761) & 0xFFFF},
	}
	switch i % 4 {
	case 0:
		r.Value = i%8 == 0
	case 1:
		r.Business, r.Attrs = store.BusinessCollection, nil
		r.Value = 220 + float64(i%97)/10
		r.Integrity = store.Integrity{Kind: store.IntegrityCRC16X25, Value: uint32(i) & 0xFFFF}
	case 2:
		r.Business, r.Value = store.BusinessAlarm, fmt.Sprintf("phase %c undervoltage #%d", 'A'+byte(i%3), i)
	case 3:
		b := make([]byte, 40+(i*37)%160)
		for k := range b {
			b[k] = byte(i + k*epoch)
		}
		r.Business, r.Value = store.BusinessCollection, b
	}
	return r
}

// parseDevice returns the epoch and index encoded in a guestRecord's
// device name.
func parseDevice(dev string) (epoch, i int, err error) {
	e, n, ok := strings.Cut(dev, "-")
	if !ok || !strings.HasPrefix(e, "e") {
		return 0, 0, fmt.Errorf("device %q is not e<epoch>-<index>", dev)
	}
	if epoch, err = strconv.Atoi(e[1:]); err != nil {
		return 0, 0, fmt.Errorf("device %q: epoch: %w", dev, err)
	}
	if i, err = strconv.Atoi(n); err != nil {
		return 0, 0, fmt.Errorf("device %q: index: %w", dev, err)
	}
	return epoch, i, nil
}

// digest identifies a record's content with its sequence number: the JSON
// form (CDDL names, UTC time at the stored millisecond resolution), so an
// appended record and its replayed copy compare equal exactly when every
// field survived.
// A record that cannot be marshalled digests as "unmarshallable", which
// matches no appended record's digest.
func digest(r store.Record, seq uint64) string {
	r.Seq = seq
	r.Time = r.Time.Truncate(time.Millisecond)
	b, err := json.Marshal(r)
	if err != nil {
		return "unmarshallable"
	}
	s := sha256.Sum256(b)
	return fmt.Sprintf("%x", s[:8])
}

func replayAll(t *testing.T, j *store.Journal) []store.Entry {
	t.Helper()
	var out []store.Entry
	rep, err := j.Replay(context.Background(), func(e store.Entry) error { out = append(out, e); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Corrupt) > 0 {
		t.Fatalf("replay refused %d corrupt records: %v", len(rep.Corrupt), rep.Corrupt)
	}
	return out
}

// wearDev counts the page programs the journal issues on the real chip and
// the times the writer wrapped from the end of the chip back to its start,
// independently of the journal's own statistics (which restart at Open).
type wearDev struct {
	*eeprom.Chip
	progs []int
	last  int64
	wraps int
}

func (d *wearDev) WriteAt(p []byte, off int64) (int, error) {
	ps := d.PageSize()
	for pg := int(off) / ps; pg <= (int(off)+len(p)-1)/ps; pg++ {
		d.progs[pg]++
	}
	if off < d.last {
		d.wraps++
	}
	d.last = off
	return d.Chip.WriteAt(p, off)
}

// leastWorn returns the least programmed page among all but the last one
// and its count. The last page is left out: a frame never runs past the
// end of the chip, so that page only takes frames that fit in it whole
// (consume markers); record frames of more than a page skip it.
func (d *wearDev) leastWorn() (page, n int) {
	n = int(^uint(0) >> 1)
	for pg, c := range d.progs[:len(d.progs)-1] {
		if c < n {
			page, n = pg, c
		}
	}
	return page, n
}

// TestGuestJournalWrapsRing appends until every page of the chip has been
// programmed at least twice, consuming all but the newest records every so
// often, then fills the journal to ErrFull, remounts and checks that every
// acknowledged, unconsumed record replays identical and nothing else does.
func TestGuestJournalWrapsRing(t *testing.T) {
	ctx := context.Background()
	c := openGuestChip(t)
	chip := &wearDev{Chip: c, progs: make([]int, c.Part().Pages())}
	j, err := store.Open(chip, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { j.Close() }()
	rep := j.MountReport()
	t.Logf("mounted: formatted=%v frames=%d records=%d skipped=%d", rep.Formatted, rep.Frames, rep.Records, len(rep.Skipped))

	type acked struct {
		seq    uint64
		digest string
	}
	// Records already in the journal (a re-run on the same image) count
	// as acknowledged too: they must survive as well.
	var live []acked
	for _, e := range replayAll(t, j) {
		live = append(live, acked{e.Seq, digest(e.Record, e.Seq)})
	}
	consumed := rep.Consumed
	const keep = 24 // unconsumed records left behind at each consume
	start := time.Now()
	appends := 0
	pages := int(chip.Size()) / chip.PageSize()
	for i := 0; ; i++ {
		if _, n := chip.leastWorn(); n >= 2 && chip.wraps >= 2 {
			total := 0
			for _, n := range chip.progs {
				total += n
			}
			t.Logf("ring wrapped %d times: pages 0..%d programmed ≥ 2 times, last page %d times; %d appends, %d page writes (emulation: %v)",
				chip.wraps, pages-2, chip.progs[pages-1], appends, total, time.Since(start).Round(time.Millisecond))
			break
		}
		if i > 20*pages {
			pg, n := chip.leastWorn()
			t.Fatalf("ring did not wrap twice in %d appends: %d wraps, page %d programmed %d times", i, chip.wraps, pg, n)
		}
		rec := guestRecord(99, i)
		seq, err := j.Append(ctx, rec)
		if err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
		appends++
		live = append(live, acked{seq, digest(rec, seq)})
		if len(live) > 3*keep {
			upto := live[len(live)-keep-1].seq
			if err := j.Consume(ctx, upto); err != nil {
				t.Fatalf("consume up to %d: %v", upto, err)
			}
			consumed = upto
			live = append(live[:0], live[len(live)-keep:]...)
		}
		if i%200 == 100 { // remount mid-lap and after the first wrap, with records outstanding
			if err := j.Close(); err != nil {
				t.Fatal(err)
			}
			if j, err = store.Open(chip, store.Options{}); err != nil {
				t.Fatal(err)
			}
			if got := j.MountReport(); got.Consumed != consumed || got.Records != len(live) || len(got.Skipped) > 0 {
				t.Fatalf("remount after append %d: %+v, want consumed %d, %d records, nothing skipped", i, got, consumed, len(live))
			}
		}
	}
	// Fill to the reserve: the journal refuses with ErrFull and writes
	// nothing that would overwrite an unconsumed record.
	for i := 0; ; i++ {
		rec := guestRecord(98, i)
		seq, err := j.Append(ctx, rec)
		if errors.Is(err, store.ErrFull) {
			t.Logf("journal full after %d more appends: %d unconsumed records", i, len(live))
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if i > pages*chip.PageSize() {
			t.Fatal("never full")
		}
		live = append(live, acked{seq, digest(rec, seq)})
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	j, err = store.Open(chip, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rep = j.MountReport()
	if rep.Consumed != consumed || len(rep.Skipped) > 0 {
		t.Fatalf("remount: consumed %d (want %d), skipped %v", rep.Consumed, consumed, rep.Skipped)
	}
	got := replayAll(t, j)
	if len(got) != len(live) {
		t.Fatalf("replay after remount: %d records, want the %d acknowledged unconsumed ones", len(got), len(live))
	}
	for k, e := range got {
		if e.Seq != live[k].seq || digest(e.Record, e.Seq) != live[k].digest {
			t.Fatalf("replay[%d] = seq %d %s, want seq %d with the content appended", k, e.Seq, e.Record.Device, live[k].seq)
		}
	}
	// The journal is usable again once consumed.
	if err := j.Consume(ctx, live[len(live)-1].seq); err != nil {
		t.Fatal(err)
	}
	if _, err := j.Append(ctx, guestRecord(97, 0)); err != nil {
		t.Fatalf("append after consuming a full journal: %v", err)
	}
}

// TestGuestJournalConcurrentAppends: four producers append at once (group
// commit shares page writes on the real adapter); after a remount every
// acknowledged record is there once, with the content its producer gave.
func TestGuestJournalConcurrentAppends(t *testing.T) {
	ctx := context.Background()
	chip := openGuestChip(t)
	j, err := store.Open(chip, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { j.Close() }()
	before := len(replayAll(t, j))
	var mu sync.Mutex
	want := map[uint64]string{}
	var wg sync.WaitGroup
	const producers, each = 4, 40
	start := time.Now()
	for p := 0; p < producers; p++ {
		wg.Add(1)
		go func(p int) {
			defer wg.Done()
			for i := p; i < producers*each; i += producers {
				rec := guestRecord(96, i)
				seq, err := j.Append(ctx, rec)
				if err != nil {
					t.Errorf("producer %d append %d: %v", p, i, err)
					return
				}
				d := digest(rec, seq)
				mu.Lock()
				if _, dup := want[seq]; dup {
					t.Errorf("sequence %d acknowledged twice", seq)
				}
				want[seq] = d
				mu.Unlock()
			}
		}(p)
	}
	wg.Wait()
	el := time.Since(start)
	st, _ := j.Stats(ctx)
	t.Logf("emulation: %d concurrent appends in %v (%.0f/s), %d page writes",
		producers*each, el.Round(time.Millisecond), float64(producers*each)/el.Seconds(), st.PageWrites)
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if j, err = store.Open(chip, store.Options{}); err != nil {
		t.Fatal(err)
	}
	got := replayAll(t, j)
	found := 0
	for _, e := range got {
		d, ok := want[e.Seq]
		if !ok {
			continue // left unconsumed by an earlier test
		}
		if digest(e.Record, e.Seq) != d {
			t.Fatalf("seq %d (%s) replays with other content than appended", e.Seq, e.Record.Device)
		}
		found++
	}
	if found != len(want) || len(got) != before+len(want) {
		t.Fatalf("replay: %d of %d acknowledged records, %d in all (want %d)", found, len(want), len(got), before+len(want))
	}
}

// guestOut serialises the lines the host script parses; each is one
// write(2) so lines from concurrent producers never interleave.
type guestOut struct{ mu sync.Mutex }

func (o *guestOut) line(format string, args ...any) {
	o.mu.Lock()
	defer o.mu.Unlock()
	fmt.Fprintf(os.Stdout, format+"\n", args...)
}

// TestGuestPowerCutCycle is one boot of the host's power-cut chain (see the
// file comment). Lines for the host:
//
//	MOUNT frames=F records=R consumed=C next=N skipped=S
//	SKIPPED <region>
//	REC <seq> <device> <digest> ok|MISMATCH
//	CONSUMED <seq>
//	ACK <seq> <device> <digest> .
//	CONSUMING <seq>          (with -guest.cut-consume, just before the cut)
//	CONSUME-DONE <seq>       (-guest.cut-consume=done: before the cut)
//	@@HOST quit
//	CONSUME-DONE <seq>       (if the consume finished before the power went)
//
// A REC line is checked here too: the record must be exactly the one the
// writer built for that device name. The trailing "." of an ACK line lets
// the host tell a complete line from one cut short.
func TestGuestPowerCutCycle(t *testing.T) {
	if *guestEpoch <= 0 {
		t.Skip("not a power-cut chain step (set -guest.epoch)")
	}
	ctx := context.Background()
	out := &guestOut{}
	chip := openGuestChip(t)
	j, err := store.Open(chip, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rep := j.MountReport()
	out.line("MOUNT frames=%d records=%d consumed=%d next=%d skipped=%d", rep.Frames, rep.Records, rep.Consumed, rep.NextSeq, len(rep.Skipped))
	for _, r := range rep.Skipped {
		out.line("SKIPPED %s", r)
	}
	var last uint64
	bad := 0
	for _, e := range replayAll(t, j) {
		verdict := "ok"
		ep, i, err := parseDevice(e.Record.Device)
		d := digest(e.Record, e.Seq)
		if err != nil || digest(guestRecord(ep, i), e.Seq) != d {
			verdict = "MISMATCH"
			bad++
		}
		out.line("REC %d %s %s %s", e.Seq, e.Record.Device, d, verdict)
		last = e.Seq
	}
	if bad > 0 {
		t.Fatalf("%d replayed records are not what the writer appended", bad)
	}
	if last > 0 {
		if err := j.Consume(ctx, last); err != nil {
			t.Fatal(err)
		}
	}
	out.line("CONSUMED %d", max(last, rep.Consumed))
	if *guestCut <= 0 {
		if err := j.Close(); err != nil {
			t.Fatal(err)
		}
		return
	}

	// Writer: four producers append until the power goes; the cut is
	// requested after the chosen number of acknowledgements, with the
	// producers still appending.
	var (
		mu    sync.Mutex
		acks  []uint64
		cut   = make(chan struct{})
		full  = make(chan struct{})
		fonce sync.Once
	)
	const producers = 4
	for p := 0; p < producers; p++ {
		go func(p int) {
			for i := p; ; i += producers {
				rec := guestRecord(*guestEpoch, i)
				seq, err := j.Append(ctx, rec)
				if errors.Is(err, store.ErrFull) {
					fonce.Do(func() { close(full) })
					return
				}
				if err != nil {
					out.line("APPEND-ERROR %s %v", rec.Device, err)
					return
				}
				out.line("ACK %d %s %s .", seq, rec.Device, digest(rec, seq))
				mu.Lock()
				acks = append(acks, seq)
				if len(acks) == *guestCut {
					switch *guestCutC {
					case "racing", "done":
						// Cut as a consume marker is being written, or
						// just after it was, with the appends still running.
						upto := acks[len(acks)/2]
						out.line("CONSUMING %d", upto)
						consumed := make(chan struct{})
						go func() {
							defer close(consumed)
							if err := j.Consume(ctx, upto); err != nil {
								out.line("CONSUME-ERROR %d %v", upto, err)
								return
							}
							out.line("CONSUME-DONE %d", upto)
						}()
						if *guestCutC == "done" {
							<-consumed
						}
					case "":
					default:
						t.Errorf("-guest.cut-consume=%q: want racing or done", *guestCutC)
					}
					out.line("@@HOST quit")
					close(cut)
				}
				mu.Unlock()
			}
		}(p)
	}
	select {
	case <-cut:
	case <-full:
		// The journal filled before the chosen count: cut now (the host
		// reports the cut as landing on an idle journal).
		out.line("FULL before %d acknowledgements", *guestCut)
		out.line("@@HOST quit")
	case <-time.After(60 * time.Second):
		mu.Lock()
		n := len(acks)
		mu.Unlock()
		t.Fatalf("only %d of %d acknowledgements in 60 s", n, *guestCut)
	}
	select {
	case <-full:
		out.line("FULL")
	case <-time.After(30 * time.Second):
	}
	time.Sleep(30 * time.Second) // the host cuts power long before this
	t.Fatal("power was not cut within 60 s of @@HOST quit")
}

// TestGuestDataStoreDump prints what `holdup run` imported into its data
// store on a cold start after a power cut (the host script's daemon step),
// one line per record in the REC format of TestGuestPowerCutCycle, so the
// host compares it with the writer's acknowledgements the same way:
//
//	STORE records=R rejected=X outages=O
//	REC <seq> <device> <digest> ok|MISMATCH
//	DREC <seq> <device> <point> <time>   (-guest.daemon-records)
//	REJECTED <seq> <reason>
//	OUTAGE <kind> replayed=N rejected=N duplicate=N
func TestGuestDataStoreDump(t *testing.T) {
	if *guestDS == "" {
		t.Skip("no data store to dump (set -guest.datastore)")
	}
	ds, err := store.OpenDataStore(*guestDS)
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	out := &guestOut{}
	nrec, nrej, err := ds.Counts()
	if err != nil {
		t.Fatal(err)
	}
	outages, err := ds.Outages(0)
	if err != nil {
		t.Fatal(err)
	}
	out.line("STORE records=%d rejected=%d outages=%d", nrec, nrej, len(outages))
	bad := 0
	err = ds.Records(func(r store.StoredRecord) error {
		if *guestDaemonRecs {
			// holdup's own records: the host matches them with the daemon's
			// journaled events by sequence, device and point; the time tells
			// one reading from another.
			p, _ := r.Record.Attrs["point"].(string)
			if ev, ok := store.IsOutageEvent(r.Record); ok {
				p = ev
			}
			out.line("DREC %d %s %s %s", r.Record.Seq, r.Record.Device, p, r.Record.Time.UTC().Format(time.RFC3339Nano))
			return nil
		}
		verdict := "ok"
		ep, i, err := parseDevice(r.Record.Device)
		d := digest(r.Record, r.Record.Seq)
		if err != nil || digest(guestRecord(ep, i), r.Record.Seq) != d {
			verdict = "MISMATCH"
			bad++
		}
		out.line("REC %d %s %s %s", r.Record.Seq, r.Record.Device, d, verdict)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	rej, err := ds.Rejections()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rej {
		out.line("REJECTED %d %s", r.Seq, r.Reason)
	}
	for _, o := range outages {
		out.line("OUTAGE %s replayed=%d rejected=%d duplicate=%d errors=%q", o.Kind, o.Replayed, o.Rejected, o.Duplicate, o.Errors)
	}
	if bad > 0 {
		t.Fatalf("%d stored records are not what the writer appended", bad)
	}
}

// TestGuestRecordAtBootClock: a terminal whose clock has not been set since
// boot (no RTC, a flat RTC battery, no NTP or master-station time yet) reads
// 1970, and an outage right after boot must still be journaled. The guest
// boots with its clock at 1970, which is how this was found: holdup run's
// outage-begin append failed ("time 1970-01-01T00:00:03Z outside
// 2000..2100") until the journal accepted such times.
func TestGuestRecordAtBootClock(t *testing.T) {
	now := time.Now()
	if now.Year() >= 2000 {
		t.Skipf("the clock reads %v: the test needs an unset clock", now)
	}
	chip := openGuestChip(t)
	j, err := store.Open(chip, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { j.Close() }()
	rec := store.Record{Time: now, Business: store.BusinessEvent, Interface: "gpio", Device: "power-fail",
		Value: "outage-begin", Integrity: store.Integrity{Kind: store.IntegrityNone}}
	seq, err := j.Append(context.Background(), rec)
	if err != nil {
		t.Fatalf("a record stamped by an unset clock (%v) is refused, so an outage right after boot journals nothing: %v", now.UTC(), err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if j, err = store.Open(chip, store.Options{}); err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, e := range replayAll(t, j) {
		if e.Seq == seq {
			found = digest(e.Record, seq) == digest(rec, seq)
		}
	}
	if !found {
		t.Fatalf("the record stamped %v did not replay identical after a remount", now.UTC())
	}
}
