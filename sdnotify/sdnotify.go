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
//
// The protocol needs only the standard library: each message is one
// datagram to the AF_UNIX socket named by $NOTIFY_SOCKET (a path, or an
// abstract-namespace name when it starts with '@'), and the watchdog
// settings are WATCHDOG_USEC and WATCHDOG_PID in the environment.
package sdnotify

import (
	"fmt"
	"log/slog"
	"math"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// The states systemd understands (sd_notify(3)).
const (
	stateReady    = "READY=1"
	stateStopping = "STOPPING=1"
	stateWatchdog = "WATCHDOG=1"
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
	wd, err := watchdogFromEnv(os.Getenv("WATCHDOG_USEC"), os.Getenv("WATCHDOG_PID"), os.Getpid())
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
		send:     func(s string) (bool, error) { return send(os.Getenv("NOTIFY_SOCKET"), s) },
	}, nil
}

// WatchdogInterval is systemd's WatchdogSec for this service, 0 when the
// watchdog is off.
func (n *Notifier) WatchdogInterval() time.Duration { return n.watchdog }

// PetInterval is how often the main loop should call Pet: half the
// watchdog interval, 0 when the watchdog is off (never pet).
func (n *Notifier) PetInterval() time.Duration { return n.watchdog / 2 }

// Ready reports that start-up is complete (READY=1).
func (n *Notifier) Ready() error { return n.notify(stateReady) }

// Stopping reports that shutdown has begun (STOPPING=1).
func (n *Notifier) Stopping() error { return n.notify(stateStopping) }

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
	if err := n.notify(stateWatchdog); err != nil {
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

// watchdogFromEnv is sd_watchdog_enabled(3): the watchdog interval systemd
// set (WATCHDOG_USEC, microseconds), 0 when it is unset or meant for another
// process (WATCHDOG_PID set and not pid). A value that is not a positive
// number of microseconds is an error.
func watchdogFromEnv(usec, wpid string, pid int) (time.Duration, error) {
	if usec == "" {
		return 0, nil
	}
	us, err := strconv.ParseInt(usec, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("WATCHDOG_USEC=%q: not a number", usec)
	}
	if us <= 0 || us > math.MaxInt64/int64(time.Microsecond) {
		return 0, fmt.Errorf("WATCHDOG_USEC=%q: not a positive duration in microseconds", usec)
	}
	if wpid != "" {
		p, err := strconv.Atoi(wpid)
		if err != nil {
			return 0, fmt.Errorf("WATCHDOG_PID=%q: not a number", wpid)
		}
		if p != pid {
			return 0, nil
		}
	}
	return time.Duration(us) * time.Microsecond, nil
}

// send is sd_notify(3): state as one datagram to the socket named by
// socket ($NOTIFY_SOCKET). It reports false, and sends nothing, when socket
// is empty (not run by systemd).
func send(socket, state string) (bool, error) {
	if socket == "" {
		return false, nil
	}
	// A leading '@' names a socket in the abstract namespace; package net
	// turns it into the leading NUL byte the kernel expects. systemd's
	// "vsock:" addresses are not used on these terminals.
	if !strings.HasPrefix(socket, "/") && !strings.HasPrefix(socket, "@") {
		return false, fmt.Errorf("NOTIFY_SOCKET=%q: not a socket path or abstract name", socket)
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: socket, Net: "unixgram"})
	if err != nil {
		return false, err
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(state)); err != nil {
		return false, err
	}
	return true, nil
}
