package console

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// clean replaces anything but printable ASCII with '?', so text from the
// daemon (log messages, device errors) cannot move the operator's cursor
// or change the terminal's settings.
func clean(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return strings.Map(func(r rune) rune {
				if r < 0x20 || r > 0x7e {
					return '?'
				}
				return r
			}, s)
		}
	}
	return s
}

// fit cleans s and cuts it to width columns, marking a cut with "...".
func fit(s string, width int) string {
	s = strings.TrimRight(clean(s), " ")
	if len(s) > width {
		return s[:width-3] + "..."
	}
	return s
}

// wrap cleans s and breaks it into lines of at most width columns; the
// continuation lines are indented by two spaces.
func wrap(s string, width int) []string {
	s = clean(s)
	var out []string
	for len(s) > width {
		cut := strings.LastIndexByte(s[:width+1], ' ')
		if cut <= width/2 {
			cut = width
		}
		out = append(out, strings.TrimRight(s[:cut], " "))
		s = "  " + strings.TrimLeft(s[cut:], " ")
	}
	return append(out, s)
}

const timeLayout = "2006-01-02 15:04:05"

func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Format(timeLayout)
}

// clock prints t as its time of day when it falls on now's day, else as
// month-day and minute (at most 11 columns).
func clock(t, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	t = t.In(now.Location())
	if y, m, d := t.Date(); y == now.Year() && m == now.Month() && d == now.Day() {
		return t.Format("15:04:05")
	}
	return t.Format("01-02 15:04")
}

// num prints v in at most width columns: 7 significant digits, fewer
// where they would not fit.
func num(v float64, width int) string {
	s := strconv.FormatFloat(v, 'g', 7, 64)
	for prec := 6; len(s) > width && prec > 0; prec-- {
		s = strconv.FormatFloat(v, 'g', prec, 64)
	}
	return s
}

// value prints a record's value in at most width columns: numbers as num
// does, strings quoted, bytes in hex.
func value(v any, width int) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case float64:
		return num(x, width)
	case string:
		return fit(strconv.Quote(x), width)
	case []byte:
		return fit("0x"+hex.EncodeToString(x), width)
	default:
		return fit(fmt.Sprint(x), width)
	}
}

// dur prints a duration rounded to what an operator reads.
func dur(d time.Duration) string {
	switch {
	case d <= 0:
		return "0s"
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	default:
		return d.Round(time.Second).String()
	}
}

func pct(part, whole int) string {
	if whole <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(part)/float64(whole))
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
