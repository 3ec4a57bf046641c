package sim

import (
	"fmt"
	"os"

	"holdup/config"
	"holdup/proto698"
)

// masterSecurity is how the simulated master station authenticates its
// writes under the configuration's [uplink.security] key: plaintext+MAC
// (a field master secures its requests). nil when no key is configured.
func masterSecurity(c config.UplinkSecurity) (*proto698.MasterSecurity, error) {
	if c.KeyFile == "" {
		return nil, nil
	}
	raw, err := os.ReadFile(c.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("sim: master station key: %w", err)
	}
	key, err := proto698.ParseKey(raw)
	if err != nil {
		return nil, fmt.Errorf("sim: master station key %s: %w", c.KeyFile, err)
	}
	v, err := proto698.NewHMACVerifier(key)
	if err != nil {
		return nil, fmt.Errorf("sim: master station key %s: %w", c.KeyFile, err)
	}
	return &proto698.MasterSecurity{Verify: proto698.VerifyRNMAC, Key: v}, nil
}
