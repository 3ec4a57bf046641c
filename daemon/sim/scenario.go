package sim

// The scripted sim scenario. The daemon runs as a child process
// (`holdup run -config … -sim-control`) on the simulated hardware inside
// it; this side drives its mains over the child's stdin and reads its
// timeline and journal acknowledgements as JSON lines from its stdout.
// When the capacitor "runs out" the child is killed with SIGKILL: nothing
// in its memory survives, only the EEPROM image and the data store file,
// which the next child opens — a real cold start.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	"holdup/config"
	"holdup/devices"
	"holdup/power"
	"holdup/proto698"
	"holdup/store"
)

// ackRecord is a journal append the daemon acknowledged.
type ackRecord struct {
	Journal  string
	Seq      uint64
	Business string
	Device   string
	Point    string
}

// session runs daemon children one after another on the same state.
type session struct {
	exe     string   // the holdup binary
	env     []string // extra environment for children
	bootID  string   // BootIDEnv for the next children ("" the kernel's)
	lost    bool     // the mains is absent: a child started now finds it so (MainsEnv)
	drained bool     // the capacitor ran out: a child started now finds it empty (SupercapEnv)
	config  string
	dir     string
	master  string
	ms      *proto698.MasterSim      // the master station (in this process)
	exposed []exposedPoint           // points the master reads (uplink_oad)
	sec     *proto698.MasterSecurity // how the master authenticates its writes; nil: it cannot
	out     io.Writer                // the readable timeline
	verbose bool

	runs     int
	child    *simChild
	base     time.Time
	timeline [][]power.Entry // per run
	acked    []ackRecord
	outages  []simEvent

	supercap  string // the load (W) that drains the simulated supercap; "" without one
	shutdowns int    // calls the shutdown script recorded
	fwdSeq    uint64 // the last 2-8 delivery forwarded counted, in the current run
}

type simChild struct {
	cmd    *exec.Cmd
	in     io.WriteCloser
	events chan simEvent
	done   chan struct{} // closed once the child is reaped
	err    error         // its exit status, valid after done
	log    *os.File
}

// start launches the next daemon child and waits until it is ready.
func (s *session) start(ctx context.Context) error {
	s.runs++
	s.timeline = append(s.timeline, nil)
	s.fwdSeq = 0
	logf, err := os.Create(filepath.Join(s.dir, fmt.Sprintf("run-%d.log", s.runs)))
	if err != nil {
		return err
	}
	cmd := exec.Command(s.exe, "run", "-config", s.config, "-sim-dir", s.dir, "-sim-master", s.master, "-sim-control")
	cmd.Env = append(os.Environ(), s.env...)
	if s.bootID != "" {
		cmd.Env = append(cmd.Env, BootIDEnv+"="+s.bootID)
	}
	if s.lost {
		cmd.Env = append(cmd.Env, MainsEnv+"=lost")
	}
	if s.drained {
		cmd.Env = append(cmd.Env, SupercapEnv+"=0")
	}
	cmd.Stderr = logf
	if s.verbose {
		cmd.Stderr = io.MultiWriter(logf, os.Stderr)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	in, err := cmd.StdinPipe()
	if err != nil {
		logf.Close()
		return err
	}
	outp, err := cmd.StdoutPipe()
	if err != nil {
		logf.Close()
		return err
	}
	c := &simChild{cmd: cmd, in: in, events: make(chan simEvent, 256), done: make(chan struct{}), log: logf}
	// Pdeathsig fires when the forking thread exits, not the process: the
	// child is started and reaped from one goroutine locked to its thread,
	// so the thread lives as long as the child.
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		sc := bufio.NewScanner(outp)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			var e simEvent
			if json.Unmarshal(sc.Bytes(), &e) == nil {
				c.events <- e
			}
		}
		close(c.events)
		c.err = cmd.Wait()
		close(c.done)
	}()
	if err := <-started; err != nil {
		logf.Close()
		return fmt.Errorf("sim: start daemon: %w", err)
	}
	s.child = c
	s.say("run %d: holdup run -config %s (pid %d)", s.runs, s.config, cmd.Process.Pid)
	_, err = s.wait(ctx, 30*time.Second, "daemon ready", func(e simEvent) bool { return e.Ev == "ready" })
	return err
}

func (s *session) say(format string, a ...any) {
	fmt.Fprintf(s.out, "%-12s %s\n", "", "## "+fmt.Sprintf(format, a...))
}

// handle records one event and prints timeline entries as they come.
func (s *session) handle(e simEvent) {
	switch e.Ev {
	case "timeline":
		en := power.Entry{Seq: e.Seq, At: e.At, Step: power.Step(e.Step), Detail: e.Detail}
		if s.base.IsZero() {
			s.base = e.At.Truncate(time.Millisecond)
		}
		s.timeline[s.runs-1] = append(s.timeline[s.runs-1], en)
		en.At = en.At.Round(time.Millisecond)
		fmt.Fprintln(s.out, en.Format(s.base))
	case "journaled":
		s.acked = append(s.acked, ackRecord{e.Journal, e.Seq, e.Business, e.Device, e.Point})
	case "outage":
		s.outages = append(s.outages, e)
	}
}

// wait consumes events until pred matches one (which it returns).
func (s *session) wait(ctx context.Context, d time.Duration, what string, pred func(simEvent) bool) (simEvent, error) {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return simEvent{}, ctx.Err()
		case <-t.C:
			return simEvent{}, fmt.Errorf("sim: run %d: no %s within %v (log: %s)", s.runs, what, d, s.child.log.Name())
		case e, ok := <-s.child.events:
			if !ok {
				<-s.child.done
				err := s.child.err
				return simEvent{}, fmt.Errorf("sim: run %d: daemon exited (%v) before %s (log: %s)", s.runs, err, what, s.child.log.Name())
			}
			s.handle(e)
			if pred(e) {
				return e, nil
			}
		}
	}
}

// waitStep waits for a timeline step of the current run.
func (s *session) waitStep(ctx context.Context, step power.Step, d time.Duration) error {
	_, err := s.wait(ctx, d, string(step), func(e simEvent) bool { return e.Ev == "timeline" && e.Step == string(step) })
	return err
}

// command sends one command and waits for its result.
func (s *session) command(ctx context.Context, cmd string) error {
	if _, err := fmt.Fprintln(s.child.in, cmd); err != nil {
		return fmt.Errorf("sim: send %q: %w", cmd, err)
	}
	e, err := s.wait(ctx, 10*time.Second, "answer to "+cmd, func(e simEvent) bool { return e.Ev == "done" && e.Cmd == cmd })
	if err != nil {
		return err
	}
	if e.Err != "" {
		return fmt.Errorf("sim: %s: %s", cmd, e.Err)
	}
	return nil
}

// restore brings the mains back while the capacitor holds, and waits for
// the recovery to complete.
func (s *session) restore(ctx context.Context) error {
	if err := s.command(ctx, "restore"); err != nil {
		return err
	}
	s.lost = false
	if err := s.waitStep(ctx, power.StepSleeping, 20*time.Second); err != nil {
		return err
	}
	return s.forwarded(ctx)
}

// forwarded waits until the records the recovery replayed have reached
// the master station (2-8: the outage history delivered).
// The delivery may come before what the caller waited for last (the
// recovery's 2-8 sleeping, or a cold start's "ready"): an entry of this
// run already read and not yet counted is the one.
func (s *session) forwarded(ctx context.Context) error {
	for _, e := range s.timeline[s.runs-1] {
		if e.Step == power.StepForwarded && e.Seq > s.fwdSeq {
			s.fwdSeq = e.Seq
			return nil
		}
	}
	e, err := s.wait(ctx, 30*time.Second, string(power.StepForwarded), func(e simEvent) bool {
		return e.Ev == "timeline" && e.Step == string(power.StepForwarded)
	})
	if err == nil {
		s.fwdSeq = e.Seq
	}
	return err
}

// noise puts checksum errors on the inverter's RS-485 line during the
// outage until the error-rate watch closes that IO path (1-4): the slave
// answers the next requests with a bad CRC, and control writes the
// scenario sends meet them (the outage's collection may meet some first).
func (s *session) noise(ctx context.Context) error {
	if err := s.command(ctx, "fault sim-inverter crc 3"); err != nil {
		return err
	}
	closed := false
	for i := 0; i < 3 && !closed; i++ {
		cmd := "control sim-inverter limit 39"
		if _, err := fmt.Fprintln(s.child.in, cmd); err != nil {
			return fmt.Errorf("sim: send %q: %w", cmd, err)
		}
		// The write fails (a checksum error, or the path already
		// closed): its "done" line carries the error, which is the point.
		_, err := s.wait(ctx, 10*time.Second, "answer to "+cmd, func(e simEvent) bool {
			closed = closed || (e.Ev == "timeline" && e.Step == string(power.StepPathClosed))
			return e.Ev == "done" && e.Cmd == cmd
		})
		if err != nil {
			return err
		}
	}
	if closed {
		return nil
	}
	return s.waitStep(ctx, power.StepPathClosed, 10*time.Second)
}

// reboot makes the children started from now on see another kernel boot
// (BootIDEnv) with the mains present: the terminal rebooted when the mains
// came back after the capacitor ran out.
func (s *session) reboot() {
	s.bootID = fmt.Sprintf("sim-boot-%d", s.runs+1)
	s.lost = false
	s.drained = true
}

// kill ends the child with SIGKILL: the capacitor ran out.
func (s *session) kill(ctx context.Context) error {
	if err := s.child.cmd.Process.Kill(); err != nil {
		return err
	}
	return s.reap(ctx)
}

// quit asks the child to shut down cleanly.
func (s *session) quit(ctx context.Context) error {
	fmt.Fprintln(s.child.in, "quit")
	if err := s.reap(ctx); err != nil {
		return err
	}
	return nil
}

func (s *session) reap(ctx context.Context) error {
	for e := range s.child.events {
		s.handle(e)
	}
	<-s.child.done
	err := s.child.err
	s.child.in.Close()
	s.child.log.Close()
	if err != nil && !isKilled(err) {
		return fmt.Errorf("sim: run %d: %w (log: %s)", s.runs, err, s.child.log.Name())
	}
	return ctx.Err()
}

func isKilled(err error) bool {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok {
			return ws.Signaled() && ws.Signal() == syscall.SIGKILL
		}
	}
	return false
}

// close kills a child left running (an error path) and waits for it.
func (s *session) close() {
	c := s.child
	if c == nil {
		return
	}
	select {
	case <-c.done:
	default:
		_ = c.cmd.Process.Kill()
		go func() { // let the reader reach Wait
			for range c.events {
			}
		}()
		<-c.done
	}
	_ = c.log.Close()
}

// outage runs one mains loss up to protection and critical data journaled.
func (s *session) outage(ctx context.Context) error {
	n := len(s.acked)
	if err := s.command(ctx, "loss"); err != nil {
		return err
	}
	s.lost = true
	if err := s.waitStep(ctx, power.StepPriority, 5*time.Second); err != nil {
		return err
	}
	// Control actions during the outage go to the journal.
	for _, c := range []string{"control sim-inverter limit 40", "control sim-relay trip 1"} {
		if err := s.command(ctx, c); err != nil {
			return err
		}
	}
	// And checked collection keeps flowing at the outage rate.
	_, err := s.wait(ctx, 15*time.Second, "a checked reading journaled", func(e simEvent) bool {
		return e.Ev == "journaled" && e.Business == store.BusinessCollection.String() && len(s.acked) > n
	})
	if err != nil {
		return err
	}
	return s.masterReads(ctx, true)
}

// exposedPoint is a collection point the master station reads, and
// whether it reads NULL during an outage: every point does (the initial
// invalid value, from the confirmed loss to the confirmed return) unless
// it is configured uplink_live_in_outage and its collection runs on (not
// a gated device, not unchecked data).
type exposedPoint struct {
	oad          proto698.OAD
	name         string
	nullInOutage bool
}

// exposedPoints lists the configuration's collection points with an
// uplink_oad.
func exposedPoints(cfg *config.Config) []exposedPoint {
	var out []exposedPoint
	for _, d := range cfg.Devices {
		gated := d.MainsOnly || (cfg.Sched.DrawThresholdMW > 0 && d.DrawMW > cfg.Sched.DrawThresholdMW)
		for _, p := range d.Points {
			if p.UplinkOAD != 0 && p.Class == devices.ClassCollection && d.Enabled {
				stops := gated || p.Integrity == devices.IntegrityUnchecked
				out = append(out, exposedPoint{proto698.NewOAD(p.UplinkOAD), d.Name + "/" + p.Name, stops || !p.UplinkLiveInOutage})
			}
		}
	}
	return out
}

// masterReads has the master station GET every exposed point and checks
// the answers: a current value with mains present, and during an outage
// NULL — never the last good value, nor the value still collected on the
// capacitor — but for a point configured to keep its live value whose
// collection runs on.
func (s *session) masterReads(ctx context.Context, outage bool) error {
	for _, p := range s.exposed {
		var (
			d   proto698.Data
			err error
		)
		for try := 0; ; try++ {
			gctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			d, err = s.ms.Get(gctx, p.oad)
			cancel()
			_, null := d.(proto698.Null)
			retry := errors.Is(err, proto698.ErrNotLoggedIn) || (err == nil && null && !(outage && p.nullInOutage))
			if !retry || try == 100 {
				break
			}
			time.Sleep(100 * time.Millisecond) // logging in, or the first collection not yet done
		}
		if err != nil {
			return fmt.Errorf("sim: master GET %s (%s): %w", p.oad, p.name, err)
		}
		_, null := d.(proto698.Null)
		s.say("master GET %s %s: %s", p.oad, p.name, dataText(d))
		switch {
		case outage && p.nullInOutage && !null:
			return fmt.Errorf("sim: %s: the master read %s during the outage, want NULL (the initial invalid value)", p.name, dataText(d))
		case !(outage && p.nullInOutage) && null:
			return fmt.Errorf("sim: %s: the master read NULL, want a current value", p.name)
		}
	}
	return nil
}

// masterControl has the master station set the inverter's limit: in
// plaintext the terminal refuses it (security authentication mismatch),
// in plaintext+MAC under the configured key it is done. The master's
// reads stay plaintext.
func (s *session) masterControl(ctx context.Context) error {
	if s.sec == nil {
		return nil
	}
	const limit = 0x2F010200 // sim-inverter/limit, writable
	oad := proto698.NewOAD(limit)
	set := func(v uint16) error {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		return s.ms.Set(sctx, oad, proto698.LongUnsigned(v))
	}
	err := set(99)
	var de *proto698.DARError
	if !errors.As(err, &de) || de.DAR != proto698.DARSecurityMismatch {
		return fmt.Errorf("sim: master SET %s in plaintext: %v, want it refused (security authentication mismatch)", oad, err)
	}
	s.say("master SET %s sim-inverter/limit 99 in plaintext: refused (%s)", oad, de.DAR)
	s.ms.Secure(s.sec)
	defer s.ms.Secure(nil)
	if err := set(60); err != nil {
		return fmt.Errorf("sim: master SET %s with plaintext+MAC: %w", oad, err)
	}
	s.say("master SET %s sim-inverter/limit 60 with plaintext+MAC: done (authenticated control)", oad)
	return nil
}

func dataText(d proto698.Data) string {
	if _, null := d.(proto698.Null); null {
		return "NULL (invalid)"
	}
	if f, ok := d.(proto698.Float64); ok {
		return fmt.Sprintf("%g", float64(f))
	}
	return fmt.Sprintf("%v", d)
}

// scenarioResult is what the scenario found in the data store.
type scenarioResult struct {
	Outages, Warm, Cold int
	Journaled           int
	Replayed, Rejected  int
	Lost                int
	// Forwarded counts the outage records the master stored (each once);
	// Forwardable those the daemon acknowledged that must reach it (the
	// control actions and readings; the outage begin/end records went as
	// 3106 power events). HistoryDuplicates are copies the master dropped.
	Forwarded, Forwardable, HistoryDuplicates int
	Stored                                    map[ackRecord]bool
	Outage                                    []store.Outage
	Timeline                                  [][]power.Entry
	MasterOff, MasterOn                       int
	DataReports                               int // data reports the master received
	DataReportsNull                           int // of them, with at least one NULL (invalid) value
	OnSeqs                                    []uint32
	OffSeqs                                   []uint32
}

// check compares what the daemon acknowledged with the data store.
func (s *session) check() (*scenarioResult, error) {
	ds, err := store.OpenDataStore(filepath.Join(s.dir, "data.db"))
	if err != nil {
		return nil, err
	}
	defer ds.Close()
	r := &scenarioResult{Stored: map[ackRecord]bool{}, Timeline: s.timeline, Journaled: len(s.acked)}
	if r.Outage, err = ds.Outages(0); err != nil {
		return nil, err
	}
	for _, o := range r.Outage {
		r.Outages++
		if o.Kind == string(power.KindWarm) {
			r.Warm++
		} else {
			r.Cold++
		}
		r.Replayed += o.Replayed
		r.Rejected += o.Rejected
	}
	have := map[string]bool{}
	err = ds.Records(func(sr store.StoredRecord) error {
		have[fmt.Sprintf("%s/%d", sr.JournalID, sr.Record.Seq)] = true
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, a := range s.acked {
		ok := have[fmt.Sprintf("%s/%d", a.Journal, a.Seq)]
		r.Stored[a] = ok
		if !ok {
			r.Lost++
		}
	}
	return r, nil
}

// budgetRunsOut loads the capacitor until the supercap estimate runs past
// the hold-up budget: the final flush stops collection and journals what
// is pending, the file systems are synced and the data store closed, and
// the shutdown command runs (the sim's script, which records its call in
// the sim directory).
func (s *session) budgetRunsOut(ctx context.Context) error {
	if s.supercap == "" {
		return nil // no [power.supercap]: the capacitor simply runs out
	}
	s.say("a heavy load drains the capacitor: the hold-up budget runs out")
	if err := s.command(ctx, "supercap load "+s.supercap); err != nil {
		return err
	}
	for _, step := range []power.Step{power.StepFinalFlush, power.StepFlushed, power.StepSynced, power.StepShutdown} {
		if err := s.waitStep(ctx, step, 20*time.Second); err != nil {
			return err
		}
	}
	b, err := os.ReadFile(filepath.Join(s.dir, ShutdownLog))
	if err != nil {
		return fmt.Errorf("sim: the shutdown command left no record: %w", err)
	}
	s.shutdowns = len(bytes.Split(bytes.TrimSpace(b), []byte("\n")))
	if s.shutdowns != 1 {
		return fmt.Errorf("sim: the shutdown command ran %d times, want once: %s", s.shutdowns, b)
	}
	s.say("the shutdown command ran (%s): %s", ShutdownLog, bytes.TrimSpace(b))
	return nil
}

// runScenario is `holdup sim`: normal → loss → warm restore → loss, line
// noise closing an IO path, an operator's restart of holdup (same boot) →
// warm restore → loss → capacitor runs out (SIGKILL) → cold start →
// replay.
func runScenario(ctx context.Context, s *session) (*scenarioResult, error) {
	defer s.close()
	for _, f := range []string{"eeprom.bin", "eeprom.bin.wear", "data.db"} {
		_ = os.Remove(filepath.Join(s.dir, f))
	}
	master, err := proto698.NewMasterSim("127.0.0.1:0", time.Local, nil)
	if err != nil {
		return nil, err
	}
	mctx, mstop := context.WithCancel(ctx)
	mdone := make(chan struct{})
	go func() { _ = master.Run(mctx); close(mdone) }()
	defer func() { mstop(); <-mdone }()
	go drainMaster(mctx, master)
	s.master = master.Addr()
	s.ms = master
	if cfg, err := config.Load(s.config); err == nil {
		s.exposed = exposedPoints(cfg)
		if cfg.Uplink != nil {
			if s.sec, err = masterSecurity(cfg.Uplink.Security); err != nil {
				return nil, err
			}
		}
	}

	if cfg, err := config.Load(s.config); err == nil && cfg.Power.Supercap != nil {
		s.supercap = "20"
	}
	_ = os.Remove(filepath.Join(s.dir, ShutdownLog))

	s.say("normal: mains present")
	if err := s.start(ctx); err != nil {
		return nil, err
	}
	if err := s.command(ctx, "control sim-inverter limit 50"); err != nil {
		return nil, err
	}
	if err := s.masterReads(ctx, false); err != nil {
		return nil, err
	}
	if err := s.masterControl(ctx); err != nil {
		return nil, err
	}
	s.say("mains lost (1st outage)")
	if err := s.outage(ctx); err != nil {
		return nil, err
	}
	s.say("mains back while the capacitor still holds: warm restore")
	if err := s.restore(ctx); err != nil {
		return nil, err
	}
	s.say("mains lost (2nd outage)")
	if err := s.outage(ctx); err != nil {
		return nil, err
	}
	s.say("line noise on the inverter's RS-485 port: checksum errors until the error-rate watch closes it")
	if err := s.noise(ctx); err != nil {
		return nil, err
	}
	s.say("an operator restarts holdup during the outage (systemctl restart): same boot, the mains still absent")
	if err := s.quit(ctx); err != nil {
		return nil, err
	}
	if err := s.start(ctx); err != nil {
		return nil, err
	}
	if err := s.masterReads(ctx, true); err != nil {
		return nil, err
	}
	s.say("mains back while the capacitor still holds: the outage the restart continued returns warm")
	if err := s.restore(ctx); err != nil {
		return nil, err
	}
	s.say("mains lost (3rd outage)")
	if err := s.outage(ctx); err != nil {
		return nil, err
	}
	if err := s.budgetRunsOut(ctx); err != nil {
		return nil, err
	}
	s.say("the capacitor runs out: daemon killed (SIGKILL), nothing in memory survives")
	if err := s.kill(ctx); err != nil {
		return nil, err
	}
	s.reboot()
	s.say("mains back: the terminal reboots (another boot id): cold start on the same EEPROM image and data store")
	if err := s.start(ctx); err != nil {
		return nil, err
	}
	if err := s.forwarded(ctx); err != nil {
		return nil, err
	}
	if err := s.quit(ctx); err != nil {
		return nil, err
	}
	r, err := s.check()
	if err != nil {
		return nil, err
	}
	for _, rep := range master.DataReports() {
		r.DataReports++
		for _, res := range rep {
			if _, null := res.Data.(proto698.Null); null {
				r.DataReportsNull++
				break
			}
		}
	}
	r.Forwarded, r.HistoryDuplicates = len(master.History()), master.Stats().HistoryDuplicates
	for _, a := range s.acked {
		if a.Business != store.BusinessEvent.String() {
			r.Forwardable++
		}
	}
	for _, ev := range master.Received() {
		if ev.Kind == proto698.PowerOff {
			r.MasterOff++
			r.OffSeqs = append(r.OffSeqs, ev.Seq)
		} else {
			r.MasterOn++
			r.OnSeqs = append(r.OnSeqs, ev.Seq)
		}
	}
	return r, nil
}

func (r *scenarioResult) summary() string {
	// forwarded is appended: the fields scripts read keep their places.
	return fmt.Sprintf("summary: outages %d, warm %d, cold %d, journaled %d, replayed %d, rejected %d, lost %d, forwarded %d",
		r.Outages, r.Warm, r.Cold, r.Journaled, r.Replayed, r.Rejected, r.Lost, r.Forwarded)
}

// breakdown says what the journaled records were and where they are now.
func (r *scenarioResult) breakdown() string {
	kinds := map[string]int{}
	stored := 0
	for a, ok := range r.Stored {
		kinds[a.Business]++
		if ok {
			stored++
		}
	}
	return fmt.Sprintf("journaled records: %d control, %d collection, %d outage begin/end; %d of %d in the data store",
		kinds[store.BusinessControl.String()], kinds[store.BusinessCollection.String()], kinds[store.BusinessEvent.String()], stored, len(r.Stored))
}

// ScenarioOptions say how OutageScenario starts its daemon children.
type ScenarioOptions struct {
	// Exe is the holdup binary the children run (`Exe run -config …`).
	Exe string
	// Env is added to the children's environment.
	Env []string
	// Config is the [sim] configuration file.
	Config string
	// Dir holds the EEPROM image, the data store and the children's logs.
	Dir string
	// Verbose copies the children's logs to stderr.
	Verbose bool
}

// OutageScenario runs the scripted outage scenario (`holdup sim`, see
// runScenario), printing the timeline, what the master station received and the
// summary line to out. It fails when an acknowledged journal record is
// missing from the data store.
func OutageScenario(ctx context.Context, o ScenarioOptions, out io.Writer) error {
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return err
	}
	abs, err := filepath.Abs(o.Dir)
	if err != nil {
		return err
	}
	t0 := time.Now()
	s := &session{exe: o.Exe, env: o.Env, config: o.Config, dir: abs, out: out, verbose: o.Verbose}
	r, err := runScenario(ctx, s)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "master station: %d power-off and %d power-on reports (event numbers %v / %v); %d data reports, %d with invalid (NULL) values; %d outage records with their original times (%d resent copies dropped)\n",
		r.MasterOff, r.MasterOn, r.OffSeqs, r.OnSeqs, r.DataReports, r.DataReportsNull, r.Forwarded, r.HistoryDuplicates)
	fmt.Fprintf(out, "data store %s: %d outages; EEPROM image %s; daemon logs %s/run-*.log; %v\n",
		filepath.Join(abs, "data.db"), r.Outages, filepath.Join(abs, "eeprom.bin"), abs, time.Since(t0).Round(time.Millisecond))
	fmt.Fprintln(out, r.breakdown())
	if s.supercap != "" {
		fmt.Fprintf(out, "end of the hold-up window: final flush, file systems synced, data store closed, shutdown command run %d time(s) (%s)\n",
			s.shutdowns, filepath.Join(abs, ShutdownLog))
	}
	fmt.Fprintln(out, r.summary())
	if r.Lost > 0 {
		return errors.New("acknowledged journal records are missing from the data store")
	}
	if r.Forwarded != r.Forwardable {
		return fmt.Errorf("the master station stored %d outage records, want the %d control actions and readings journaled", r.Forwarded, r.Forwardable)
	}
	return nil
}
