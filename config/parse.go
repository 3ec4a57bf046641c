package config

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/pelletier/go-toml/v2"
)

// MaxSize bounds a configuration file; Load refuses a larger one (or a
// device that never ends) rather than reading it all into memory.
const MaxSize = 1 << 20

// ErrTooLarge is returned by Load for a file over MaxSize bytes.
var ErrTooLarge = errors.New("config: file too large")

// Load reads and validates the configuration file at path.
func Load(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("config: read %s: %w", path, err)
	}
	if len(data) > MaxSize {
		return nil, fmt.Errorf("%w: %s is over %d bytes", ErrTooLarge, path, MaxSize)
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
