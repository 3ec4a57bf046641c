package config

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// decoder collects errors while the schema code reads the generic tree.
type decoder struct {
	file  string
	lines *keyLines
	errs  ErrorList
	// asked, when set (tests), records the path of every key the schema
	// looks for (get, has), present or not: the keys the schema knows.
	asked map[string]bool
}

// lineOf returns the line of path, or of its nearest ancestor that has one.
func (d *decoder) lineOf(path string) int {
	for path != "" {
		if l, ok := d.lines.line[path]; ok {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return 0
}

func (d *decoder) errAt(path, format string, args ...any) {
	d.errs = append(d.errs, &Error{File: d.file, Line: d.lineOf(path), Key: path,
		Msg: fmt.Sprintf(format, args...)})
}

// table is one TOML table being read. Every key read is marked used; done
// reports the rest as unknown.
type table struct {
	d    *decoder
	path string
	m    map[string]any
	used map[string]bool
	// other lists keys valid elsewhere in the same kind of table (device
	// keys of another driver), for a clearer message than "unknown key".
	other map[string]string
}

func newTable(d *decoder, path string, m map[string]any) *table {
	return &table{d: d, path: path, m: m, used: map[string]bool{}}
}

func (t *table) key(k string) string { return join(t.path, k) }

func (t *table) errf(k, format string, args ...any) {
	t.d.errAt(t.key(k), format, args...)
}

func (t *table) has(k string) bool {
	if t.d.asked != nil {
		t.d.asked[t.key(k)] = true
	}
	_, ok := t.m[k]
	return ok
}

// get marks k used and returns its raw value.
func (t *table) get(k string) (any, bool) {
	t.used[k] = true
	if t.d.asked != nil {
		t.d.asked[t.key(k)] = true
	}
	v, ok := t.m[k]
	return v, ok
}

// done reports every key that no reader asked for.
func (t *table) done(known ...string) {
	keys := make([]string, 0, len(t.m))
	for k := range t.m {
		if !t.used[k] {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		if why, ok := t.other[k]; ok {
			t.errf(k, "%s", why)
			continue
		}
		msg := "unknown key"
		if s := suggest(k, t.allKeys(known)); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		t.errf(k, "%s", msg)
	}
}

func (t *table) allKeys(known []string) []string {
	out := append([]string(nil), known...)
	for k := range t.used {
		out = append(out, k)
	}
	return out
}

func typeName(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case int64:
		return "integer"
	case float64:
		return "float"
	case bool:
		return "boolean"
	case map[string]any:
		return "table"
	case []any:
		return "array"
	default:
		return fmt.Sprintf("%T", v)
	}
}

// str reads an optional string; def when absent.
func (t *table) str(k, def string) string {
	v, ok := t.get(k)
	if !ok {
		return def
	}
	s, ok := v.(string)
	if !ok {
		t.errf(k, "must be a string (got %s %v)", typeName(v), v)
		return def
	}
	return s
}

// reqStr reads a string that must be present and non-empty.
func (t *table) reqStr(k string) string {
	if !t.has(k) {
		t.get(k)
		t.errf(k, "required")
		return ""
	}
	s := t.str(k, "")
	if t.has(k) && s == "" {
		if _, isStr := t.m[k].(string); isStr {
			t.errf(k, "must not be empty")
		}
	}
	return s
}

// oneOf reads a string that must be one of choices; def when absent.
func (t *table) oneOf(k, def string, choices ...string) string {
	s := t.str(k, def)
	for _, c := range choices {
		if s == c {
			return s
		}
	}
	if _, isStr := t.m[k].(string); isStr {
		t.errf(k, "must be one of %s (got %q)", strings.Join(choices, "|"), s)
	}
	return def
}

// integer reads an optional integer in [lo, hi]; def when absent.
func (t *table) integer(k string, def, lo, hi int64) int64 {
	v, ok := t.get(k)
	if !ok {
		return def
	}
	n, ok := v.(int64)
	if !ok {
		t.errf(k, "must be an integer (got %s %v)", typeName(v), v)
		return def
	}
	if n < lo || n > hi {
		t.errf(k, "must be in %d..%d (got %d)", lo, hi, n)
		return def
	}
	return n
}

// reqInteger reads an integer in [lo, hi] that must be present.
func (t *table) reqInteger(k string, lo, hi int64) int64 {
	if !t.has(k) {
		t.get(k)
		t.errf(k, "required")
		return lo
	}
	return t.integer(k, lo, lo, hi)
}

// number reads an optional float (an integer is accepted); def when absent.
// ok is false when the value is present but not a finite number.
func (t *table) number(k string, def float64) (float64, bool) {
	v, present := t.get(k)
	if !present {
		return def, true
	}
	var f float64
	switch x := v.(type) {
	case int64:
		f = float64(x)
	case float64:
		f = x
	default:
		t.errf(k, "must be a number (got %s %v)", typeName(v), v)
		return def, false
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		t.errf(k, "must be a finite number (got %v)", f)
		return def, false
	}
	return f, true
}

// boolean reads an optional boolean; def when absent.
func (t *table) boolean(k string, def bool) bool {
	v, ok := t.get(k)
	if !ok {
		return def
	}
	b, ok := v.(bool)
	if !ok {
		t.errf(k, "must be true or false (got %s %v)", typeName(v), v)
		return def
	}
	return b
}

// duration reads an optional duration string in [lo, hi]; def when absent.
func (t *table) duration(k string, def, lo, hi time.Duration) time.Duration {
	v, ok := t.get(k)
	if !ok {
		return def
	}
	s, ok := v.(string)
	if !ok {
		t.errf(k, "must be a duration string like \"5s\" (got %s %v)", typeName(v), v)
		return def
	}
	dur, err := time.ParseDuration(s)
	if err != nil {
		t.errf(k, "must be a duration like \"5s\", \"250ms\", \"3m\" (got %q)", s)
		return def
	}
	if dur < lo || dur > hi {
		t.errf(k, "must be in %v..%v (got %v)", lo, hi, dur)
		return def
	}
	return dur
}

// sub returns the sub-table k, or nil when absent (required → error).
func (t *table) sub(k string, required bool) *table {
	v, ok := t.get(k)
	if !ok {
		if required {
			t.errf(k, "required section [%s] is missing", t.key(k))
		}
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		t.errf(k, "must be a table (got %s)", typeName(v))
		return nil
	}
	return newTable(t.d, t.key(k), m)
}

// tables returns the array of tables k ([[k]] or k = [{…}]).
func (t *table) tables(k string) []*table {
	v, ok := t.get(k)
	if !ok {
		return nil
	}
	arr, ok := v.([]any)
	if !ok {
		t.errf(k, "must be an array of tables [[%s]] (got %s)", t.key(k), typeName(v))
		return nil
	}
	out := make([]*table, 0, len(arr))
	for i, el := range arr {
		p := t.key(k) + "[" + strconv.Itoa(i) + "]"
		m, ok := el.(map[string]any)
		if !ok {
			t.d.errAt(p, "must be a table (got %s)", typeName(el))
			continue
		}
		out = append(out, newTable(t.d, p, m))
	}
	return out
}

// suggest returns the candidate closest to k when it is a likely typo.
func suggest(k string, candidates []string) string {
	best, bestD := "", 3
	for _, c := range candidates {
		if c == k {
			continue
		}
		if d := editDistance(k, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := prev[j-1]
			if a[i-1] != b[j-1] {
				c++
			}
			cur[j] = min(c, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
