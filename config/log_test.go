package config

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestNewLogger(t *testing.T) {
	var buf bytes.Buffer
	l, err := NewLogger(LogConfig{Level: "warn", Format: "json"}, &buf)
	if err != nil {
		t.Fatal(err)
	}
	l.Info("dropped")
	l.Warn("kept", "device", "inv1")
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("not one JSON record: %q: %v", buf.String(), err)
	}
	if rec["msg"] != "kept" || rec["device"] != "inv1" || rec["level"] != "WARN" {
		t.Errorf("record = %v", rec)
	}

	buf.Reset()
	l, err = NewLogger(LogConfig{}, &buf)
	if err != nil {
		t.Fatal(err)
	}
	l.Debug("dropped")
	l.Info("hello", "n", 3)
	if got := buf.String(); strings.Contains(got, "dropped") || !strings.Contains(got, "level=INFO msg=hello n=3") {
		t.Errorf("text output = %q", got)
	}

	for _, bad := range []LogConfig{{Level: "trace"}, {Format: "xml"}} {
		if _, err := NewLogger(bad, &buf); err == nil || !strings.HasPrefix(err.Error(), "config: log ") {
			t.Errorf("%+v: err = %v", bad, err)
		}
	}
}
