//go:build !linux

package daemon

import (
	"errors"
	"fmt"
	"time"
)

// setSystemClock is not implemented off Linux.
func setSystemClock(t time.Time) error {
	return fmt.Errorf("daemon: set the system clock to %s: %w", t.Format(time.RFC3339), errors.ErrUnsupported)
}
