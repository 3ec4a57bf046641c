package config

import (
	"bytes"
	"sort"
	"strconv"

	"github.com/pelletier/go-toml/v2/unstable"
)

// keyLines maps every key path in a document to the line where it is
// written. Paths use the names the decoder reports: "power.loss_v",
// "device[1].point[0].period". Elements of arrays of tables (and of arrays
// of inline tables) get an index.
type keyLines struct {
	line    map[string]int  // path → line of its first mention
	defined map[string]bool // paths assigned by a key/value (not by a header)
	headers map[string]int  // paths opened by a [table] header → its line
	arrays  map[string]int  // array-of-tables path → element count so far
	dups    []*Error        // keys assigned twice
}

// scanLines walks the document with go-toml's syntax-level parser. It
// reports a syntax error through err; the decoder reports those with their
// position, so callers use this only for the key→line map and duplicates.
func scanLines(data []byte) (*keyLines, error) {
	kl := &keyLines{
		line:    map[string]int{},
		defined: map[string]bool{},
		headers: map[string]int{},
		arrays:  map[string]int{},
	}
	var p unstable.Parser
	p.Reset(data)
	pos := newLineIndex(data)
	cur := ""
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.Table:
			keys, line := keyOf(pos, e)
			cur = kl.resolve(keys, line)
			if first, dup := kl.headers[cur]; dup || kl.defined[cur] {
				if !dup {
					first = kl.line[cur]
				}
				kl.dups = append(kl.dups, &Error{Line: line, Key: cur,
					Msg: "table defined twice (first at line " + strconv.Itoa(first) + ")"})
			}
			kl.headers[cur] = line
		case unstable.ArrayTable:
			keys, line := keyOf(pos, e)
			if len(keys) == 0 {
				continue
			}
			base := join(kl.resolve(keys[:len(keys)-1], line), keys[len(keys)-1])
			n := kl.arrays[base]
			kl.arrays[base] = n + 1
			kl.note(base, line)
			cur = base + "[" + strconv.Itoa(n) + "]"
			kl.note(cur, line)
		case unstable.KeyValue:
			kl.keyValue(pos, cur, e)
		}
	}
	return kl, p.Error()
}

// keyValue records a key/value (possibly dotted, possibly holding inline
// tables or arrays) under the table path cur.
func (kl *keyLines) keyValue(pos *lineIndex, cur string, e *unstable.Node) {
	keys, line := keyOf(pos, e)
	path := cur
	for _, k := range keys {
		path = join(path, k)
		kl.note(path, line)
	}
	if kl.defined[path] {
		kl.dups = append(kl.dups, &Error{Line: line, Key: path,
			Msg: "defined twice (first at line " + strconv.Itoa(kl.line[path]) + ")"})
	}
	kl.defined[path] = true
	kl.value(pos, path, e.Value(), line)
}

func (kl *keyLines) value(pos *lineIndex, path string, v *unstable.Node, line int) {
	if v == nil {
		return
	}
	switch v.Kind {
	case unstable.InlineTable:
		it := v.Children()
		for it.Next() {
			if c := it.Node(); c.Kind == unstable.KeyValue {
				kl.keyValue(pos, path, c)
			}
		}
	case unstable.Array:
		it := v.Children()
		for i := 0; it.Next(); i++ {
			c := it.Node()
			el := path + "[" + strconv.Itoa(i) + "]"
			l := line
			if c.Raw.Length > 0 {
				l = pos.line(c.Raw.Offset)
			}
			kl.note(el, l)
			kl.value(pos, el, c, l)
		}
	}
}

// resolve turns a header's dotted key into a path, pointing into the last
// element of any array of tables on the way, and notes each prefix.
func (kl *keyLines) resolve(keys []string, line int) string {
	path := ""
	for _, k := range keys {
		path = join(path, k)
		if n, ok := kl.arrays[path]; ok && n > 0 {
			path += "[" + strconv.Itoa(n-1) + "]"
		}
		kl.note(path, line)
	}
	return path
}

func (kl *keyLines) note(path string, line int) {
	if _, ok := kl.line[path]; !ok {
		kl.line[path] = line
	}
}

// keyOf returns the parts of a node's key and the line of its first part.
func keyOf(pos *lineIndex, n *unstable.Node) ([]string, int) {
	var keys []string
	line := 0
	it := n.Key()
	for it.Next() {
		k := it.Node()
		if line == 0 && k.Raw.Length > 0 {
			line = pos.line(k.Raw.Offset)
		}
		keys = append(keys, string(k.Data))
	}
	return keys, line
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

// lineIndex turns byte offsets into 1-based line numbers. go-toml's
// Parser.Shape counts the newlines (and scans back for the column) from the
// start of the document on every call, which made scanLines quadratic: a
// 160k-element array took seconds to minutes. The index is built once, in
// one pass; a lookup moves a cursor forward from the previous one (the
// scanner asks in document order, so the walk is linear overall) and falls
// back to a binary search for an offset behind it.
type lineIndex struct {
	nl  []int // offsets of the '\n' bytes, ascending
	cur int   // number of newlines before the last offset looked up
	off int   // the last offset looked up
}

func newLineIndex(data []byte) *lineIndex {
	li := &lineIndex{nl: make([]int, 0, bytes.Count(data, []byte{'\n'}))}
	for at := 0; ; {
		i := bytes.IndexByte(data[at:], '\n')
		if i < 0 {
			return li
		}
		li.nl = append(li.nl, at+i)
		at += i + 1
	}
}

// line returns the line holding byte offset off.
func (li *lineIndex) line(off uint32) int {
	o := int(off)
	if o < li.off {
		li.cur = sort.SearchInts(li.nl, o)
	}
	for li.cur < len(li.nl) && li.nl[li.cur] < o {
		li.cur++
	}
	li.off = o
	return li.cur + 1
}
