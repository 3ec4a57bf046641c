package console

import (
	"io"
	"os"
)

// stdio is the development console: reads from a private handle on
// standard input, writes to standard output.
type stdio struct {
	in  *os.File
	out io.Writer
}

func (s *stdio) Read(p []byte) (int, error)  { return s.in.Read(p) }
func (s *stdio) Write(p []byte) (int, error) { return s.out.Write(p) }

// Close ends a pending Read (Serve calls it on cancellation).
func (s *stdio) Close() error { return s.in.Close() }

// Stdio returns standard input and output as a console stream for
// `-console stdio`. Serve closes it on cancellation, which ends a pending
// read: standard input is reopened through /proc/self/fd/0 so that the
// handle is a new, pollable file description whose Close interrupts Read,
// and the shell's own handle keeps its flags. Use it with Options Echo and
// CRLF false (the terminal echoes and maps line ends itself).
func Stdio() io.ReadWriteCloser { return openStdio("/proc/self/fd/0", os.Stdout) }

func openStdio(path string, out io.Writer) io.ReadWriteCloser {
	in, err := os.Open(path)
	if err != nil {
		// No /proc: a plain handle still works, but cancellation then
		// waits for the next input line.
		in = os.Stdin
	}
	return &stdio{in: in, out: out}
}
