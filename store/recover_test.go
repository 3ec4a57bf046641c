package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"holdup/eeprom"
)

var errCrash = errors.New("simulated crash")

// TestReplayExactlyOnceAcrossCrashes crashes the recovery at every step
// (after each data-store write, after each consume) and restarts it on the
// same chip and database: the data store ends with every journaled record
// exactly once, byte-identical.
func TestReplayExactlyOnceAcrossCrashes(t *testing.T) {
	ctx := context.Background()
	const n = 12
	for crashAt := 0; crashAt < 2*n+1; crashAt++ {
		t.Run(fmt.Sprint(crashAt), func(t *testing.T) {
			_, chip := simChip(t, "at24c64", eeprom.TornRandom, 1)
			dbPath := filepath.Join(t.TempDir(), "data.db")
			j, err := Open(chip, Options{})
			if err != nil {
				t.Fatal(err)
			}
			want := map[uint64][]byte{}
			c := newCodec()
			for i := 0; i < n; i++ {
				rec := typicalRecord(i)
				seq, err := j.Append(ctx, rec)
				if err != nil {
					t.Fatal(err)
				}
				want[seq], _ = c.encode(&rec, seq)
			}
			id := j.MountReport().ID
			d, err := OpenDataStore(dbPath)
			if err != nil {
				t.Fatal(err)
			}
			r := NewRecovery(j, d)
			r.batch = 1
			steps := 0
			r.hook = func(step string, b int) error {
				if steps == crashAt {
					return errCrash
				}
				steps++
				return nil
			}
			_, err = r.Replay(ctx)
			crashed := errors.Is(err, errCrash)
			if err != nil && !crashed {
				t.Fatal(err)
			}
			// The process dies: nothing more reaches the chip or the file.
			j.Close()
			d.Close()

			j, err = Open(chip, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer j.Close()
			d, err = OpenDataStore(dbPath)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			counts, err := NewRecovery(j, d).Replay(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if crashed && crashAt%2 == 0 && counts.Duplicate != 1 {
				t.Errorf("crash after a store write: %d duplicates on restart, want 1", counts.Duplicate)
			}
			seen := map[uint64]int{}
			err = d.Records(func(s StoredRecord) error {
				if s.JournalID != id {
					t.Errorf("record under journal %s, want %s", s.JournalID, id)
				}
				seen[s.Record.Seq]++
				raw, _ := c.encode(&s.Record, s.Record.Seq)
				if string(raw) != string(want[s.Record.Seq]) {
					t.Errorf("stored record %d differs", s.Record.Seq)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			for seq := range want {
				if seen[seq] != 1 {
					t.Errorf("record %d stored %d times", seq, seen[seq])
				}
			}
			if len(seen) != n {
				t.Errorf("%d records stored, want %d", len(seen), n)
			}
			if p, _ := NewRecovery(j, d).Pending(ctx); p != 0 {
				t.Errorf("%d records still pending", p)
			}
		})
	}
}

// TestReplayRejectsCorruptRecord puts a frame whose CRC is right but whose
// record does not verify into the journal: replay keeps it aside in the
// data store's rejected bucket, imports the rest, and consumes past it.
func TestReplayRejectsCorruptRecord(t *testing.T) {
	ctx := context.Background()
	_, chip := simChip(t, "at24c64", eeprom.TornRandom, 1)
	j, err := Open(chip, Options{})
	if err != nil {
		t.Fatal(err)
	}
	j.Append(ctx, typicalRecord(1))
	j.Close()
	// Writer stopped: place a bad frame directly (valid CBOR, wrong schema).
	if _, err := j.place(nil, tagRecord, j.nextSeq, []byte{0xa1, 0x01, 0x63, 'b', 'a', 'd'}, 0, 0); err != nil {
		t.Fatal(err)
	}
	if err := j.flush(); err != nil {
		t.Fatal(err)
	}
	j, err = Open(chip, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	j.Append(ctx, typicalRecord(3))
	d, err := OpenDataStore(filepath.Join(t.TempDir(), "d.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	counts, err := NewRecovery(j, d).Replay(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if counts.Replayed != 2 || counts.Rejected != 1 {
		t.Fatalf("counts %+v, want 2 replayed and 1 rejected", counts)
	}
	rej, _ := d.Rejections()
	if len(rej) != 1 || !strings.Contains(rej[0].Reason, "corrupt") {
		t.Fatalf("rejections %+v", rej)
	}
	recs, rejected, _ := d.Counts()
	if recs != 2 || rejected != 1 {
		t.Fatalf("data store holds %d records and %d rejected", recs, rejected)
	}
	if p, _ := NewRecovery(j, d).Pending(ctx); p != 0 {
		t.Fatalf("%d pending after replay", p)
	}
}

func TestDataStoreErrorsAndOutageLog(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.db")
	os.WriteFile(junk, []byte(strings.Repeat("not a database ", 500)), 0o644)
	if _, err := OpenDataStore(junk); err == nil || !strings.Contains(err.Error(), junk) {
		t.Fatalf("opening garbage: %v", err)
	}
	if _, err := OpenDataStore(filepath.Join(dir, "missing", "x.db")); err == nil {
		t.Fatal("opening in a missing directory succeeded")
	}
	d, err := OpenDataStore(filepath.Join(dir, "ok.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for i := 0; i < 3; i++ {
		o := Outage{Begin: t0.Add(timeHour(i)), End: t0.Add(timeHour(i) + 5e9), Kind: "warm", Replayed: i}
		if err := d.RecordOutage(context.Background(), o); err != nil {
			t.Fatal(err)
		}
	}
	// Recording the same outage again replaces it.
	d.RecordOutage(context.Background(), Outage{Begin: t0.Add(timeHour(2)), Kind: "cold", Replayed: 9})
	got, err := d.Outages(2)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Kind != "cold" || got[0].Replayed != 9 || got[1].Replayed != 1 {
		t.Fatalf("outages %+v", got)
	}
}

func timeHour(i int) (d time.Duration) { return time.Duration(i) * time.Hour }

func TestOpenOutage(t *testing.T) {
	ctx := context.Background()
	_, chip := simChip(t, "at24c64", eeprom.TornRandom, 1)
	j, err := Open(chip, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if _, ok, err := j.OpenOutage(ctx); ok || err != nil {
		t.Fatalf("empty journal: open outage %v, %v", ok, err)
	}
	b1 := t0
	j.Append(ctx, OutageBeginRecord(OutageBegin{At: b1, Confirmed: true, Volts: [3]float64{12, 0, 0}}))
	j.Append(ctx, typicalRecord(1))
	if e, ok, _ := j.OpenOutage(ctx); !ok || !e.Record.Time.Equal(b1) || e.Record.Attrs["confirmed"] != true || e.Record.Attrs["ua"] != 12.0 {
		t.Fatalf("after begin: %+v %v", e, ok)
	}
	j.Append(ctx, OutageEndRecord(OutageEnd{Begin: b1, End: b1.Add(time.Minute), Confirmed: true}))
	if _, ok, _ := j.OpenOutage(ctx); ok {
		t.Fatal("closed outage reported open")
	}
	b2 := b1.Add(time.Hour)
	j.Append(ctx, OutageBeginRecord(OutageBegin{At: b2}))
	if e, ok, _ := j.OpenOutage(ctx); !ok || !e.Record.Time.Equal(b2) || e.Record.Attrs["confirmed"] != false {
		t.Fatalf("second outage: %+v %v", e, ok)
	}
}

func TestCountBetween(t *testing.T) {
	ctx := context.Background()
	_, chip := simChip(t, "at24c64", eeprom.TornRandom, 1)
	j, err := Open(chip, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	j.Append(ctx, typicalRecord(0))
	b, _ := j.Append(ctx, OutageBeginRecord(OutageBegin{At: t0, Confirmed: true}))
	for i := 1; i <= 4; i++ {
		j.Append(ctx, typicalRecord(i))
	}
	e, _ := j.Append(ctx, OutageEndRecord(OutageEnd{Begin: t0, End: t0.Add(time.Minute), Confirmed: true}))
	j.Append(ctx, typicalRecord(9))
	d, err := OpenDataStore(filepath.Join(t.TempDir(), "d.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := NewRecovery(j, d).Replay(ctx); err != nil {
		t.Fatal(err)
	}
	n, err := d.CountBetween(j.MountReport().ID, b, e)
	if err != nil || n != 4 {
		t.Fatalf("CountBetween = %d, %v; want 4", n, err)
	}
	if _, err := d.CountBetween("zz", b, e); err == nil {
		t.Fatal("bad journal id accepted")
	}
}

// TestReplayReconstructsMissingCompletionLog: holdup stopped after the
// outage-end record was journaled but before the completion log was
// written. The next replay logs the outage from the journal; the real
// completion log, written later, replaces that entry.
func TestReplayReconstructsMissingCompletionLog(t *testing.T) {
	ctx := context.Background()
	_, chip := simChip(t, "at24c64", eeprom.TornRandom, 1)
	j, err := Open(chip, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	begin := t0.Add(123456789) // sub-millisecond part: the log keys at the journal's resolution
	j.Append(ctx, OutageBeginRecord(OutageBegin{At: begin, Confirmed: true}))
	for i := 0; i < 3; i++ {
		j.Append(ctx, typicalRecord(i))
	}
	j.Append(ctx, OutageEndRecord(OutageEnd{Begin: begin, End: begin.Add(time.Minute), Cold: true}))
	d, err := OpenDataStore(filepath.Join(t.TempDir(), "d.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := NewRecovery(j, d).Replay(ctx); err != nil {
		t.Fatal(err)
	}
	outs, _ := d.Outages(0)
	if len(outs) != 1 || outs[0].Kind != "cold" || outs[0].Journaled != 3 || len(outs[0].Errors) != 1 ||
		!strings.Contains(outs[0].Errors[0], "reconstructed") || outs[0].Duration != time.Minute {
		t.Fatalf("reconstructed outage log: %+v", outs)
	}
	if err := d.RecordOutage(ctx, Outage{Begin: begin, End: begin.Add(time.Minute), Kind: "cold", Replayed: 5}); err != nil {
		t.Fatal(err)
	}
	outs, _ = d.Outages(0)
	if len(outs) != 1 || outs[0].Replayed != 5 || len(outs[0].Errors) != 0 {
		t.Fatalf("after the completion log: %+v", outs)
	}
}
