//go:build !unix

package hooks

import "os/exec"

// ownGroup: without process groups, cancellation kills the program alone
// (exec.CommandContext's default).
func ownGroup(*exec.Cmd) {}
