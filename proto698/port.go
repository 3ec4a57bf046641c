package proto698

import (
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
		if err := p.SetReadTimeout(min(left, readPoll)); err != nil {
			return fmt.Errorf("set read timeout: %w", err)
		}
		n, err := p.Read(buf)
		if n > 0 {
			d.Write(buf[:n])
		}
		if err != nil {
			return fmt.Errorf("read: %w", err)
		}
	}
}
