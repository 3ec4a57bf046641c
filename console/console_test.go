package console

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

const testPassword = "correct horse"

func testHash(t *testing.T) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

func TestCommandOutput(t *testing.T) {
	// The clock's day is the fake daemon's: points prints today's times
	// of day, other days' dates.
	tm, fd := startConsole(t, Options{PasswordHash: testHash(t), Now: func() time.Time { return t0.Add(2 * time.Minute) }})
	tm.login()
	fd.log.Write([]byte("time=2026-11-26T21:01:30Z level=WARN msg=\"mains lost\" phases=3\n"))
	fd.log.Write([]byte("time=2026-11-26T21:01:31Z level=INFO msg=\"journal append\" seq=109 kind=outage-begin" +
		" device=inverter1 detail=\"a message long enough that it has to wrap onto a second line\"\n"))
	fd.log.Write([]byte("level=INFO msg=\"evil \x1b[2J\"\n"))

	cases := []struct {
		cmd  string
		want []string // in order, each on some line
	}{
		{"help", []string{"config", "* device enable|disable NAME", "help", "* journal stats|tail [N]|consume", "log [N]", "login", "outages [N]", "* power simulate-loss|simulate-restore", "sched", "status", "* changes state"}},
		{"status", []string{
			"power     outage since 2026-11-26 21:01:30 (mains 12.5/0.0/3.2 V)",
			"hold-up   2m31s of 3m0s budget (supercap 5.12 V)",
			"journal   1234 of 32768 bytes (3.8%), 12 records",
			"          room for about 160 more records, 310 s of the outage workload",
			"history   4 outage record(s) waiting for the master station, 31 delivered",
			"reports   2 alarm report(s) waiting for the master station",
			"alarms    mains lost on all phases",
			"          device pv-cabinet gated"}},
		{"outages", []string{
			"id     begin                end                   duration records  state",
			"12     2026-11-26 21:01:30  -                      ongoing       3  open",
			"11     2026-11-26 20:00:00  2026-11-26 20:02:39      2m39s      37  warm",
			"       decided by: same boot 5f0c: the terminal never lost power"}},
		{"outages 1", []string{"12 "}},
		{"journal stats", []string{
			"part      at24c256, 32768 bytes, 64-byte pages",
			"used      1234 bytes (3.8%), 12 records",
			"records   seq 100 .. 111, replayed up to 99",
			"outage    open since 2026-11-26 21:01:30",
			"corrupt   0"}},
		{"journal tail 2", []string{
			"seq      time                 kind          summary",
			"110      2026-11-26 21:01:35  reading       inverter1/active_power = 5.210 kW",
			"111      2026-11-26 21:01:36  reading       meter-bus/forward_energy = 123456..."}},
		{"devices", []string{
			"name             driver      state    mains    draw errors  last ok",
			"inverter1        modbus-rtu  ok       any     300mW   2.5%  2026-11-26 21:01:35",
			"pv-cabinet       modbus-tcp  gated    only   2500mW   0.0%  -",
			"relay            gpio-output disabled any      50mW   0.0%  -"}},
		{"points", []string{
			"device/point             class            live     master uplink   at",
			"inverter1/active_power   collection       5.21       NULL 2F000200 21:01:35",
			"inverter1/grid_voltage   collection      231.4      231.4 2F070200 21:01:35",
			"inverter1/temperature    collection       41.5          - -        11-25 20:00",
			"inverter1/power_limit    control             -          - 2F010200 -",
			"pv-cabinet/grid_export   collection    invalid       NULL 2F020200 21:01:31"}},
		{"points pv-cabinet", []string{"pv-cabinet/grid_export   collection    invalid       NULL"}},
		{"points nosuch", []string{`error: points: no device "nosuch"`}},
		{"points a b", []string{`error: unexpected argument "b"; usage: points [DEVICE]`}},
		{"sched", []string{
			"mode      outage",
			"/dev/ttyS1                  3/64           1000           25",
			"gated     pv-cabinet, plc-meter-7",
			"inverter1               1       40    2.5%  no",
			"plc-meter-7             9       10   90.0%  yes"}},
		{"log 3", []string{"level=WARN msg=\"mains lost\"", "seq=109", "  kind=outage-begin device=inverter1", "  to wrap onto a second line\"", `msg="evil ?[2J"`}},
		{"history", []string{
			"time                business   device/point                 value",
			"2026-11-26 20:00:00 event      mains/outage-begin           null",
			"2026-11-26 20:00:01 control    breaker-07/switch            true",
			"2026-11-26 20:00:02 collection inverter1/active_power       5210.5",
			"2026-11-26 20:00:03 collection inverter1/active_power       1.234568e+08 invalid",
			`2026-11-26 20:00:04 alarm      a-device-with-a-very-long... "over tem...`,
			"2026-11-26 20:00:05 collection meter-3/frame                0x681016",
			"2026-11-26 20:00:06 collection meter-3                      -42"}},
		{"history 2", []string{"time ", "meter-3/frame", "meter-3 "}},
		{"history inverter1", []string{"inverter1/active_power       5210.5", "invalid"}},
		{"history inverter1 1", []string{"time ", "1.234568e+08 invalid"}},
		{"history nosuch", []string{"no records of nosuch stored"}},
		{"history down", []string{"error: history: data store unavailable"}},
		{"history 0", []string{`error: N must be a number 1..200 (got "0"); usage: history [DEVICE] [N]`}},
		{"history a 1 2", []string{"error: too many arguments; usage: history [DEVICE] [N]"}},
		{"config", []string{"eeprom    at24c256"}},
		{"frobnicate now", []string{`unknown command "frobnicate"; type help`}},
		{"outages 0", []string{`error: N must be a number 1..100 (got "0"); usage: outages [N]`}},
		{"journal", []string{"error: missing subcommand; usage: journal stats|tail [N]|consume"}},
		{"journal rewind", []string{`error: unknown subcommand "rewind"`}},
		{"logout", []string{"logged out"}},
		{"status", []string{"error: status: log in first (login)"}},
	}
	for _, tc := range cases {
		lines := tm.run(tc.cmd)
		has(t, tc.cmd, lines, tc.want...)
	}
	if got := tm.run(""); got != nil {
		t.Errorf("empty line printed %q", got)
	}
	if calls := fd.calls(); len(calls) != 0 {
		t.Errorf("read-only commands made calls %v", calls)
	}
}

// TestNothingBeforeLogin: before login only help and login run; every other
// command, known or not, is refused without asking the daemon anything.
func TestNothingBeforeLogin(t *testing.T) {
	for _, tc := range []struct {
		name, hash, refusal string
	}{
		{"login enabled", testHash(t), "log in first (login)"},
		{"login disabled", "", "log in first; login is disabled (no console.password_hash)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tm, fd := startConsole(t, Options{PasswordHash: tc.hash, Sim: true})
			for _, cmd := range []string{"status", "outages", "outages 1", "journal stats", "journal tail 2",
				"journal consume", "devices", "device disable inverter1", "points", "points inverter1",
				"history", "history inverter1 1", "sched", "log", "log 3", "config", "power simulate-loss",
				"logout", "frobnicate now", "STATUS"} {
				name := strings.ToLower(strings.Fields(cmd)[0])
				want := "error: " + name + ": " + tc.refusal
				if got := strings.Join(tm.run(cmd), " "); !strings.HasPrefix(got, want) || len(got) > 2*Width {
					t.Errorf("%s: %q, want %q", cmd, got, want)
				}
			}
			lines := tm.run("help")
			want := []string{"help", "login", "every other command needs login"}
			if len(lines) != len(want) {
				t.Fatalf("help before login: %q", lines)
			}
			for i, w := range want {
				if !strings.HasPrefix(strings.TrimSpace(lines[i]), w) {
					t.Errorf("help line %d: %q, want %q…", i, lines[i], w)
				}
			}
			if tm.run("") != nil {
				t.Error("an empty line printed something")
			}
			if n := fd.readCount(); n != 0 {
				t.Errorf("%d State calls before login", n)
			}
			if calls := fd.calls(); len(calls) != 0 {
				t.Errorf("actions before login: %v", calls)
			}
		})
	}
}

func TestMutatingCommandsNeedLogin(t *testing.T) {
	clock := &fakeClock{now: t0}
	tm, fd := startConsole(t, Options{PasswordHash: testHash(t), Sim: true, Now: clock.Now, SessionTimeout: 10 * time.Minute})
	mutating := []string{"journal consume", "device disable inverter1", "device enable relay",
		"power simulate-loss", "power simulate-restore"}
	for _, cmd := range mutating {
		has(t, cmd, tm.run(cmd), "log in first")
	}
	if calls := fd.calls(); len(calls) != 0 {
		t.Fatalf("actions ran without login: %v", calls)
	}

	// Log in: the password prompt appears and the password is not echoed.
	tm.send("login\r")
	tm.expect("login\r\npassword: ")
	tm.send(testPassword + "\r")
	out := tm.expect("logged in\r\n" + prompt)
	if strings.Contains(out, testPassword) {
		t.Errorf("password echoed: %q", out)
	}
	has(t, "login", tm.run("login"), "already logged in")

	has(t, "journal consume", tm.run("journal consume"), "consumed 7 replayed records")
	has(t, "device disable", tm.run("device disable inverter1"), "device inverter1 disabled")
	has(t, "device enable", tm.run("device enable relay"), "device relay enabled")
	has(t, "device enable nosuch", tm.run("device enable nosuch"), `error: device: no device named "nosuch"`)
	has(t, "device", tm.run("device toggle relay"), "usage: device enable|disable NAME")
	has(t, "power", tm.run("power simulate-loss"), "simulated mains cut")
	has(t, "power", tm.run("power simulate-restore"), "simulated mains restored")
	want := []string{"journal consume", "device inverter1 false", "device relay true", "device nosuch true", "mains false", "mains true"}
	if calls := fd.calls(); !slices.Equal(calls, want) {
		t.Errorf("actions %v, want %v", calls, want)
	}

	// Idle past the session timeout: the login ends.
	clock.Add(10*time.Minute + time.Second)
	has(t, "after idle", tm.run("device disable inverter1"), "session timed out; logged out", "log in first")
	tm.send("login\r")
	tm.expect("password: ")
	tm.send(testPassword + "\r")
	tm.expect("logged in\r\n" + prompt)
	has(t, "logout", tm.run("logout"), "logged out")
	has(t, "after logout", tm.run("journal consume"), "log in first")
	if n := len(fd.calls()); n != len(want) {
		t.Errorf("%d actions, want %d: %v", n, len(want), fd.calls())
	}
}

func TestSimulateOnlyInSim(t *testing.T) {
	tm, fd := startConsole(t, Options{PasswordHash: testHash(t)})
	tm.send("login\r")
	tm.expect("password: ")
	tm.send(testPassword + "\r")
	tm.expect("logged in\r\n" + prompt)
	has(t, "power", tm.run("power simulate-loss"), "error: power: only available in sim mode")
	if calls := fd.calls(); len(calls) != 0 {
		t.Errorf("actions %v outside sim mode", calls)
	}
}

func TestLoginDisabledWithoutHash(t *testing.T) {
	tm, _ := startConsole(t, Options{})
	has(t, "login", tm.run("login"), "login is disabled: no console.password_hash")
}

func TestLockout(t *testing.T) {
	clock := &fakeClock{now: t0}
	tm, fd := startConsole(t, Options{PasswordHash: testHash(t), LockoutFailures: 3, LockoutPeriod: 5 * time.Minute, Now: clock.Now})
	for i := 1; i <= 3; i++ {
		tm.send("login\r")
		tm.expect("password: ")
		tm.send("guess\r")
		out := tm.expect(prompt)
		if i < 3 && !strings.Contains(out, "login failed\r\n") {
			t.Fatalf("attempt %d: %q", i, out)
		}
		if i == 3 && !strings.Contains(out, "login failed; login locked for 5m0s") {
			t.Fatalf("attempt 3 did not lock: %q", out)
		}
	}
	// Locked: login does not even ask for a password.
	clock.Add(4 * time.Minute)
	lines := tm.run("login")
	has(t, "locked login", lines, "error: login locked for 1m0s")
	if strings.Contains(strings.Join(lines, "\n"), "password") {
		t.Errorf("locked login prompted: %q", lines)
	}
	// The right password typed now is just an unknown command.
	has(t, "password as command", tm.run(testPassword), `error: correct: log in first (login)`)
	has(t, "still out", tm.run("journal consume"), "log in first")

	clock.Add(time.Minute + time.Second)
	tm.send("login\r")
	tm.expect("password: ")
	tm.send(testPassword + "\r")
	tm.expect("logged in\r\n" + prompt)
	has(t, "consume", tm.run("journal consume"), "consumed 7")
	if calls := fd.calls(); !slices.Equal(calls, []string{"journal consume"}) {
		t.Errorf("actions %v", calls)
	}
}

func TestHugeLineRejected(t *testing.T) {
	tm, fd := startConsole(t, Options{PasswordHash: testHash(t)})
	tm.login()
	before := tm.total
	huge := strings.Repeat("journal consume ", 1<<16) // 1 MiB of plausible text
	tm.send(huge + "\r")
	out := tm.expect(prompt)
	if !strings.Contains(out, "error: line too long (1048576 bytes, max 256); discarded\r\n") {
		t.Fatalf("got %q", out)
	}
	if echoed := tm.total - before; echoed > 1024 {
		t.Errorf("echoed %d bytes of a discarded line", echoed)
	}
	has(t, "status after", tm.run("status"), "power     outage")
	if calls := fd.calls(); len(calls) != 0 {
		t.Errorf("actions %v", calls)
	}
}

func TestBinaryGarbageRejected(t *testing.T) {
	tm, fd := startConsole(t, Options{PasswordHash: testHash(t), Sim: true})
	tm.login()
	rng := rand.New(rand.NewPCG(1, 2))
	garbage := make([]byte, 64<<10)
	for i := range garbage {
		garbage[i] = byte(rng.Uint32())
	}
	garbage[0] = 0x00 // first line: NUL in column 1
	tm.send(string(garbage) + "\r")
	tm.send("config\r")
	out := tm.expect("config\r\n") // everything the garbage caused
	tm.expect(prompt)
	if !strings.Contains(out, "error: non-printable byte 0x00 at column 1; line discarded") ||
		!strings.Contains(out, "more rejected lines") {
		t.Fatalf("got %q", out)
	}
	if len(out) > 8<<10 {
		t.Errorf("garbage produced %d bytes of output", len(out))
	}
	// Garbage in the middle of a command spoils just that line.
	tm.send("sta\xfftus\r")
	has(t, "spoilt", strings.Split(tm.expect(prompt), "\r\n"), "error: non-printable byte 0xFF at column 4")
	has(t, "status after", tm.run("status"), "power     outage")
	if calls := fd.calls(); len(calls) != 0 {
		t.Errorf("garbage caused actions %v", calls)
	}
}

func TestLineEditing(t *testing.T) {
	tm, _ := startConsole(t, Options{PasswordHash: testHash(t)})
	tm.login()
	tm.send("stx\x7fatuz\x08s\r") // DEL and BS erase
	out := tm.expect(prompt)
	if !strings.Contains(out, "stx\b \batuz\b \bs\r\n") || !strings.Contains(out, "power     outage") {
		t.Errorf("editing: %q", out)
	}
	tm.send("journal cons\x03") // ^C drops the line
	if out := tm.expect(prompt); !strings.HasSuffix(out, "^C\r\n"+prompt) {
		t.Errorf("^C: %q", out)
	}
	tm.send("\tstatus\r\n") // CR LF is one line end; TAB is a space
	out = tm.expect(prompt)
	if !strings.Contains(out, "power     outage") {
		t.Errorf("tab/crlf: %q", out)
	}
	// No second prompt for the LF of CR LF.
	has(t, "next", tm.run("config"), "eeprom")
}
