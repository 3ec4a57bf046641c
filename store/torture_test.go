package store

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"holdup/eeprom"
)

var (
	tortureSeed    = flag.Uint64("torture.seed", 1, "seed of the power-cut torture workload")
	tortureAppends = flag.Int("torture.appends", 0, "appends in the torture workload (default 2000; 400 with -short)")
)

// logDev records every page program the journal issues, with what the
// workload had been told at that instant.
type logDev struct {
	*eeprom.Chip
	mu     sync.Mutex
	writes []progOp
	state  *workState
}

type progOp struct {
	off      int64
	data     []byte
	acked    int    // appends whose Append had returned (prefix of state.acked)
	consumed uint64 // highest Consume that had returned
	trying   uint64 // highest Consume called so far
}

type ackedRec struct {
	seq uint64
	raw []byte
}

// workState is the workload's knowledge, under its own lock.
type workState struct {
	mu        sync.Mutex
	acked     []ackedRec
	submitted map[string][]byte // device name → record, to identify in-flight ones
	consumed  uint64
	trying    uint64
}

func (d *logDev) WriteAt(p []byte, off int64) (int, error) {
	d.state.mu.Lock()
	op := progOp{off: off, data: append([]byte(nil), p...), acked: len(d.state.acked),
		consumed: d.state.consumed, trying: d.state.trying}
	d.state.mu.Unlock()
	d.mu.Lock()
	d.writes = append(d.writes, op)
	d.mu.Unlock()
	return d.Chip.WriteAt(p, off)
}

func tortureRecord(rng *rand.Rand, i int) Record {
	r := typicalRecord(i)
	r.Device = fmt.Sprintf("dev-%06d", i) // identifies the submission
	switch rng.IntN(4) {
	case 0: // small reading
		r.Business, r.Attrs, r.Value = BusinessCollection, nil, rng.Float64()*300
		r.Integrity = Integrity{Kind: IntegrityCRC16X25, Value: uint32(rng.IntN(1 << 16))}
	case 1: // large record spanning several pages
		r.Value = bytes.Repeat([]byte{byte(i)}, 40+rng.IntN(160))
	}
	return r
}

// runWorkload appends n records from 4 producers and consumes in between,
// on a journal over dev.
// With v1First the chip is first written by the version-1 writer (records
// left unconsumed), so the cuts cover the upgrade to version 2 as well.
func runWorkload(t *testing.T, dev *logDev, seed uint64, n int, v1First bool) {
	ctx := context.Background()
	st := dev.state
	c := newCodec()
	if v1First {
		old, err := Open(dev, Options{legacyV1: true})
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(seed, 7))
		for i := 0; i < 40; i++ {
			rec := tortureRecord(rng, i)
			rec.Device = fmt.Sprintf("v1-%06d", i)
			st.submitted[rec.Device], _ = c.encode(&rec, 0)
			seq, err := old.Append(ctx, rec)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := c.encode(&rec, seq)
			st.acked = append(st.acked, ackedRec{seq: seq, raw: raw})
		}
		old.Close()
	}
	j, err := Open(dev, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	var wg sync.WaitGroup
	const producers = 4
	for p := 0; p < producers; p++ {
		wg.Add(1)
		go func(p int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(p)))
			for i := p; i < n; i += producers {
				rec := tortureRecord(rng, i)
				st.mu.Lock()
				st.submitted[rec.Device], _ = c.encode(&rec, 0)
				st.mu.Unlock()
				seq, err := j.Append(ctx, rec)
				if errors.Is(err, ErrFull) {
					continue
				}
				if err != nil {
					t.Error(err)
					return
				}
				raw, _ := c.encode(&rec, seq)
				st.mu.Lock()
				st.acked = append(st.acked, ackedRec{seq: seq, raw: raw})
				st.mu.Unlock()
				if i%37 == 0 {
					// Consume what had been acknowledged a while ago.
					st.mu.Lock()
					upto := uint64(0)
					if k := len(st.acked) - 20; k > 0 {
						upto = st.acked[k].seq
						for _, a := range st.acked[:k] {
							upto = max(upto, a.seq)
						}
					}
					if upto > st.trying {
						st.trying = upto
					} else {
						upto = 0
					}
					st.mu.Unlock()
					if upto > 0 {
						if err := j.Consume(ctx, upto); err != nil {
							t.Error(err)
							return
						}
						st.mu.Lock()
						st.consumed = max(st.consumed, upto)
						st.mu.Unlock()
					}
				}
			}
		}(p)
	}
	wg.Wait()
	// Phase 2: consume everything, then append without consuming until the
	// ring is full: the writer laps the page holding the newest marker.
	consumeAll := func() {
		st.mu.Lock()
		upto := uint64(0)
		for _, a := range st.acked {
			upto = max(upto, a.seq)
		}
		st.trying = max(st.trying, upto)
		st.mu.Unlock()
		if err := j.Consume(ctx, upto); err != nil {
			t.Error(err)
		}
		st.mu.Lock()
		st.consumed = max(st.consumed, upto)
		st.mu.Unlock()
	}
	consumeAll()
	rng := rand.New(rand.NewPCG(seed, 99))
	for i := n; i < n+2000; i++ {
		rec := tortureRecord(rng, i)
		st.mu.Lock()
		st.submitted[rec.Device], _ = c.encode(&rec, 0)
		st.mu.Unlock()
		seq, err := j.Append(ctx, rec)
		if errors.Is(err, ErrFull) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := c.encode(&rec, seq)
		st.mu.Lock()
		st.acked = append(st.acked, ackedRec{seq: seq, raw: raw})
		st.mu.Unlock()
	}
	consumeAll()
}

// TestTorture cuts the power at every page write of a workload (appends
// from four producers with consumes between them, then the ring filled
// without consuming, so the writer laps the marker's page) and checks each
// remount (see torture). The full form (make torture) runs 2000 appends
// on an AT24C256; with -short (the unit tests) 300 on an AT24C64, whose
// ring is a quarter as long, so the short form still laps the chip, wraps
// frames across its end, refreshes dictionary entries and fills it, at
// every cut point, every torn mode and the version-1 upgrade, in a
// fraction of the time (each remount scans a quarter of the bytes).
// -torture.seed and -torture.appends pick another workload.
func TestTorture(t *testing.T) {
	n := *tortureAppends
	part := "at24c256"
	if n == 0 {
		n = 2000
		if testing.Short() {
			n, part = 300, "at24c64"
		}
	}
	for _, mode := range []eeprom.TornMode{eeprom.TornOld, eeprom.TornNew, eeprom.TornRandom} {
		t.Run(mode.String(), func(t *testing.T) {
			t.Parallel()
			torture(t, part, mode, *tortureSeed, n, false)
		})
	}
	// The upgrade: a chip holding unconsumed version-1 records, then the
	// version-2 writer with its dictionary frames, cut at every write.
	t.Run("v1-to-v2", func(t *testing.T) {
		t.Parallel()
		torture(t, part, eeprom.TornRandom, *tortureSeed+1, n/2, true)
	})
}

func torture(t *testing.T, partName string, mode eeprom.TornMode, seed uint64, n int, v1First bool) {
	_, chip := simChip(t, partName, mode, seed)
	dev := &logDev{Chip: chip, state: &workState{submitted: map[string][]byte{}}}
	runWorkload(t, dev, seed, n, v1First)
	if t.Failed() {
		return
	}
	st := dev.state
	byDevice := func(raw []byte) string {
		r, err := newCodec().decode(raw)
		if err != nil {
			return ""
		}
		return r.Device
	}
	part := chip.Part()
	if len(dev.writes) <= part.Pages() {
		t.Fatalf("%d page writes on %d pages: the workload must lap the chip", len(dev.writes), part.Pages())
	}
	img := bytes.Repeat([]byte{0xFF}, part.Size)
	c := newCodec()
	t.Logf("%s on %s: %d appends acknowledged, %d program ops, consumed up to %d", mode, partName, len(st.acked), len(dev.writes), st.consumed)
	var id string // the identity the format (write 1) gave the journal
	for k, op := range dev.writes {
		// Power is cut while write k programs its page.
		sim := eeprom.NewSim(eeprom.SimConfig{Part: part, Torn: mode, Seed: seed + uint64(k)})
		if err := sim.Load(img); err != nil {
			t.Fatal(err)
		}
		cchip, _ := eeprom.NewChip(sim, part, 0x50)
		sim.CutAt(1)
		if _, err := cchip.WriteAt(op.data, op.off); !errors.Is(err, eeprom.ErrPowerCut) {
			t.Fatalf("cut %d: write returned %v", k+1, err)
		}
		sim.PowerOn()
		j, err := Open(cchip, Options{})
		if err != nil {
			t.Fatalf("cut %d: remount: %v", k+1, err)
		}
		rep := j.MountReport()
		if k > 0 {
			if id == "" {
				id = rep.ID
			}
			if rep.ID != id {
				t.Fatalf("cut %d: journal identity changed from %s to %s", k+1, id, rep.ID)
			}
		}
		if rep.Consumed != op.consumed && rep.Consumed != op.trying && !(rep.Consumed > op.consumed && rep.Consumed <= op.trying) {
			t.Fatalf("cut %d: consumed mark %d, want %d (or the in-flight %d)", k+1, rep.Consumed, op.consumed, op.trying)
		}
		got := collect(t, j)
		present := make(map[uint64][]byte, len(got))
		var prev uint64
		for _, e := range got {
			if e.Seq <= prev {
				t.Fatalf("cut %d: sequence %d after %d", k+1, e.Seq, prev)
			}
			prev = e.Seq
			if e.Seq <= rep.Consumed {
				t.Fatalf("cut %d: consumed record %d replayed", k+1, e.Seq)
			}
			present[e.Seq] = e.Raw
			// Never appended? Every replayed record is a submitted one.
			st.mu.Lock()
			sub, ok := st.submitted[e.Record.Device]
			st.mu.Unlock()
			r := e.Record
			r.Seq = 0
			again, _ := c.encode(&r, 0)
			if !ok || !bytes.Equal(sub, again) {
				t.Fatalf("cut %d: record %d (%s) was never appended", k+1, e.Seq, byDevice(e.Raw))
			}
		}
		st.mu.Lock()
		acked := st.acked[:op.acked]
		st.mu.Unlock()
		for _, a := range acked {
			if a.seq <= rep.Consumed {
				continue
			}
			raw, ok := present[a.seq]
			if !ok {
				t.Fatalf("cut %d (torn %s): acknowledged record %d lost (consumed %d)", k+1, mode, a.seq, rep.Consumed)
			}
			if !bytes.Equal(raw, a.raw) {
				t.Fatalf("cut %d: record %d differs from what was appended", k+1, a.seq)
			}
		}
		// Appending continues, and consuming everything works.
		rec := typicalRecord(k)
		seq, err := j.Append(context.Background(), rec)
		if err != nil && !errors.Is(err, ErrFull) {
			t.Fatalf("cut %d: append after remount: %v", k+1, err)
		}
		if err == nil {
			if seq <= prev || seq <= rep.Consumed {
				t.Fatalf("cut %d: new sequence %d not above %d", k+1, seq, prev)
			}
			if err := j.Consume(context.Background(), seq); err != nil {
				t.Fatalf("cut %d: consume after remount: %v", k+1, err)
			}
		}
		j.Close()
		// The uncut image advances by write k.
		copy(img[op.off:], op.data)
	}
}
