package proto698

import (
	"bytes"
	"errors"
	"testing"
)

// A fragment sent again because its confirm was lost is reported as a
// repeat (to be confirmed again) and changes nothing; a gap drops the APDU.
func TestReassemblerRepeatAndGap(t *testing.T) {
	apdu := make([]byte, 10)
	for i := range apdu {
		apdu[i] = byte(i + 1)
	}
	frags, err := SplitAPDU(apdu, 3, 7) // start 7, middle 8, middle 9, last 10
	if err != nil {
		t.Fatal(err)
	}
	type step struct {
		frag int   // index into frags
		err  error // wanted (errors.Is), nil for none
		done bool
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"in order", []step{{0, nil, false}, {1, nil, false}, {2, nil, false}, {3, nil, true}}},
		{"start repeated", []step{{0, nil, false}, {0, ErrRepeatedFragment, false}, {1, nil, false}, {2, nil, false}, {3, nil, true}}},
		{"middle repeated", []step{{0, nil, false}, {1, nil, false}, {1, ErrRepeatedFragment, false}, {2, nil, false}, {2, ErrRepeatedFragment, false}, {3, nil, true}}},
		{"last repeated after completion", []step{{0, nil, false}, {1, nil, false}, {2, nil, false}, {3, nil, true}, {3, ErrRepeatedFragment, false}}},
		{"lost middle", []step{{0, nil, false}, {2, ErrFragment, false}, {3, ErrFragment, false}}},
		{"lost start", []step{{1, ErrFragment, false}, {2, ErrFragment, false}}},
		{"start again restarts", []step{{0, nil, false}, {1, nil, false}, {0, nil, false}, {1, nil, false}, {2, nil, false}, {3, nil, true}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var r Reassembler
			for i, s := range tc.steps {
				f := frags[s.frag]
				out, done, err := r.Add(f.Header, f.Body)
				if s.err == nil && err != nil || s.err != nil && !errors.Is(err, s.err) {
					t.Fatalf("step %d (%s %d): err %v, want %v", i, f.Header.Type, f.Header.Seq, err, s.err)
				}
				if errors.Is(err, ErrRepeatedFragment) && errors.Is(err, ErrFragment) {
					t.Errorf("step %d: a repeat is not an out-of-sequence fragment", i)
				}
				wantEq(t, "done", done, s.done)
				if done && !bytes.Equal(out, apdu) {
					t.Errorf("step %d: APDU %X, want %X", i, out, apdu)
				}
			}
		})
	}
}
