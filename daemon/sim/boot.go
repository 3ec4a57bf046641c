package sim

import (
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

// simBootID returns the boot id source of a sim child: BootIDEnv when
// set, the kernel's otherwise.
func simBootID() func() (string, error) {
	if id := os.Getenv(BootIDEnv); id != "" {
		return func() (string, error) { return id, nil }
	}
	return daemon.ReadBootID
}
