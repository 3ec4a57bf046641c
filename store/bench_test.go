package store

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"holdup/eeprom"
)

// pageLimit is the part's physical page-write throughput in bytes per
// second: one page per (I2C time of a page write + tWR).
func pageLimit(p eeprom.Part, busHz int) float64 {
	bits := 1 + 9*(1+p.AddrBytes+p.PageSize) + 1
	t := time.Duration(bits)*time.Second/time.Duration(busHz) + p.WriteCycle
	return float64(p.PageSize) / t.Seconds()
}

// BenchmarkAppend8 measures sustained append throughput with 8 concurrent
// producers on a simulated AT24C256 at 400 kHz, in simulated time.
//   - limit-pct: record bytes per simulated second ÷ the page-write limit
//   - wa: bytes programmed ÷ record bytes
func BenchmarkAppend8(b *testing.B) {
	ctx := context.Background()
	sim, chip := simChip(b, "at24c256", eeprom.TornRandom, 1)
	j, err := Open(chip, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer j.Close()
	total := max(b.N, 4000)
	st0, _ := j.Stats(ctx)
	t0 := sim.Elapsed()
	var (
		mu     sync.Mutex
		acked  uint64
		issued int
	)
	capRecords := st0.CapacityBytes / 100
	b.ResetTimer()
	var wg sync.WaitGroup
	for p := 0; p < 8; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				mu.Lock()
				if issued >= total {
					mu.Unlock()
					return
				}
				n := issued
				issued++
				mu.Unlock()
				seq, err := j.Append(ctx, typicalRecord(n))
				if errors.Is(err, ErrFull) {
					b.Error("journal full: the consumer fell behind")
					return
				}
				if err != nil {
					b.Error(err)
					return
				}
				mu.Lock()
				acked = max(acked, seq)
				// Replay-side consumption, about twice a lap.
				if n%(capRecords/2) == 0 && n > 0 {
					upto := acked
					mu.Unlock()
					if err := j.Consume(ctx, upto); err != nil {
						b.Error(err)
					}
					continue
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	st, _ := j.Stats(ctx)
	simSec := (sim.Elapsed() - t0).Seconds()
	recBytes := float64(st.RecordBytes - st0.RecordBytes)
	limit := pageLimit(chip.Part(), 400_000)
	b.ReportMetric(100*recBytes/simSec/limit, "limit-pct")
	b.ReportMetric(float64(st.BytesProgrammed-st0.BytesProgrammed)/recBytes, "wa")
	b.ReportMetric(recBytes/simSec, "rec-B/sim-s")
}

// BenchmarkRecordSize reports the CBOR size of a typical record in
// version 1 (bytes/rec) and its ratio to encoding/json of the same Go
// value (CDDL field names), and in version 2 (v2-bytes/rec, its frame
// v2-frame-bytes/rec, and v2-ratio, v2 ÷ v1).
func BenchmarkRecordSize(b *testing.B) {
	c := newCodec()
	r := typicalRecord(3)
	r.Seq = 48213
	var n int
	for i := 0; i < b.N; i++ {
		enc, err := c.encode(&r, r.Seq)
		if err != nil {
			b.Fatal(err)
		}
		n = len(enc)
	}
	b.StopTimer()
	// Version 2 as the writer writes it: the record after a first one of
	// the same point in its lap (which brought the dictionary frame); its
	// attributes are written inline (qos is a number, not a short string).
	ctx := context.Background()
	_, chip := simChip(b, "at24c64", eeprom.TornRandom, 1)
	j, err := Open(chip, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer j.Close()
	first := typicalRecord(1)
	first.Time = r.Time.Add(-100 * time.Second)
	if _, err := j.Append(ctx, first); err != nil {
		b.Fatal(err)
	}
	st0, err := j.Stats(ctx)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := j.Append(ctx, r); err != nil {
		b.Fatal(err)
	}
	st, err := j.Stats(ctx)
	if err != nil {
		b.Fatal(err)
	}
	n2 := int(st.RecordBytes - st0.RecordBytes)
	js, err := json.Marshal(r)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(n), "bytes/rec")
	b.ReportMetric(float64(n2), "v2-bytes/rec")
	b.ReportMetric(float64(frameSize(r.Seq, n2)), "v2-frame-bytes/rec")
	b.ReportMetric(float64(n)/float64(len(js)), "json-ratio")
	b.ReportMetric(float64(n2)/float64(n), "v2-ratio")
}

// BenchmarkMount reports the mount of a full AT24C256 ÷ one read of the
// whole chip, both in simulated bus time (mount-ratio), and the replay
// after it, which reads every record back from the chip (replay-ratio).
func BenchmarkMount(b *testing.B) {
	ctx := context.Background()
	sim, chip := simChip(b, "at24c256", eeprom.TornRandom, 1)
	j, err := Open(chip, Options{})
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; ; i++ {
		if _, err := j.Append(ctx, typicalRecord(i)); errors.Is(err, ErrFull) {
			break
		} else if err != nil {
			b.Fatal(err)
		}
	}
	j.Close()
	t0 := sim.Elapsed()
	if _, err := chip.ReadAt(make([]byte, chip.Size()), 0); err != nil {
		b.Fatal(err)
	}
	oneRead := sim.Elapsed() - t0
	var mount, replay time.Duration
	records := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t := sim.Elapsed()
		j, err := Open(chip, Options{})
		if err != nil {
			b.Fatal(err)
		}
		records = 0
		tr := sim.Elapsed()
		if _, err := j.Replay(ctx, func(Entry) error { records++; return nil }); err != nil {
			b.Fatal(err)
		}
		replay += sim.Elapsed() - tr
		mount += tr - t
		j.Close()
	}
	b.ReportMetric(float64(mount)/float64(b.N)/float64(oneRead), "mount-ratio")
	b.ReportMetric(float64(replay)/float64(b.N)/float64(oneRead), "replay-ratio")
	b.ReportMetric(float64(records), "records")
}

// BenchmarkWear appends and consumes 10× the capacity and reports the
// most-programmed page ÷ the mean (the simulator's true counters).
func BenchmarkWear(b *testing.B) {
	ctx := context.Background()
	var ratio float64
	for i := 0; i < b.N; i++ {
		sim, chip := simChip(b, "at24c256", eeprom.TornRandom, 1)
		j, err := Open(chip, Options{Wear: sim.Wear})
		if err != nil {
			b.Fatal(err)
		}
		st, _ := j.Stats(ctx)
		for n := 0; st.RecordBytes < uint64(10*st.CapacityBytes); n++ {
			seq, err := j.Append(ctx, typicalRecord(n))
			if err != nil {
				b.Fatal(err)
			}
			if n%40 == 39 {
				if err := j.Consume(ctx, seq); err != nil {
					b.Fatal(err)
				}
				st, _ = j.Stats(ctx)
			}
		}
		st, _ = j.Stats(ctx)
		ratio = float64(st.WearMax) / st.WearMean
		j.Close()
	}
	b.ReportMetric(ratio, "wear-ratio")
}

// BenchmarkCapacity fills an AT24C64 (the sim's part) with the sim's
// outage mix (simMixRecord: testdata/sim.toml's points, one append at a
// time as during an outage) until the journal refuses, once with the
// version-1 writer and once with version 2, side by side:
//   - capacity-ratio: version-2 records per chip ÷ version-1 records
//   - bytes/rec, v1-bytes/rec: chip bytes used per record, framing,
//     dictionary frames and page padding included
func BenchmarkCapacity(b *testing.B) {
	fill := func(opts Options) (int, float64) {
		_, chip := simChip(b, "at24c64", eeprom.TornRandom, 1)
		j, err := Open(chip, opts)
		if err != nil {
			b.Fatal(err)
		}
		defer j.Close()
		base := time.Date(2026, 12, 4, 14, 5, 24, 665e6, time.UTC)
		n := 0
		for ; ; n++ {
			if _, err := j.Append(context.Background(), simMixRecord(base, n)); errors.Is(err, ErrFull) {
				break
			} else if err != nil {
				b.Fatal(err)
			}
		}
		st, _ := j.Stats(context.Background())
		return n, float64(st.PagesUsed*chip.PageSize()) / float64(n)
	}
	var n1, n2 int
	var b1, b2 float64
	for i := 0; i < b.N; i++ {
		n1, b1 = fill(Options{legacyV1: true})
		n2, b2 = fill(Options{})
	}
	b.ReportMetric(float64(n2)/float64(n1), "capacity-ratio")
	b.ReportMetric(b2, "bytes/rec")
	b.ReportMetric(b1, "v1-bytes/rec")
	b.ReportMetric(float64(n2), "records")
}
