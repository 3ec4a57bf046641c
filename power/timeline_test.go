package power

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestTimelineRingAndWait(t *testing.T) {
	tl := NewTimeline(16, nil)
	for i := 0; i < 20; i++ {
		tl.Add(t0.Add(time.Duration(i)*time.Second), StepOutageRepeated, "")
	}
	got := tl.Entries()
	if len(got) != 16 || got[0].Seq != 5 || got[15].Seq != 20 {
		t.Fatalf("ring kept seqs %d..%d (%d entries), want 5..20", got[0].Seq, got[len(got)-1].Seq, len(got))
	}
	if s := tl.Since(18); len(s) != 2 || s[0].Seq != 19 {
		t.Fatalf("Since(18) = %+v", s)
	}
	changed := tl.Changed()
	done := make(chan Entry, 1)
	last := tl.Last()
	go func() {
		e, err := tl.Wait(context.Background(), StepCompletion, last)
		if err != nil {
			t.Error(err)
		}
		done <- e
	}()
	tl.Add(t0.Add(time.Minute), StepCompletion, "1 record")
	select {
	case <-changed:
	default:
		t.Fatal("Changed channel not closed by Add")
	}
	if e := <-done; e.Seq != 21 || e.Step != StepCompletion {
		t.Fatalf("Wait returned %+v", e)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := tl.Wait(ctx, StepColdStart, 0); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait on a cancelled ctx: %v", err)
	}
	if f := got[0].Format(t0); f != "+4s          1-1 outage report repeated" {
		t.Fatalf("Format = %q", f)
	}
}
