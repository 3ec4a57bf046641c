package sim

import (
	"fmt"
	"os"

	"holdup/daemon"
)

// BootIDEnv overrides the kernel boot id a `holdup run` child on the sim
// rig reports (daemon.Hardware.BootID). Without it the child reads the
// real one (/proc/sys/kernel/random/boot_id), so two children started one
// after the other see the same boot: a restart of holdup, after which an
// open outage continues and returns warm. The scenario's "the capacitor
// runs out" is a reboot of the terminal: the child started after it gets
// another boot id through this variable, and its start is cold.
const BootIDEnv = "HOLDUP_SIM_BOOT_ID"

// MainsEnv, set to "lost", starts a `holdup run` child on the sim rig with
// the mains absent (RigOptions.MainsLost): the child of an operator's
// restart during an outage finds the phases down and the power-fail line
// asserted, as the real terminal's would.
const MainsEnv = "HOLDUP_SIM_MAINS"

// simMainsLost reports whether MainsEnv asks for a start without mains.
func simMainsLost() (bool, error) {
	switch v := os.Getenv(MainsEnv); v {
	case "", "present":
		return false, nil
	case "lost":
		return true, nil
	default:
		return false, fmt.Errorf("sim: %s=%q: want present or lost", MainsEnv, v)
	}
}

// simBootID returns the boot id source of a sim child: BootIDEnv when
// set, the kernel's otherwise.
func simBootID() func() (string, error) {
	if id := os.Getenv(BootIDEnv); id != "" {
		return func() (string, error) { return id, nil }
	}
	return daemon.ReadBootID
}
