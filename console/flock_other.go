//go:build !unix

package console

// lockFile does nothing where there is no flock: Consoles in different
// processes sharing a state file may then lose each other's changes.
func lockFile(string) (unlock func(), err error) { return func() {}, nil }
