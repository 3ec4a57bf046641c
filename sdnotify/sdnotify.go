// Package sdnotify tells systemd how the daemon is doing, over the notify
// protocol (sd_notify): READY=1 once start-up is done, WATCHDOG=1 from the
// daemon's main loop, STOPPING=1 on shutdown, STATUS= for `systemctl
// status`.
//
// It owns no goroutine and no timer: the watchdog is petted only when the
// caller's main loop calls Pet, so a stuck loop stops the pings and systemd
// restarts the service. The loop learns how often to pet from PetInterval
// (half of WatchdogSec, from WATCHDOG_USEC).
//
// Outside systemd (no NOTIFY_SOCKET) every call is a cheap no-op.
package sdnotify

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
)

// Notifier sends notify-protocol messages. It is meant to be used from the
// daemon's main goroutine; it is not safe for concurrent use.
type Notifier struct {
	watchdog time.Duration // WatchdogSec; 0 when the watchdog is off
	now      func() time.Time
	log      *slog.Logger
	lastPet  time.Time
	send     func(state string) (bool, error)
}

// New reads the watchdog settings systemd passed in the environment
// (WATCHDOG_USEC, WATCHDOG_PID). A nil logger discards.
func New(log *slog.Logger) (*Notifier, error) {
	wd, err := daemon.SdWatchdogEnabled(false)
	if err != nil {
		return nil, fmt.Errorf("sdnotify: watchdog settings: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Notifier{
		watchdog: wd,
		now:      time.Now,
		log:      log,
		send:     func(s string) (bool, error) { return daemon.SdNotify(false, s) },
	}, nil
}

// WatchdogInterval is systemd's WatchdogSec for this service, 0 when the
// watchdog is off.
func (n *Notifier) WatchdogInterval() time.Duration { return n.watchdog }

// PetInterval is how often the main loop should call Pet: half the
// watchdog interval, 0 when the watchdog is off (never pet).
func (n *Notifier) PetInterval() time.Duration { return n.watchdog / 2 }

// Ready reports that start-up is complete (READY=1).
func (n *Notifier) Ready() error { return n.notify(daemon.SdNotifyReady) }

// Stopping reports that shutdown has begun (STOPPING=1).
func (n *Notifier) Stopping() error { return n.notify(daemon.SdNotifyStopping) }

// Status sets the one-line status `systemctl status` shows (STATUS=…).
func (n *Notifier) Status(msg string) error { return n.notify("STATUS=" + msg) }

// Pet sends WATCHDOG=1. Call it from the main loop each time it has
// proven itself alive, at least every PetInterval. Pings closer together
// than a quarter of the watchdog interval are skipped, so calling Pet on
// every loop iteration costs nothing. It does nothing when the watchdog is
// off.
func (n *Notifier) Pet() error {
	if n.watchdog <= 0 {
		return nil
	}
	now := n.now()
	if !n.lastPet.IsZero() && now.Sub(n.lastPet) < n.watchdog/4 {
		return nil
	}
	if err := n.notify(daemon.SdNotifyWatchdog); err != nil {
		return err
	}
	n.lastPet = now
	return nil
}

func (n *Notifier) notify(state string) error {
	sent, err := n.send(state)
	if err != nil {
		return fmt.Errorf("sdnotify: send %q: %w", state, err)
	}
	if sent {
		n.log.Debug("sd_notify", "state", state)
	}
	return nil
}
