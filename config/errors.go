package config

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// ErrInvalid is matched (errors.Is) by every error that reports a problem
// in the file's content, as opposed to a failure to read it.
var ErrInvalid = errors.New("config: invalid")

// Error is one problem in a configuration file.
type Error struct {
	File string // file name as given to Parse or Load
	Line int    // 1-based line of the key, 0 when the key is absent
	Key  string // dotted key path, e.g. "device[2].point[0].period"; may be empty
	Msg  string // what is wrong, with the offending value
}

// Error formats the problem as FILE:LINE: key "KEY": MSG.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Key != "" {
		fmt.Fprintf(&b, "key %q: ", e.Key)
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Is reports whether target is ErrInvalid.
func (e *Error) Is(target error) bool { return target == ErrInvalid }

// ErrorList is every problem found in one file, ordered by line.
type ErrorList []*Error

// Error joins the entries, one per line.
func (l ErrorList) Error() string {
	s := make([]string, len(l))
	for i, e := range l {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

// Is reports whether target is ErrInvalid.
func (l ErrorList) Is(target error) bool { return target == ErrInvalid }

// Unwrap returns the entries so errors.As can reach each *Error.
func (l ErrorList) Unwrap() []error {
	out := make([]error, len(l))
	for i, e := range l {
		out[i] = e
	}
	return out
}

func (l ErrorList) sort() {
	sort.SliceStable(l, func(i, j int) bool {
		a, b := l[i], l[j]
		if a.Line != b.Line {
			// Entries without a line (missing keys) go last.
			if a.Line == 0 || b.Line == 0 {
				return b.Line == 0 && a.Line != 0
			}
			return a.Line < b.Line
		}
		return false
	})
}
