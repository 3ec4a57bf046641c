package console

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// lockout is the login back-off: after maxFailures failed logins in a row
// each further failure locks login for period, 2×period, 4×period … up to
// max; a successful login resets it. With a state file the failure count
// and the locked-until time survive a restart, and Consoles sharing the
// file share the lockout (each change is a read-modify-write of the file
// under an exclusive lock on path+".lock" where the platform has flock).
// Only the Serve goroutine of its Console touches a lockout.
type lockout struct {
	path        string // "": in memory only
	maxFailures int
	period, max time.Duration
	now         func() time.Time
	log         *slog.Logger

	st lockState
	// ahead: the state in memory is newer than the file (a write failed,
	// or the file was unusable); the next read keeps the stricter of the
	// two and the next update writes the file.
	ahead      bool
	failing    bool // the last write failed (and was logged)
	lockFailed bool // taking the file lock failed (and was logged)
	started    bool // the state file was read once
}

// lockState is what the state file holds.
type lockState struct {
	failures    int       // failed logins since the last success
	lockedUntil time.Time // zero: never locked
}

// attempt is the outcome of lockout.begin.
type attempt struct {
	refused  time.Duration // > 0: login is locked for this long; no attempt
	failures int           // the failures counting this attempt as one
	ifFailed time.Duration // how long login locks if this attempt fails
}

func newLockout(path string, maxFailures int, period, max time.Duration, now func() time.Time, log *slog.Logger) *lockout {
	l := &lockout{path: path, maxFailures: maxFailures, period: period, max: max, now: now, log: log}
	l.update(func(*lockState) bool { return false }) // read the state file
	l.started = true
	return l
}

// backoff is how long login locks after the failures-th failure in a row.
func (l *lockout) backoff(failures int) time.Duration {
	if failures < l.maxFailures {
		return 0
	}
	d := l.period
	for i := l.maxFailures; i < failures && d < l.max; i++ {
		d *= 2
	}
	return min(d, l.max)
}

// lockedFor returns how long login stays locked, 0 when it is not.
func (l *lockout) lockedFor() time.Duration {
	var d time.Duration
	l.update(func(st *lockState) bool {
		d = max(0, st.lockedUntil.Sub(l.now()))
		return false
	})
	return d
}

// begin starts a login attempt. Unless login is locked it counts the
// attempt as a failure, and locks login if that failure would, before the
// password is checked: a crash or a concurrent session during the check
// cannot spare the attempt. succeed undoes it.
func (l *lockout) begin() attempt {
	var a attempt
	l.update(func(st *lockState) bool {
		now := l.now()
		if d := st.lockedUntil.Sub(now); d > 0 {
			a.refused = d
			return false
		}
		st.failures++
		a.failures = st.failures
		if a.ifFailed = l.backoff(st.failures); a.ifFailed > 0 {
			st.lockedUntil = now.Add(a.ifFailed)
		}
		return true
	})
	return a
}

// succeed resets the lockout after a successful login.
func (l *lockout) succeed() {
	l.update(func(st *lockState) bool {
		changed := *st != lockState{}
		*st = lockState{}
		return changed
	})
}

// update brings the state up to date with the state file, applies f, and
// writes the state back if f (or bounding a lock the clock no longer
// explains) changed it. All under the file lock.
func (l *lockout) update(f func(*lockState) bool) {
	if l.path != "" {
		unlock, err := lockFile(l.path + ".lock")
		if err != nil && !l.lockFailed {
			l.log.Warn("console: lockout state not locked against other consoles", "path", l.path, "err", err)
		}
		l.lockFailed = err != nil
		defer unlock()
		l.reload()
	}
	changed := f(&l.st)
	// A lock ends within max of now whatever the file says: a clock set
	// back (an RTC that lost its time) never locks the console forever.
	if limit := l.now().Add(l.max); l.st.lockedUntil.After(limit) {
		l.st.lockedUntil = limit
		changed = true
	}
	if (changed || l.ahead) && l.path != "" {
		if err := writeLockState(l.path, l.st); err != nil {
			if !l.failing {
				l.log.Error("console: write lockout state; kept in memory", "path", l.path, "err", err)
			}
			l.ahead, l.failing = true, true
			return
		}
		if l.failing {
			l.log.Info("console: lockout state written again", "path", l.path)
		}
		l.ahead, l.failing = false, false
	}
}

// reload reads the state file another Console may have changed.
func (l *lockout) reload() {
	st, err := readLockState(l.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		st = lockState{}
	case err != nil && !l.started:
		// Unusable at start-up: fail safe, but not forever — locked for
		// one period, as after the failure that first locks it; the
		// file is replaced.
		l.log.Error("console: lockout state unusable; login locked for one lockout period",
			"path", l.path, "err", err, "for", l.period)
		l.st = lockState{failures: l.maxFailures, lockedUntil: l.now().Add(l.period)}
		l.ahead = true
		return
	case err != nil:
		// Spoilt since: keep the state in memory and replace the file
		// with it.
		if !l.ahead {
			l.log.Error("console: lockout state unusable; keeping the state in memory", "path", l.path, "err", err)
		}
		l.ahead = true
		return
	}
	if l.ahead {
		// The file missed a change of ours: the stricter of the two.
		st.failures = max(st.failures, l.st.failures)
		if l.st.lockedUntil.After(st.lockedUntil) {
			st.lockedUntil = l.st.lockedUntil
		}
	}
	l.st = st
}

// The state file, four lines of text:
//
//	holdup-console-lockout 1
//	failures 6
//	locked-until 2026-11-26T21:10:00Z
//	crc32 0a1b2c3d
//
// failures counts the failed logins since the last success; locked-until
// is when the current lock ends (RFC 3339, UTC; "-" when login was never
// locked); crc32 is the IEEE CRC-32 of the lines before it, in hex.
const lockMagic = "holdup-console-lockout 1"

func encodeLockState(st lockState) []byte {
	until := "-"
	if !st.lockedUntil.IsZero() {
		until = st.lockedUntil.UTC().Format(time.RFC3339Nano)
	}
	body := fmt.Sprintf("%s\nfailures %d\nlocked-until %s\n", lockMagic, st.failures, until)
	return fmt.Appendf(nil, "%scrc32 %08x\n", body, crc32.ChecksumIEEE([]byte(body)))
}

func decodeLockState(b []byte) (lockState, error) {
	var st lockState
	i := bytes.LastIndex(b, []byte("crc32 "))
	if i < 0 {
		return st, errors.New("no crc32 line")
	}
	body := b[:i]
	sum, err := strconv.ParseUint(strings.TrimSuffix(string(b[i+len("crc32 "):]), "\n"), 16, 32)
	if err != nil {
		return st, fmt.Errorf("crc32 line: %w", err)
	}
	if got := crc32.ChecksumIEEE(body); got != uint32(sum) {
		return st, fmt.Errorf("crc32 %08x, the content sums to %08x", sum, got)
	}
	sc := bufio.NewScanner(bytes.NewReader(body))
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) != 3 || lines[0] != lockMagic {
		return st, fmt.Errorf("not a %q file", lockMagic)
	}
	n, ok := strings.CutPrefix(lines[1], "failures ")
	if st.failures, err = strconv.Atoi(n); !ok || err != nil || st.failures < 0 {
		return st, fmt.Errorf("bad line %q", lines[1])
	}
	until, ok := strings.CutPrefix(lines[2], "locked-until ")
	if !ok {
		return st, fmt.Errorf("bad line %q", lines[2])
	}
	if until != "-" {
		if st.lockedUntil, err = time.Parse(time.RFC3339Nano, until); err != nil {
			return st, fmt.Errorf("locked-until: %w", err)
		}
	}
	return st, nil
}

func readLockState(path string) (lockState, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return lockState{}, err
	}
	if len(b) > 4096 {
		return lockState{}, fmt.Errorf("%d bytes, too large", len(b))
	}
	return decodeLockState(b)
}

// writeLockState replaces the state file atomically: a temporary file
// written and synced, renamed over it, and the directory synced.
func writeLockState(path string, st lockState) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(encodeLockState(st))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
