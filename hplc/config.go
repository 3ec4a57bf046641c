package hplc

import (
	"fmt"
	"time"
)

// Config configures the module driver. Zero durations take the defaults
// noted on each field.
type Config struct {
	// Master is the master-node (CCO) address the terminal restores.
	Master Addr
	// Nodes is the node (meter) list to restore. Nil leaves the module's
	// table alone; non-nil makes the table equal to it.
	Nodes []Node
	// Mode is the communication mode written in C (default ModeHPLC).
	Mode uint8
	// ReplyTimeout bounds the wait for the answer to one command (default 2 s).
	ReplyTimeout time.Duration
	// Retries is how often a command that got no answer is resent (default 2).
	Retries int
	// ResetPulse is how long the reset line is held (default 200 ms).
	ResetPulse time.Duration
	// BootTimeout bounds the wait for the module to answer again after a
	// reset or hardware init (default 30 s).
	BootTimeout time.Duration
	// PollTimeout is the reply timeout of each run-mode poll while waiting
	// for the module to boot; it spaces the polls (default 1 s).
	PollTimeout time.Duration
	// MonitorTimeout bounds an AFN 13 F1 node monitor (default 15 s).
	MonitorTimeout time.Duration
	// NodePage is how many node entries one 10 F2 query asks for (default 16).
	NodePage uint8
	// NodeBatch is how many nodes one 11 F1 / 11 F2 frame carries (default 10).
	NodeBatch int
	// Reset is the optional reset line.
	Reset ResetLine
	// ReportBuffer is the capacity of the Reports channel (default 16).
	ReportBuffer int
}

func (c *Config) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.ReplyTimeout, 2*time.Second)
	def(&c.ResetPulse, 200*time.Millisecond)
	def(&c.BootTimeout, 30*time.Second)
	def(&c.PollTimeout, time.Second)
	def(&c.MonitorTimeout, 15*time.Second)
	if c.Mode == 0 {
		c.Mode = ModeHPLC
	}
	if c.Retries <= 0 {
		c.Retries = 2
	}
	if c.NodePage == 0 {
		c.NodePage = 16
	}
	if c.NodeBatch <= 0 {
		c.NodeBatch = 10
	}
	if c.ReportBuffer <= 0 {
		c.ReportBuffer = 16
	}
}

// Validate checks what Reinit would restore: a master address, and a node
// list without zero or repeated addresses and with 3-bit protocol types.
func (c *Config) Validate() error {
	if c.Master == (Addr{}) {
		return fmt.Errorf("hplc: Config.Master: master address not set: %w", ErrValue)
	}
	if c.Mode > 0x3F {
		return fmt.Errorf("hplc: Config.Mode: communication mode %d exceeds 63: %w", c.Mode, ErrValue)
	}
	seen := make(map[Addr]int, len(c.Nodes))
	for i, n := range c.Nodes {
		if n.Addr == (Addr{}) {
			return fmt.Errorf("hplc: Config.Nodes[%d]: zero address: %w", i, ErrValue)
		}
		if j, dup := seen[n.Addr]; dup {
			return fmt.Errorf("hplc: Config.Nodes[%d]: address %s already at Nodes[%d]: %w", i, n.Addr, j, ErrValue)
		}
		seen[n.Addr] = i
		if n.Protocol > 7 {
			return fmt.Errorf("hplc: Config.Nodes[%d]: protocol %d outside 0..7: %w", i, n.Protocol, ErrValue)
		}
	}
	return nil
}
