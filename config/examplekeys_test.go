package config

import (
	"bufio"
	"bytes"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/pelletier/go-toml/v2"
)

// reIndex strips array indices from a key path: device[2].point[0].name →
// device.point.name.
var reIndex = regexp.MustCompile(`\[[0-9]+\]`)

// askedKeys decodes raw and returns the normalised paths of every key the
// schema asked for.
func askedKeys(raw map[string]any) map[string]bool {
	d := &decoder{file: "keys", lines: &keyLines{line: map[string]int{}}, asked: map[string]bool{}}
	decode(d, raw)
	out := map[string]bool{}
	for k := range d.asked {
		out[reIndex.ReplaceAllString(k, "")] = true
	}
	return out
}

// lookup returns the map at dotted path p of raw (the first element of an
// array of tables), nil if there is none.
func lookup(raw map[string]any, p string) map[string]any {
	m := raw
	for _, part := range strings.Split(p, ".") {
		switch v := m[part].(type) {
		case map[string]any:
			m = v
		case []any:
			if len(v) == 0 {
				return nil
			}
			el, ok := v[0].(map[string]any)
			if !ok {
				return nil
			}
			m = el
		default:
			return nil
		}
	}
	return m
}

// schemaKeys is every key the schema knows for a file like raw: the keys
// asked when decoding it, and, for each key asked but absent, the keys
// under it when it is given as an empty table (an optional section such
// as [uplink.tls]), until nothing new turns up.
func schemaKeys(raw map[string]any) map[string]bool {
	tried := map[string]bool{}
	for {
		asked := askedKeys(raw)
		grew := false
		for k := range asked {
			if tried[k] {
				continue
			}
			tried[k] = true
			i := strings.LastIndex(k, ".")
			parent, name := raw, k
			if i >= 0 {
				parent, name = lookup(raw, k[:i]), k[i+1:]
			}
			if parent == nil {
				continue
			}
			if _, present := parent[name]; present {
				continue
			}
			parent[name] = map[string]any{}
			more := false
			for k2 := range askedKeys(raw) {
				more = more || strings.HasPrefix(k2, k+".")
			}
			if more {
				grew = true
			} else {
				delete(parent, name)
			}
		}
		if !grew {
			return askedKeys(raw)
		}
	}
}

var (
	reSection        = regexp.MustCompile(`^#?\s*\[\[?([a-z_.]+)\]\]?`)
	reCommentedKey   = regexp.MustCompile(`^#\s*([a-z_-]+)\s*=`)
	reWord           = regexp.MustCompile(`[a-z_-]+`)
	reQualifiedInDoc = regexp.MustCompile(`\b([a-z_]+\.[a-z_]+)\b`)
)

// documentedKeys reads the example as text: its live keys (from raw), the
// keys shown commented out (`# key = …`) under a live or commented-out
// section header, the words of each commented-out section's comments (the
// event names of [hooks.mqtt.topics]), and the keys named in the prose as
// parent.key (e.g. point.uplink_type).
func documentedKeys(t *testing.T, text []byte, raw map[string]any) (keys, prose map[string]bool) {
	keys, prose = map[string]bool{}, map[string]bool{}
	commentedSection := false
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		for k, v := range m {
			p := strings.TrimPrefix(prefix+"."+k, ".")
			keys[p] = true
			switch v := v.(type) {
			case map[string]any:
				walk(p, v)
			case []any:
				for _, el := range v {
					if em, ok := el.(map[string]any); ok {
						walk(p, em)
					}
				}
			}
		}
	}
	walk("", raw)
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(text))
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if m := reSection.FindStringSubmatch(l); m != nil {
			section = m[1]
			commentedSection = strings.HasPrefix(l, "# [")
			if !strings.HasPrefix(l, "#") || commentedSection {
				keys[section] = true
			}
			continue
		}
		if m := reCommentedKey.FindStringSubmatch(l); m != nil {
			keys[strings.TrimPrefix(section+"."+m[1], ".")] = true
		}
		if commentedSection && strings.HasPrefix(l, "#") {
			for _, w := range reWord.FindAllString(l, -1) {
				keys[section+"."+w] = true
			}
			continue
		}
		if strings.HasPrefix(l, "#") {
			for _, m := range reQualifiedInDoc.FindAllStringSubmatch(l, -1) {
				prose[m[1]] = true
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return keys, prose
}

// TestExampleDocumentsEveryKey: deploy/holdup.toml, the configuration
// reference, shows every key the schema knows (outside [sim], which is for
// development), set or commented out in its section, or named in its
// comments as parent.key. A key added to the schema without a line in the
// example fails here with its path.
func TestExampleDocumentsEveryKey(t *testing.T) {
	text, err := os.ReadFile("../deploy/holdup.toml")
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := toml.Unmarshal(text, &raw); err != nil {
		t.Fatal(err)
	}
	documented, prose := documentedKeys(t, text, raw)
	known := schemaKeys(raw)
	if len(known) < 100 {
		t.Fatalf("the schema knows only %d keys: the walk is broken", len(known))
	}
	var missing []string
	for k := range known {
		if k == "sim" || strings.HasPrefix(k, "sim.") || documented[k] {
			continue
		}
		parts := strings.Split(k, ".")
		if len(parts) >= 2 && prose[strings.Join(parts[len(parts)-2:], ".")] {
			continue
		}
		missing = append(missing, k)
	}
	slices.Sort(missing)
	if len(missing) > 0 {
		t.Errorf("deploy/holdup.toml does not document %d key(s) the schema knows:\n  %s", len(missing), strings.Join(missing, "\n  "))
	}
}

// The walk finds keys that only optional sections hold, and the check
// catches a key the example leaves out.
func TestSchemaKeysWalk(t *testing.T) {
	text, err := os.ReadFile("../deploy/holdup.toml")
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := toml.Unmarshal(text, &raw); err != nil {
		t.Fatal(err)
	}
	known := schemaKeys(raw)
	for _, k := range []string{"uplink.tls.cert", "uplink.security.key_file", "hooks.mqtt.topics.alarm", "device.point.uplink_oad", "power.supercap.capacitance_f", "eeprom.page_size"} {
		if !known[k] {
			t.Errorf("schema walk misses %s", k)
		}
	}
	cut := bytes.Replace(text, []byte("\ncontrol_burst = 8 "), []byte("\n# (burst removed) "), 1)
	var raw2 map[string]any
	if err := toml.Unmarshal(cut, &raw2); err != nil {
		t.Fatal(err)
	}
	documented, _ := documentedKeys(t, cut, raw2)
	if documented["uplink.control_burst"] {
		t.Error("a key removed from the example still counts as documented")
	}
}
