package sim

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"holdup/config"
)

// SupercapEnv sets the simulated supercap's voltage at a sim child's start
// (volts; default full_v): the child started after the capacitor ran out
// finds it empty ("0") and charging.
const SupercapEnv = "HOLDUP_SIM_SUPERCAP_V"

// simChargeTime is how long the simulated charger takes from empty to full.
const simChargeTime = 10 * time.Second

// SimSupercap is the hold-up capacitor of [power.supercap] on the rig
// (iio_device is not read): while the mains is off it feeds the load at
// constant power, so V² falls by 2P/C each second; while the mains is on
// the charger raises it at a constant rate to full_v. Its reading is what
// the daemon's IIO channel would read.
type SimSupercap struct {
	now func() time.Time

	mu       sync.Mutex
	v        float64 // at `at`
	at       time.Time
	mains    bool
	loadW    float64
	farads   float64
	fullV    float64
	chargeVs float64 // V/s on mains
}

// newSimSupercap returns a capacitor of farads charged to v feeding loadW.
func newSimSupercap(farads, loadW, fullV, v float64, now func() time.Time) *SimSupercap {
	if now == nil {
		now = time.Now
	}
	return &SimSupercap{now: now, v: v, at: now(), mains: true, loadW: loadW, farads: farads, fullV: fullV,
		chargeVs: fullV / simChargeTime.Seconds()}
}

// advance brings v up to now; c.mu held.
func (c *SimSupercap) advance() {
	now := c.now()
	dt := now.Sub(c.at).Seconds()
	c.at = now
	if dt <= 0 {
		return
	}
	if c.mains {
		c.v = math.Min(c.fullV, c.v+c.chargeVs*dt)
		return
	}
	c.v = math.Sqrt(math.Max(0, c.v*c.v-2*c.loadW*dt/c.farads))
}

// Read returns the voltage now.
func (c *SimSupercap) Read() (float64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.advance()
	return c.v, nil
}

// SetMains switches between charging (present) and feeding the load.
func (c *SimSupercap) SetMains(present bool) {
	c.mu.Lock()
	c.advance()
	c.mains = present
	c.mu.Unlock()
}

// SetLoad changes the power drawn during an outage (W), e.g. the modem
// transmitting: the sim-control command `supercap load W`.
func (c *SimSupercap) SetLoad(w float64) error {
	if !(w > 0) || w > 1000 {
		return fmt.Errorf("sim: supercap load %v W: want (0, 1000]", w)
	}
	c.mu.Lock()
	c.advance()
	c.loadW = w
	c.mu.Unlock()
	return nil
}

// newRigSupercap simulates sc starting at v (0: full, negative: empty);
// without capacitance_f and load_w it is a 10 F capacitor whose load drains
// it from full_v (5 V without one) to empty_v in 180 s.
func newRigSupercap(sc *config.Supercap, v float64) *SimSupercap {
	full := sc.FullV
	if full <= sc.EmptyV {
		full = max(5, 2*sc.EmptyV)
	}
	farads, load := sc.Farads, sc.LoadW
	if !(farads > 0 && load > 0) {
		farads = 10
		load = farads * (full*full - sc.EmptyV*sc.EmptyV) / (2 * 180)
	}
	switch {
	case v == 0:
		v = full
	case v < 0:
		v = 0
	}
	return newSimSupercap(farads, load, full, v, nil)
}

// simSupercapVolts returns the start voltage SupercapEnv asks for, or full.
func simSupercapVolts(full float64) (float64, error) {
	s := os.Getenv(SupercapEnv)
	if s == "" {
		return full, nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v < 0 || v > full {
		return 0, fmt.Errorf("sim: %s=%q: want volts in 0..%g", SupercapEnv, s, full)
	}
	return v, nil
}

// ShutdownScript is the sim's stand-in for power.shutdown_command, written
// into the sim directory: it appends its arguments (the configured
// command, or "poweroff" when none is configured) to ShutdownLog there
// instead of shutting the machine down.
const (
	ShutdownScript = "shutdown.sh"
	ShutdownLog    = "shutdown.log"
)

// simShutdownCommand writes the recording script into dir and returns the
// command that runs it with the configured argv.
func simShutdownCommand(dir string, configured []string) ([]string, error) {
	script := filepath.Join(dir, ShutdownScript)
	body := "#!/bin/sh\n# holdup sim: stands in for power.shutdown_command; records the call instead.\n" +
		"echo \"$(date -u +%Y-%m-%dT%H:%M:%S.%NZ) $*\" >> \"" + filepath.Join(dir, ShutdownLog) + "\"\necho \"recorded: $*\"\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		return nil, fmt.Errorf("sim: shutdown script: %w", err)
	}
	args := configured
	if len(args) == 0 {
		args = []string{"poweroff"}
	}
	return append([]string{script}, args...), nil
}

// simEnd prepares a sim child's end of the hold-up window: the shutdown
// command becomes the recording script in dir (never a real poweroff),
// and SupercapEnv sets the capacitor's start voltage.
func simEnd(cfg *config.Config, dir string, o *RigOptions) error {
	if dir != "" {
		cmd, err := simShutdownCommand(dir, cfg.Power.End.ShutdownCommand)
		if err != nil {
			return err
		}
		cfg.Power.End.ShutdownCommand = cmd
	} else {
		cfg.Power.End.ShutdownCommand = nil // no directory to record into: nothing runs
	}
	if sc := cfg.Power.Supercap; sc != nil {
		v, err := simSupercapVolts(sc.FullV)
		if err != nil {
			return err
		}
		if os.Getenv(SupercapEnv) != "" {
			o.SupercapV = v
			if v == 0 {
				o.SupercapV = -1
			}
		}
	}
	return nil
}
