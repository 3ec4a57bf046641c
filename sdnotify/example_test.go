package sdnotify_test

import (
	"context"
	"time"

	"holdup/sdnotify"
)

// The daemon's main loop pets the watchdog itself: if the loop stops, the
// pings stop and systemd restarts the service.
func ExampleNotifier() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	n, err := sdnotify.New(nil)
	if err != nil {
		return
	}
	// … start-up, cold replay …
	_ = n.Ready()
	var pet <-chan time.Time
	if iv := n.PetInterval(); iv > 0 {
		t := time.NewTicker(iv)
		defer t.Stop()
		pet = t.C
	}
	events := make(chan struct{})
	for {
		select {
		case <-ctx.Done():
			_ = n.Stopping()
			return
		case <-pet:
			_ = n.Pet() // only reached when the loop is alive
		case <-events:
			// … handle power and device events …
		}
	}
}
