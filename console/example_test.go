package console

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
)

// A console on a plain stream, as with -console stdio: the terminal does
// the echo, so the console does not. Before login only help and login run.
func ExampleConsole_Serve() {
	daemon := &fakeDaemon{log: NewLogRing(100)} // the daemon's State and Actions
	hash, err := HashPassword("correct horse")  // console.password_hash
	if err != nil {
		fmt.Println(err)
		return
	}
	con, err := New(Options{State: daemon, Actions: daemon, PasswordHash: hash})
	if err != nil {
		fmt.Println(err)
		return
	}
	typed := strings.NewReader("help\nstatus\nlogin\ncorrect horse\nstatus\njournal consume\n")
	rw := struct {
		io.Reader
		io.Writer
	}{typed, os.Stdout}
	if err := con.Serve(context.Background(), rw); err != nil {
		fmt.Println(err)
	}
	// Output:
	// holdup console; type help
	// holdup>   help                                 list the commands
	//   login                                log in (every command but help needs it)
	// every other command needs login
	// holdup> error: status: log in first (login)
	// holdup> password: logged in
	// holdup> power     outage since 2026-11-26 21:01:30 (mains 12.5/0.0/3.2 V)
	// hold-up   2m31s of 3m0s budget (supercap 5.12 V)
	// journal   1234 of 32768 bytes (3.8%), 12 records
	//           room for about 160 more records, 310 s of the outage workload
	// history   4 outage record(s) waiting for the master station, 31 delivered
	// reports   2 alarm report(s) waiting for the master station
	// alarms    mains lost on all phases
	//           device pv-cabinet gated
	// holdup> consumed 7 replayed records
	// holdup>
}
