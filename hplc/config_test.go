package hplc

import (
	"errors"
	"strings"
	"testing"
)

func TestConfigValidate(t *testing.T) {
	a := MustParseAddr("000000003304")
	tests := []struct {
		name string
		cfg  Config
		want string // "" = valid
	}{
		{"valid", Config{Master: testMaster, Nodes: []Node{{Addr: a, Protocol: 2}}}, ""},
		{"no master", Config{}, "Config.Master"},
		{"zero node", Config{Master: testMaster, Nodes: []Node{{Protocol: 2}}}, "Config.Nodes[0]: zero address"},
		{"duplicate", Config{Master: testMaster, Nodes: []Node{{Addr: a}, {Addr: a}}}, "Config.Nodes[1]: address 000000003304 already at Nodes[0]"},
		{"protocol", Config{Master: testMaster, Nodes: []Node{{Addr: a, Protocol: 8}}}, "Config.Nodes[0]: protocol 8"},
		{"mode", Config{Master: testMaster, Mode: 64}, "Config.Mode"},
	}
	for _, tc := range tests {
		err := tc.cfg.Validate()
		if tc.want == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrValue) {
			t.Errorf("%s: err %v, want one naming %q", tc.name, err, tc.want)
		}
	}
}
