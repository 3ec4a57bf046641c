package config

import (
	"fmt"
	"io"
	"log/slog"
)

// NewLogger builds the daemon's logger from the [log] section: text or JSON
// records on w at the configured level. An empty Level or Format takes the
// default (info, text); anything else unknown is an error. A nil w
// discards.
func NewLogger(cfg LogConfig, w io.Writer) (*slog.Logger, error) {
	lvl, err := ParseLevel(cfg.Level)
	if err != nil {
		return nil, err
	}
	if w == nil {
		w = io.Discard
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch cfg.Format {
	case "", "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	default:
		return nil, fmt.Errorf("config: log format %q: must be text or json", cfg.Format)
	}
}

// ParseLevel maps a [log] level name to a slog level ("" → info).
func ParseLevel(s string) (slog.Level, error) {
	switch s {
	case "debug":
		return slog.LevelDebug, nil
	case "", "info":
		return slog.LevelInfo, nil
	case "warn":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	default:
		return 0, fmt.Errorf("config: log level %q: must be debug, info, warn or error", s)
	}
}
