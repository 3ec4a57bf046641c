package proto698

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// Port is the byte link the AC-sampling client drives: a serial port
// (go.bug.st/serial's Port satisfies it) or anything else with the same
// read-timeout semantics — Read returns (0, nil) when the timeout expires
// with no byte.
type Port interface {
	io.ReadWriter
	SetReadTimeout(t time.Duration) error
}

// inputResetter is implemented by serial ports that can drop stale input.
type inputResetter interface{ ResetInputBuffer() error }

// readPoll caps one blocking read so context cancellation is noticed.
const readPoll = 50 * time.Millisecond

// ErrNoAnswer: the peer did not answer within the timeout (after retries).
var ErrNoAnswer = errors.New("no answer")

// readFrames reads from p into d until accept returns true for a frame or
// the deadline or context ends. Frames accept rejects are dropped (it may
// log them). buf is the read buffer.
func readFrames(ctx context.Context, p Port, d *Deframer, buf []byte, deadline time.Time, accept func(raw []byte, skipped int) bool) error {
	return readLine(ctx, p, d, buf, deadline, 0, nil, accept)
}

// readLine is readFrames with an inter-byte timeout: when the line has
// been silent for byteTimeout (read timeouts that returned no byte, added
// up) while a partial frame waits, the partial frame is dropped
// (Deframer.Expire), expired is told how many bytes were buffered and
// dropped, and the frames the partial one had swallowed go to accept.
// byteTimeout 0 waits for the rest of a frame until the deadline.
func readLine(ctx context.Context, p Port, d *Deframer, buf []byte, deadline time.Time, byteTimeout time.Duration, expired func(buffered, dropped int), accept func(raw []byte, skipped int) bool) error {
	var silent time.Duration // since the last byte, while a frame is partial
	for {
		for {
			raw, skipped, ok := d.Next()
			if !ok {
				break
			}
			if accept(raw, skipped) {
				return nil
			}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		left := time.Until(deadline)
		if left <= 0 {
			return ErrNoAnswer
		}
		wait := min(left, readPoll)
		partial := byteTimeout > 0 && d.Buffered() > 0
		if partial {
			wait = min(wait, byteTimeout-silent)
		}
		if err := p.SetReadTimeout(wait); err != nil {
			return fmt.Errorf("set read timeout: %w", err)
		}
		n, err := p.Read(buf)
		if n > 0 {
			d.Write(buf[:n])
			silent = 0
		} else if partial && err == nil {
			if silent += wait; silent >= byteTimeout {
				silent = 0
				buffered := d.Buffered()
				var found [][]byte
				dropped := d.Expire(func(raw []byte) { found = append(found, bytes.Clone(raw)) })
				if expired != nil {
					expired(buffered, dropped)
				}
				for _, raw := range found {
					if accept(raw, 0) {
						return nil
					}
				}
			}
		}
		if err != nil {
			return fmt.Errorf("read: %w", err)
		}
	}
}
