package console

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// command is one console command.
type command struct {
	usage   string
	help    string
	mutates bool // changes state (marked * in help)
	run     func(c *Console, ctx context.Context, args []string) error
}

// usageError is a command-line mistake; it is printed with the usage.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// commandTable returns the commands by name.
func commandTable() map[string]command {
	return map[string]command{
		"help":    {"help", "list the commands", false, (*Console).cmdHelp},
		"status":  {"status", "power, hold-up estimate, journal, alarms", false, (*Console).cmdStatus},
		"outages": {"outages [N]", "the last N outages (default 10)", false, (*Console).cmdOutages},
		"journal": {"journal stats|tail [N]|consume", "EEPROM journal (consume: drop replayed)", false, (*Console).cmdJournal},
		"devices": {"devices", "devices, state and error rates", false, (*Console).cmdDevices},
		"device":  {"device enable|disable NAME", "enable or disable a device", true, (*Console).cmdDevice},
		"points":  {"points [DEVICE]", "live values and what the master reads", false, (*Console).cmdPoints},
		"history": {"history [DEVICE] [N]", "the last N stored records (default 10)", false, (*Console).cmdHistory},
		"sched":   {"sched", "queues, gated devices, error rates", false, (*Console).cmdSched},
		"log":     {"log [N]", "the last N log lines (default 20)", false, (*Console).cmdLog},
		"config":  {"config", "the configuration in effect", false, (*Console).cmdConfig},
		"power":   {"power simulate-loss|simulate-restore", "cut/restore simulated mains (sim only)", true, (*Console).cmdPower},
		"login":   {"login", "log in (every command but help needs it)", false, nil},
		"logout":  {"logout", "log out", false, nil},
	}
}

// line handles one accepted input line.
func (c *Console) line(ctx context.Context, text string) {
	if c.wantPassword {
		c.wantPassword, c.ed.hide = false, false
		c.password(text)
		return
	}
	if c.auth.touch() {
		c.printf("session timed out; logged out")
	}
	args := strings.Fields(text)
	if len(args) == 0 {
		return
	}
	name := strings.ToLower(args[0])
	if name == "login" {
		c.login()
		return
	}
	if !c.auth.loggedIn && name != "help" {
		// Before login nothing else runs, not even an unknown command
		// answers differently: the console shows nothing of the daemon.
		msg := fmt.Sprintf("error: %s: log in first (login)", fit(name, 32))
		if len(c.auth.hash) == 0 {
			msg = fmt.Sprintf("error: %s: log in first; login is disabled (no console.password_hash)", fit(name, 32))
		}
		for _, l := range wrap(msg, Width) {
			c.println(l)
		}
		return
	}
	if name == "logout" {
		c.auth.loggedIn = false
		c.printf("logged out")
		return
	}
	cmd, ok := c.cmds[name]
	if !ok {
		c.printf("unknown command %q; type help", fit(args[0], 32))
		return
	}
	cctx, cancel := context.WithTimeout(ctx, c.opts.CommandTimeout)
	defer cancel()
	if err := cmd.run(c, cctx, args[1:]); err != nil {
		if _, isUsage := err.(usageError); isUsage {
			c.printf("error: %v; usage: %s", err, cmd.usage)
			return
		}
		for _, l := range wrap("error: "+name+": "+err.Error(), Width) {
			c.println(l)
		}
	}
}

func (c *Console) login() {
	switch {
	case c.auth.loggedIn:
		c.printf("already logged in")
	case len(c.auth.hash) == 0:
		c.printf("error: login is disabled: no console.password_hash in the config")
	default:
		if d := c.auth.lock.lockedFor(); d > 0 {
			c.printf("error: login locked for %s after repeated failures", dur(d))
			return
		}
		c.wantPassword, c.ed.hide = true, true
	}
}

func (c *Console) password(pw string) {
	ok, at := c.auth.check(pw)
	switch {
	case ok:
		c.log.Info("console: login")
		c.printf("logged in")
	case at.refused > 0:
		// Another session locked login while this one typed.
		c.printf("error: login locked for %s after repeated failures", dur(at.refused))
	case at.ifFailed > 0:
		c.log.Warn("console: login failed; login locked", "failures", at.failures, "for", at.ifFailed)
		c.printf("login failed; login locked for %s", dur(at.ifFailed))
	default:
		c.log.Warn("console: login failed", "failures", at.failures)
		c.printf("login failed")
	}
}

// count parses an optional count argument.
func count(args []string, def, max int) (int, error) {
	switch len(args) {
	case 0:
		return def, nil
	case 1:
		n, err := strconv.Atoi(args[0])
		if err != nil || n < 1 || n > max {
			return 0, usagef("N must be a number 1..%d (got %q)", max, fit(args[0], 20))
		}
		return n, nil
	default:
		return 0, usagef("too many arguments")
	}
}

func (c *Console) cmdHelp(_ context.Context, args []string) error {
	if len(args) > 0 {
		return usagef("help takes no arguments")
	}
	if !c.auth.loggedIn {
		for _, n := range []string{"help", "login"} {
			c.printf("  %-36s %s", c.cmds[n].usage, c.cmds[n].help)
		}
		c.printf("every other command needs login")
		return nil
	}
	names := make([]string, 0, len(c.cmds))
	for n := range c.cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		cmd := c.cmds[n]
		mark := " "
		if cmd.mutates || n == "journal" {
			mark = "*"
		}
		c.printf("%s %-36s %s", mark, cmd.usage, cmd.help)
	}
	c.printf("* changes state (journal: consume only)")
	return nil
}
