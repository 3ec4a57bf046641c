// Package deploy holds what is installed on a terminal beside the binary:
// the systemd unit (holdup.service), the example configuration
// (holdup.toml), the sysusers.d and udev files, and verify-unit.sh. It has
// no code; its tests check that these files agree with each other and
// that systemd accepts the unit.
package deploy
