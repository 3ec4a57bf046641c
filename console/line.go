package console

import (
	"bytes"
	"fmt"
)

// lineKind is what a completed input line turned out to be.
type lineKind int

const (
	lineOK        lineKind = iota // printable text, within the bound
	lineTooLong                   // more bytes than the bound; discarded
	lineGarbage                   // a non-printable byte; discarded
	lineCancelled                 // ^C; discarded silently
)

// line is one completed input line.
type line struct {
	kind  lineKind
	text  string // lineOK only
	n     int    // bytes received on the line (lineTooLong)
	bad   byte   // first offending byte (lineGarbage)
	col   int    // its 1-based column (lineGarbage)
	limit int
}

// reason explains a rejected line.
func (l line) reason() string {
	switch l.kind {
	case lineTooLong:
		return fmt.Sprintf("line too long (%d bytes, max %d); discarded", l.n, l.limit)
	case lineGarbage:
		return fmt.Sprintf("non-printable byte 0x%02X at column %d; line discarded", l.bad, l.col)
	}
	return ""
}

// editor assembles input bytes into bounded lines. Printable ASCII is kept
// (TAB becomes a space); CR, LF or CR LF ends a line; BS and DEL erase; ^C
// cancels the line. Any other byte, or more than max bytes, spoils the line:
// the rest of it is read and dropped, and the line is reported as rejected
// when it ends. Memory stays bounded by max whatever arrives.
type editor struct {
	max    int
	buf    []byte
	n      int  // bytes received on this line, including dropped ones
	bad    byte // first non-printable byte
	badCol int  // its column, 0 when none
	lastCR bool
	echo   bool          // echo accepted bytes (a raw serial line does not)
	hide   bool          // echo no text (password entry)
	out    *bytes.Buffer // where echo goes
}

func newEditor(max int, echo bool, out *bytes.Buffer) *editor {
	return &editor{max: max, buf: make([]byte, 0, max), echo: echo, out: out}
}

// feed takes one byte and returns a completed line, if this byte ended one.
func (e *editor) feed(b byte) (line, bool) {
	if b == '\n' && e.lastCR {
		e.lastCR = false
		return line{}, false // the LF of CR LF
	}
	e.lastCR = b == '\r'
	switch b {
	case '\r', '\n':
		l := e.finish()
		e.emit("\r\n")
		return l, true
	case 0x03: // ^C cancels a clean line; in a spoilt one it is more garbage
		if e.badCol != 0 || e.n > e.max {
			break
		}
		e.reset()
		e.emit("^C\r\n")
		return line{kind: lineCancelled}, true
	case 0x08, 0x7f: // BS, DEL
		if e.badCol == 0 && e.n <= e.max && len(e.buf) > 0 {
			e.buf = e.buf[:len(e.buf)-1]
			e.n--
			e.emit("\b \b")
		}
		return line{}, false
	case '\t':
		b = ' '
	}
	e.n++
	if b < 0x20 || b > 0x7e {
		if e.badCol == 0 {
			e.bad, e.badCol = b, e.n
		}
		return line{}, false
	}
	if e.badCol != 0 || e.n > e.max {
		return line{}, false
	}
	e.buf = append(e.buf, b)
	if !e.hide {
		e.emit(string(b))
	}
	return line{}, false
}

func (e *editor) finish() line {
	var l line
	switch {
	case e.badCol != 0:
		l = line{kind: lineGarbage, bad: e.bad, col: e.badCol}
	case e.n > e.max:
		l = line{kind: lineTooLong, n: e.n, limit: e.max}
	default:
		l = line{kind: lineOK, text: string(e.buf)}
	}
	e.reset()
	return l
}

func (e *editor) reset() {
	e.buf = e.buf[:0]
	e.n, e.badCol, e.bad = 0, 0, 0
}

func (e *editor) emit(s string) {
	if e.echo {
		e.out.WriteString(s)
	}
}
