//go:build !linux

package sched

import "time"

// blockFor blocks for d (see the Linux version).
func blockFor(d time.Duration) { time.Sleep(d) }
