package console

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"time"
)

// Width is the widest line the console prints.
const Width = 80

// Options configure a Console.
type Options struct {
	State   State   // required
	Actions Actions // required
	// PasswordHash is the bcrypt hash from console.password_hash; empty
	// disables login and with it every command but help.
	PasswordHash string
	// LockoutFailures failed logins in a row lock login for LockoutPeriod;
	// each further failure doubles the lock, up to LockoutMax. A
	// successful login resets it.
	LockoutFailures int           // default 5
	LockoutPeriod   time.Duration // default 5m
	LockoutMax      time.Duration // default 16 × LockoutPeriod
	// StatePath is the file that keeps the lockout (failures, locked
	// until) across restarts, shared by the Consoles that name it; empty:
	// in memory only. An unusable file is logged and locks login for one
	// LockoutPeriod.
	StatePath string
	// SessionTimeout ends a login after this long without input (0: never).
	SessionTimeout time.Duration
	// MaxLine bounds an input line in bytes; longer lines are discarded.
	MaxLine int // default 256
	// Echo echoes input: true on a raw serial line, false on a terminal
	// that echoes itself (stdio).
	Echo bool
	// CRLF ends output lines with CR LF (a raw serial line) instead of LF.
	CRLF bool
	// Sim allows power simulate-loss|simulate-restore.
	Sim bool
	// Banner, if set, returns a line printed under the greeting on each
	// connection, before login: the daemon's one-line state (protecting,
	// or which parts it runs without), so a degraded start is seen at
	// once.
	Banner func() string
	// Prompt is printed before each command; default "holdup> ".
	Prompt string
	// CommandTimeout bounds each State or Actions call; default 5s.
	CommandTimeout time.Duration
	// Now is the clock for lockout, session timeout and the day points
	// prints times on; default time.Now.
	Now func() time.Time
	// Logger receives login successes, failures and lockouts; nil discards.
	Logger *slog.Logger
}

// ErrBusy is returned by Serve when the console is already serving.
var ErrBusy = errors.New("console: already serving")

// Console is one operator console. Serve runs it; the session state
// (login, lockout) belongs to the Serve goroutine and outlives a Serve
// call, so a lockout holds across reconnects; with Options.StatePath it
// holds across restarts too.
type Console struct {
	opts    Options
	log     *slog.Logger
	auth    auth
	serving atomic.Bool
	cmds    map[string]command

	// Session state owned by the Serve goroutine.
	out          bytes.Buffer
	ed           *editor
	wantPassword bool
	rejected     int  // lines rejected since the last report
	firstReject  line // the first of them
}

// New checks opts and returns a Console.
func New(opts Options) (*Console, error) {
	if opts.State == nil || opts.Actions == nil {
		return nil, errors.New("console: Options.State and Options.Actions are required")
	}
	if opts.LockoutFailures <= 0 {
		opts.LockoutFailures = 5
	}
	if opts.LockoutPeriod <= 0 {
		opts.LockoutPeriod = 5 * time.Minute
	}
	if opts.LockoutMax <= 0 {
		opts.LockoutMax = 16 * opts.LockoutPeriod
	}
	opts.LockoutMax = max(opts.LockoutMax, opts.LockoutPeriod)
	if opts.MaxLine <= 0 {
		opts.MaxLine = 256
	}
	if opts.Prompt == "" {
		opts.Prompt = "holdup> "
	}
	if opts.CommandTimeout <= 0 {
		opts.CommandTimeout = 5 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	c := &Console{opts: opts, log: opts.Logger, cmds: commandTable()}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.auth = auth{
		hash: []byte(opts.PasswordHash),
		idle: opts.SessionTimeout,
		now:  opts.Now,
		lock: newLockout(opts.StatePath, opts.LockoutFailures, opts.LockoutPeriod, opts.LockoutMax, opts.Now, c.log),
	}
	c.ed = newEditor(opts.MaxLine, opts.Echo, &c.out)
	return c, nil
}

// Serve runs the console on rw until rw reports EOF or an error, or ctx is
// cancelled. On cancellation it closes rw if rw is an io.Closer — a
// go.bug.st/serial port or Stdio(), whose Close ends the pending read —
// and returns nil. A plain reader that cannot be closed keeps Serve in its
// read until input arrives. A port that goes away (USB unplugged) ends
// Serve with an error; the caller may reopen it and call Serve again. A
// console serves one stream at a time; login and lockout state persist
// across Serve calls.
func (c *Console) Serve(ctx context.Context, rw io.ReadWriter) error {
	if !c.serving.CompareAndSwap(false, true) {
		return ErrBusy
	}
	defer c.serving.Store(false)
	if cl, ok := rw.(io.Closer); ok {
		stop := context.AfterFunc(ctx, func() { cl.Close() })
		defer stop()
	}
	c.ed.reset()
	c.wantPassword, c.ed.hide = false, false
	c.printf("holdup console; type help")
	if c.opts.Banner != nil {
		if b := c.opts.Banner(); b != "" {
			c.printf("%s", b)
		}
	}
	c.prompt()
	buf := make([]byte, 4096)
	for {
		if err := c.flush(rw); err != nil {
			return c.ended(ctx, err)
		}
		n, err := rw.Read(buf)
		if n > 0 {
			c.input(ctx, rw, buf[:n])
		}
		if err != nil {
			c.flush(rw)
			return c.ended(ctx, err)
		}
	}
}

func (c *Console) ended(ctx context.Context, err error) error {
	if ctx.Err() != nil || errors.Is(err, io.EOF) {
		return nil
	}
	return fmt.Errorf("console: %w", err)
}

// input runs one chunk of input bytes through the line editor.
func (c *Console) input(ctx context.Context, w io.Writer, data []byte) {
	for _, b := range data {
		l, done := c.ed.feed(b)
		if !done {
			continue
		}
		switch l.kind {
		case lineOK:
			c.reportRejected()
			c.flush(w)
			c.line(ctx, l.text)
			c.prompt()
		case lineCancelled:
			c.wantPassword, c.ed.hide = false, false
			c.prompt()
		default:
			if c.rejected == 0 {
				c.firstReject = l
			}
			c.rejected++
			if c.wantPassword {
				c.wantPassword, c.ed.hide = false, false
			}
		}
	}
	if c.rejected > 0 {
		c.reportRejected()
		c.prompt()
	}
}

// reportRejected prints one report for the lines rejected in a burst.
func (c *Console) reportRejected() {
	if c.rejected == 0 {
		return
	}
	c.printf("error: %s", c.firstReject.reason())
	if c.rejected > 1 {
		c.printf("error: and %d more rejected lines", c.rejected-1)
	}
	c.log.Warn("console: rejected input", "lines", c.rejected, "first", c.firstReject.reason())
	c.rejected = 0
}

func (c *Console) prompt() {
	if c.wantPassword {
		c.out.WriteString("password: ")
		return
	}
	c.out.WriteString(c.opts.Prompt)
}

func (c *Console) flush(w io.Writer) error {
	if c.out.Len() == 0 {
		return nil
	}
	_, err := w.Write(c.out.Bytes())
	c.out.Reset()
	return err
}

// printf prints one output line, made safe for a terminal and cut to Width.
func (c *Console) printf(format string, args ...any) {
	c.println(fmt.Sprintf(format, args...))
}

func (c *Console) println(s string) {
	c.out.WriteString(fit(s, Width))
	if c.opts.CRLF {
		c.out.WriteString("\r\n")
	} else {
		c.out.WriteByte('\n')
	}
}
