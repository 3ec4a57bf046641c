package console

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// ErrPasswordMismatch is returned by HashPW when the two entries differ.
var ErrPasswordMismatch = errors.New("console: passwords do not match")

// HashPW is the `holdup hashpw` subcommand: it asks for a password twice on
// in (without echo when in is a terminal), and prints the bcrypt hash for
// console.password_hash on out. Prompts go to prompt.
func HashPW(in *os.File, out, prompt io.Writer) error {
	r := bufio.NewReaderSize(in, 128)
	first, err := readSecret(in, r, prompt, "password: ")
	if err != nil {
		return err
	}
	again, err := readSecret(in, r, prompt, "again: ")
	if err != nil {
		return err
	}
	if first != again {
		return ErrPasswordMismatch
	}
	h, err := HashPassword(first)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(out, h)
	return err
}

// readSecret prints label and reads one line with terminal echo off.
func readSecret(f *os.File, r *bufio.Reader, prompt io.Writer, label string) (string, error) {
	fd := int(f.Fd())
	if old, err := unix.IoctlGetTermios(fd, unix.TCGETS); err == nil {
		quiet := *old
		quiet.Lflag &^= unix.ECHO
		quiet.Lflag |= unix.ICANON | unix.ECHONL
		if err := unix.IoctlSetTermios(fd, unix.TCSETS, &quiet); err != nil {
			return "", fmt.Errorf("console: turn off echo: %w", err)
		}
		defer unix.IoctlSetTermios(fd, unix.TCSETS, old)
	}
	fmt.Fprint(prompt, label) // only now: echo is off before anyone types
	s, err := r.ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && s != "") {
		return "", fmt.Errorf("console: read password: %w", err)
	}
	return strings.TrimRight(s, "\r\n"), nil
}
