package proto698

import (
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// The frame-header path (DecodeFrame, AppendFrame into a reused buffer)
// must not allocate.
func TestHeaderPathAllocFree(t *testing.T) {
	var f Frame
	if n := testing.AllocsPerRun(100, func() { f, _, _ = DecodeFrame(voltageResponse) }); n != 0 {
		t.Errorf("DecodeFrame: %v allocs/op, want 0", n)
	}
	buf := make([]byte, 0, 64)
	if n := testing.AllocsPerRun(100, func() { buf, _ = AppendFrame(buf[:0], &f) }); n != 0 {
		t.Errorf("AppendFrame: %v allocs/op, want 0", n)
	}
	// Including resynchronisation over false starts (0x68 in line noise).
	noisy := append([]byte{0x68, 0x05, 0x00, 0x43, 0x68, 0xFF, 0x68, 0x24, 0x00, 0xC3, 0x05, 1, 2, 3, 4, 5, 6, 7, 8, 9}, voltageResponse...)
	var d Deframer
	d.Write(noisy)
	if n := testing.AllocsPerRun(100, func() {
		d.Write(noisy)
		if _, skipped, ok := d.Next(); !ok || skipped == 0 {
			t.Fatalf("deframer: ok=%v skipped=%d", ok, skipped)
		}
	}); n != 0 {
		t.Errorf("Deframer: %v allocs/op, want 0", n)
	}
}

func BenchmarkDecodeFrame(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(voltageResponse)))
	for b.Loop() {
		if _, _, err := DecodeFrame(voltageResponse); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeFrameAndAPDU(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(voltageResponse)))
	for b.Loop() {
		f, _, err := DecodeFrame(voltageResponse)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := DecodeAPDU(f.Data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeFrame(b *testing.B) {
	f, _, _ := DecodeFrame(voltageResponse)
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	b.SetBytes(int64(len(voltageResponse)))
	for b.Loop() {
		buf, _ = AppendFrame(buf[:0], &f)
	}
	b.ReportMetric(float64(len(buf)), "frame-bytes")
}

func BenchmarkEncodeFrameAndAPDU(b *testing.B) {
	f, _, _ := DecodeFrame(voltageResponse)
	a, _ := DecodeAPDU(f.Data)
	apdu := make([]byte, 0, 64)
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	b.SetBytes(int64(len(voltageResponse)))
	for b.Loop() {
		apdu, _ = AppendAPDU(apdu[:0], a)
		f.Data = apdu
		buf, _ = AppendFrame(buf[:0], &f)
	}
}

// BenchmarkDeframer measures stream deframing of the voltage frame behind
// a 4-byte FE preamble and 3 bytes of line noise, fed in 16-byte reads.
func BenchmarkDeframer(b *testing.B) {
	var stream []byte
	for range 64 {
		stream = append(stream, 0x00, 0x68, 0xFF, 0xFE, 0xFE, 0xFE, 0xFE)
		stream = append(stream, voltageResponse...)
	}
	var d Deframer
	frames := 0
	b.ReportAllocs()
	b.SetBytes(int64(len(stream)))
	for b.Loop() {
		for i := 0; i < len(stream); i += 16 {
			d.Write(stream[i:min(i+16, len(stream))])
			for {
				if _, _, ok := d.Next(); !ok {
					break
				}
				frames++
			}
		}
	}
	b.ReportMetric(float64(frames)/float64(b.N), "frames/op")
}

// BenchmarkGetLatencyUnderFlood (issue 13 part 6): the terminal's answer
// latency to a master's GET while the same master connection floods it
// with 10,000 GET/s stays within 2x its unloaded latency. An Uplink with
// a fast Server runs against a hand-written master over loopback TCP; a
// probe GET (its own PIID and OAD) is sent and its answer awaited, b.N
// times (at least 300) unloaded and as often under the flood, one a
// millisecond. Reported: latency-ratio
// (median loaded / median unloaded), the medians in µs, the flood rate
// achieved, and how many probes were refused busy (DAR temporarily
// unavailable) rather than answered. And where the CPU goes in the loaded
// phase: cpu-share is the process's CPU time per wall second (rusage),
// generator-share the part of each wall second the benchmark's own
// master (flood writer and answer reader) was busy. Measured with
// -cpu 1 (issue 13 leftover 5): generator-share is 1-4 %, cpu-share
// about 25 %, so the generator is not what slows the terminal. The
// probe, sent on a millisecond tick like the flood's bursts of ~10 GETs,
// queues behind a burst in the same stream, and on one CPU each of those
// costs ~20 µs (profiled: the per-request goroutines and hand-offs, the
// answer's write syscall, a third of the CPU); batching the answers into
// one write was tried and did not move the loaded median. The remaining
// single-CPU ratio (3-6, vs ≤ 2 on two CPUs) is that per-request cost
// times the burst, not hidden here.
func BenchmarkGetLatencyUnderFlood(b *testing.B) {
	const floodRate = 10_000 // GET/s
	m, _ := startLinkMaster(b, UplinkConfig{Heartbeat: time.Hour, ByteTimeout: time.Second})
	probeOAD := NewOAD(0x40010200)
	probeFrame := m.frame(m.request(), &GetRequestNormal{PIID: 63, OAD: probeOAD})
	answers := make(chan DAR, 1) // probe answers: DARSuccess or the refusal
	var flooded atomic.Int64     // flood answers read
	var genBusy atomic.Int64     // ns the generator (reader, flood writer) was busy
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the master's reader
		defer wg.Done()
		var d Deframer
		buf := make([]byte, 64<<10)
		for {
			n, err := m.c.Read(buf)
			t0 := time.Now()
			d.Write(buf[:n])
			for {
				raw, _, ok := d.Next()
				if !ok {
					break
				}
				f, _, ferr := DecodeFrame(raw)
				if ferr != nil || f.Control.Function() != FuncUserData {
					continue
				}
				// Only the probe's answer (PIID 63) is decoded: the
				// master's own work stays out of the terminal's figure.
				if len(f.Data) < 3 || f.Data[2]&0x3F != 63 {
					flooded.Add(1)
					continue
				}
				a, aerr := DecodeAPDU(f.Data)
				r, ok := a.(*GetResponseNormal)
				if aerr != nil || !ok || r.Result.OAD != probeOAD {
					continue
				}
				dar := DARSuccess
				if r.Result.Data == nil {
					dar = r.Result.DAR
				}
				answers <- dar
			}
			genBusy.Add(int64(time.Since(t0)))
			if err != nil {
				return
			}
		}
	}()
	defer func() {
		m.c.Close()
		wg.Wait()
	}()
	probes := max(b.N, 300) // medians of at least 300 (make bench runs 1x)
	probe := func() (time.Duration, bool) {
		start := time.Now()
		m.raw(probeFrame)
		select {
		case dar := <-answers:
			return time.Since(start), dar == DARSuccess
		case <-time.After(10 * time.Second):
			b.Fatal("no answer to the probe GET")
			return 0, false
		}
	}
	// One probe a millisecond in both phases, so the flood is under way
	// for the whole loaded phase.
	measure := func() (median time.Duration, refused int) {
		lat := make([]time.Duration, 0, probes)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for range probes {
			<-tick.C
			d, ok := probe()
			if !ok {
				refused++
			}
			lat = append(lat, d)
		}
		slices.Sort(lat)
		return lat[len(lat)/2], refused
	}
	for range 50 { // warm up the connection and the goroutines
		probe()
	}
	b.ResetTimer()
	unloaded, _ := measure()

	// The flood: every millisecond the GETs due by then at floodRate (a
	// late tick catches up), written as one burst, on PIIDs other than the
	// probe's.
	var sent atomic.Int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		var frames [][]byte
		for i := range 62 {
			frames = append(frames, m.frame(m.request(), &GetRequestNormal{PIID: PIID(i + 1), OAD: NewOAD(0x20000200 + uint32(i))}))
		}
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		start, n := time.Now(), 0
		var burst []byte
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			t0 := time.Now()
			due := int(time.Since(start).Seconds() * floodRate)
			burst = burst[:0]
			for ; n < due; n++ {
				burst = append(burst, frames[n%len(frames)]...)
			}
			if _, err := m.c.Write(burst); err != nil {
				return
			}
			sent.Store(int64(n))
			genBusy.Add(int64(time.Since(t0)))
		}
	}()
	time.Sleep(20 * time.Millisecond) // the flood under way
	floodStart, sentBefore, busyBefore, cpuBefore := time.Now(), sent.Load(), genBusy.Load(), processCPU()
	loaded, refused := measure()
	wall := time.Since(floodStart)
	rate := float64(sent.Load()-sentBefore) / wall.Seconds()
	cpuShare := float64(processCPU()-cpuBefore) / float64(wall)
	genShare := float64(genBusy.Load()-busyBefore) / float64(wall)
	close(stop)
	b.StopTimer()

	b.ReportMetric(float64(loaded)/float64(unloaded), "latency-ratio")
	b.ReportMetric(float64(unloaded.Microseconds()), "unloaded-µs")
	b.ReportMetric(float64(loaded.Microseconds()), "loaded-µs")
	b.ReportMetric(rate, "flood-GET/s")
	b.ReportMetric(float64(refused), "refused-probes")
	b.ReportMetric(cpuShare, "cpu-share")
	b.ReportMetric(genShare, "generator-share")
}

// processCPU is the CPU time (user and system) the process used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
