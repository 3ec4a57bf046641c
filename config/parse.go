package config

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/pelletier/go-toml/v2"
)

// Load reads and validates the configuration file at path.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(data, path)
}

// Parse validates data, naming it name in errors. On any problem it returns
// a nil *Config and an ErrorList holding every problem found.
func Parse(data []byte, name string) (*Config, error) {
	var raw map[string]any
	decErr := toml.Unmarshal(data, &raw)
	var de *toml.DecodeError
	if errors.As(decErr, &de) {
		row, col := de.Position()
		msg := fmt.Sprintf("syntax error at column %d: %s", col, strings.TrimPrefix(de.Error(), "toml: "))
		return nil, ErrorList{{File: name, Line: row, Key: strings.Join(de.Key(), "."), Msg: msg}}
	}
	lines, _ := scanLines(data) // syntax errors were reported above
	if len(lines.dups) > 0 {
		for _, e := range lines.dups {
			e.File = name
		}
		return nil, ErrorList(lines.dups)
	}
	if decErr != nil {
		return nil, ErrorList{{File: name, Msg: decErr.Error()}}
	}
	d := &decoder{file: name, lines: lines}
	cfg := decode(d, raw)
	if len(d.errs) > 0 {
		d.errs.sort()
		return nil, d.errs
	}
	cfg.File = name
	cfg.lines = lines.line
	return cfg, nil
}
