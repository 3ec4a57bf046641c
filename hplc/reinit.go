package hplc

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Re-initialisation step names, as reported by *StepError.
const (
	StepConfig       = "check configuration"
	StepReset        = "reset line"
	StepHardwareInit = "hardware init (AFN 01 F1)"
	StepWaitModule   = "wait for module (AFN 03 F10 poll)"
	StepMasterAddr   = "restore master address (AFN 05 F1)"
	StepVerifyMaster = "verify master address (AFN 03 F4)"
	StepReadNodes    = "read node table (AFN 10 F1/F2)"
	StepAddNodes     = "add nodes (AFN 11 F1)"
	StepDeleteNodes  = "delete nodes (AFN 11 F2)"
	StepVerifyNodes  = "verify node count (AFN 10 F1)"
	StepResumeRoute  = "resume routing (AFN 12 F1)"
)

// Reinit brings the module back after power returns: optional reset pulse,
// hardware init, wait until the module answers again, query its run mode,
// restore the master address and the node list, and restart routing. Each
// step has its own timeout; a failure is a *StepError naming the step.
func (m *Module) Reinit(ctx context.Context) error {
	start := time.Now()
	if err := m.cfg.Validate(); err != nil {
		return &StepError{Step: StepConfig, Err: err}
	}
	if m.cfg.Reset != nil {
		if err := m.pulseReset(ctx); err != nil {
			return &StepError{Step: StepReset, Err: err}
		}
		if _, err := m.waitModule(ctx, 0); err != nil {
			return &StepError{Step: StepWaitModule, Err: err}
		}
	}
	c, err := m.hardwareInit(ctx)
	if err != nil {
		return &StepError{Step: StepHardwareInit, Err: err}
	}
	rm, err := m.waitModule(ctx, time.Duration(c.Wait)*time.Second)
	if err != nil {
		return &StepError{Step: StepWaitModule, Err: err}
	}
	m.log.Info("module up", "vendor", rm.Vendor.Vendor, "chip", rm.Vendor.Chip, "version", fmt.Sprintf("%04X", rm.Vendor.Version),
		"comm_mode", rm.CommMode, "master", rm.Master, "nodes", rm.Nodes, "max_nodes", rm.MaxNodes)
	if err := m.restoreMaster(ctx, rm.Master); err != nil {
		return err
	}
	if m.cfg.Nodes != nil {
		if err := m.restoreNodes(ctx); err != nil {
			return err
		}
	}
	if _, err := m.Confirmed(ctx, RouteRestart); err != nil {
		return &StepError{Step: StepResumeRoute, Err: err}
	}
	m.log.Info("module re-initialised", "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// hardwareInit sends AFN 01 F1 until it is confirmed. A lost confirm is
// ambiguous (the module may be rebooting already), so before resending it
// waits for the module to answer again rather than talking into a reboot.
func (m *Module) hardwareInit(ctx context.Context) (Confirm, error) {
	for attempt := 0; ; attempt++ {
		rp, err := m.do(ctx, HardwareInit, m.cfg.ReplyTimeout, 0)
		if err == nil {
			c, ok := rp.(Confirm)
			if !ok {
				return Confirm{}, fmt.Errorf("answered with %T: %w", rp, ErrUnexpected)
			}
			return c, nil
		}
		if !errors.Is(err, ErrTimeout) || attempt >= m.cfg.Retries {
			return Confirm{}, err
		}
		m.log.Warn("hardware init not confirmed; waiting for the module before resending", "attempt", attempt+1)
		if _, werr := m.waitModule(ctx, 0); werr != nil {
			return Confirm{}, fmt.Errorf("%w; then %w", err, werr)
		}
	}
}

func (m *Module) pulseReset(ctx context.Context) error {
	if err := m.cfg.Reset.SetValue(1); err != nil {
		return fmt.Errorf("assert: %w", err)
	}
	t := time.NewTimer(m.cfg.ResetPulse)
	defer t.Stop()
	var waitErr error
	select {
	case <-t.C:
	case <-ctx.Done():
		waitErr = ctx.Err()
	}
	// Release even when cancelled: never leave the module held in reset.
	if err := m.cfg.Reset.SetValue(0); err != nil {
		return fmt.Errorf("release: %w", err)
	}
	return waitErr
}

// waitModule waits for a rebooting module: after an optional announced
// delay it polls AFN 03 F10, each poll waiting PollTimeout for the answer,
// until BootTimeout has passed. A silent module is normal here; a deny is not.
func (m *Module) waitModule(ctx context.Context, delay time.Duration) (RunMode, error) {
	ctx, cancel := context.WithTimeout(ctx, m.cfg.BootTimeout)
	defer cancel()
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return RunMode{}, fmt.Errorf("waiting the %v the module asked for: %w", delay, m.ctxErr(ctx))
		}
	}
	polls := 0
	for {
		polls++
		rp, err := m.do(ctx, QueryRunMode, m.cfg.PollTimeout, 0)
		if err == nil {
			rm, ok := rp.(RunMode)
			if !ok {
				return RunMode{}, fmt.Errorf("run-mode poll answered with %T: %w", rp, ErrUnexpected)
			}
			m.log.Debug("module answered", "polls", polls)
			return rm, nil
		}
		if !errors.Is(err, ErrTimeout) {
			return RunMode{}, err
		}
		if ctx.Err() != nil {
			return RunMode{}, fmt.Errorf("module silent for %v (%d polls): %w", m.cfg.BootTimeout, polls, ErrTimeout)
		}
	}
}

func (m *Module) restoreMaster(ctx context.Context, have Addr) error {
	if have == m.cfg.Master {
		return nil
	}
	m.log.Info("restoring master address", "module_has", have, "want", m.cfg.Master)
	if _, err := m.Confirmed(ctx, SetMasterAddr{Addr: m.cfg.Master}); err != nil {
		return &StepError{Step: StepMasterAddr, Err: err}
	}
	got, err := m.MasterAddr(ctx)
	if err == nil && got != m.cfg.Master {
		err = fmt.Errorf("module reports %s after setting %s: %w", got, m.cfg.Master, ErrUnexpected)
	}
	if err != nil {
		return &StepError{Step: StepVerifyMaster, Err: err}
	}
	return nil
}

// restoreNodes makes the module's node table equal to Config.Nodes.
func (m *Module) restoreNodes(ctx context.Context) error {
	table, err := m.Nodes(ctx)
	if err != nil {
		return &StepError{Step: StepReadNodes, Err: err}
	}
	have := make(map[Addr]uint8, len(table))
	for _, n := range table {
		have[n.Addr] = n.Protocol
	}
	want := make(map[Addr]bool, len(m.cfg.Nodes))
	var add []Node
	var del []Addr
	for _, n := range m.cfg.Nodes {
		want[n.Addr] = true
		p, ok := have[n.Addr]
		if ok && p == n.Protocol {
			continue
		}
		if ok { // wrong protocol: delete, then add again
			del = append(del, n.Addr)
		}
		add = append(add, n)
	}
	for _, n := range table {
		if !want[n.Addr] {
			del = append(del, n.Addr)
		}
	}
	for i := 0; i < len(del); i += m.cfg.NodeBatch {
		batch := del[i:min(i+m.cfg.NodeBatch, len(del))]
		if _, err := m.Confirmed(ctx, DeleteNodes{Addrs: batch}); err != nil {
			return &StepError{Step: StepDeleteNodes, Err: err}
		}
	}
	for i := 0; i < len(add); i += m.cfg.NodeBatch {
		batch := add[i:min(i+m.cfg.NodeBatch, len(add))]
		if _, err := m.Confirmed(ctx, AddNodes{Nodes: batch}); err != nil {
			return &StepError{Step: StepAddNodes, Err: err}
		}
	}
	if len(add) == 0 && len(del) == 0 {
		m.log.Info("node table intact", "nodes", len(table))
		return nil
	}
	m.log.Info("node table restored", "added", len(add), "deleted", len(del))
	nc, err := m.NodeCount(ctx)
	if err == nil && int(nc.Count) != len(m.cfg.Nodes) {
		err = fmt.Errorf("module counts %d nodes, configured %d: %w", nc.Count, len(m.cfg.Nodes), ErrUnexpected)
	}
	if err != nil {
		return &StepError{Step: StepVerifyNodes, Err: err}
	}
	return nil
}
