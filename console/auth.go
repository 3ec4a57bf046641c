package console

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// HashCost is the bcrypt cost HashPassword uses: about a quarter second
// per login on a Cortex-A7, which is what slows a guesser down between
// lockouts.
const HashCost = 10

// ErrBadPassword is returned by HashPassword for a password it will not
// hash.
var ErrBadPassword = errors.New("console: unusable password")

// HashPassword returns the bcrypt hash for console.password_hash. The
// password must be 8 to 72 bytes of printable ASCII (what the console line
// accepts).
func HashPassword(password string) (string, error) {
	if len(password) < 8 || len(password) > 72 {
		return "", fmt.Errorf("%w: length %d, want 8..72 bytes", ErrBadPassword, len(password))
	}
	for i := 0; i < len(password); i++ {
		if c := password[i]; c < 0x20 || c > 0x7e {
			return "", fmt.Errorf("%w: byte 0x%02X at %d is not printable ASCII", ErrBadPassword, c, i)
		}
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), HashCost)
	if err != nil {
		return "", fmt.Errorf("console: hash password: %w", err)
	}
	return string(h), nil
}

// auth is the console session's login state; lockout is the back-off
// on failed logins. Only the Serve goroutine touches them.
type auth struct {
	hash []byte
	idle time.Duration
	now  func() time.Time
	lock *lockout

	loggedIn   bool
	lastActive time.Time
}

// touch records operator activity and ends an idle login. It reports
// whether the session timed out.
func (a *auth) touch() bool {
	now := a.now()
	expired := a.loggedIn && a.idle > 0 && now.Sub(a.lastActive) > a.idle
	if expired {
		a.loggedIn = false
	}
	a.lastActive = now
	return expired
}

// check is one login attempt with password. Unless login is locked
// (attempt.refused) the attempt counts as a failure before the password is
// checked and is undone when it was right. bcrypt compares the derived
// keys in constant time; the cost is the same for a right and a wrong
// password.
func (a *auth) check(password string) (ok bool, at attempt) {
	if at = a.lock.begin(); at.refused > 0 {
		return false, at
	}
	if bcrypt.CompareHashAndPassword(a.hash, []byte(password)) != nil {
		return false, at
	}
	a.lock.succeed()
	a.loggedIn = true
	a.lastActive = a.now()
	return true, at
}
