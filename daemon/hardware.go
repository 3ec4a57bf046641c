package daemon

import (
	"fmt"
	"log/slog"
	"os"
	"strings"

	"holdup/config"
	"holdup/devices"
	"holdup/eeprom"
	"holdup/hplc"
	"holdup/power"
)

// RealHardware reaches a terminal's parts: the power-fail line through the
// GPIO character device, the EEPROM through i2c-dev, serial ports through
// go.bug.st/serial, the supercap through IIO sysfs.
func RealHardware() *Hardware {
	return &Hardware{
		Name: "terminal",
		OpenLine: func(cfg config.Power, h power.EdgeHandler, log *slog.Logger) (power.Line, error) {
			return power.OpenGPIOLine(power.GPIOConfig{
				Chip: cfg.FailLine.Chip, Offset: cfg.FailLine.Offset, Name: cfg.FailLine.Name,
				ActiveHigh: !cfg.FailLine.ActiveLow, Debounce: cfg.Debounce, Consumer: "holdup-power-fail",
			}, h, log.With("part", "power-fail-line"))
		},
		OpenEEPROM: func(cfg config.EEPROM) (eeprom.Bus, func() error, error) {
			b, err := eeprom.OpenDevBus(cfg.Bus)
			if err != nil {
				return nil, nil, err
			}
			return b, b.Close, nil
		},
		OpenSerial: devices.OpenSerial,
		OpenHPLCReset: func(cfg config.HPLC) (hplc.ResetLine, func() error, error) {
			if cfg.ResetLine.Chip == "" {
				return nil, nil, nil
			}
			if cfg.ResetLine.Offset < 0 {
				return nil, nil, fmt.Errorf("a line name is not supported, give its offset")
			}
			l, err := hplc.OpenResetLine(cfg.ResetLine.Chip, cfg.ResetLine.Offset, cfg.ResetLine.ActiveLow)
			if err != nil {
				return nil, nil, err
			}
			return l, l.Close, nil
		},
		OpenChip: devices.OpenChip,
		Stat:     devices.OSStat,
		Supercap: func(cfg config.Power) (power.SupercapReader, error) {
			return power.IIOVoltage(cfg.Supercap.IIODevice, cfg.Supercap.Channel, cfg.Supercap.Divider)
		},
		BootID: ReadBootID,
	}
}

// BootIDPath is where the kernel publishes its boot id, a random UUID
// drawn at every boot.
const BootIDPath = "/proc/sys/kernel/random/boot_id"

// ReadBootID returns the kernel's boot id (BootIDPath).
func ReadBootID() (string, error) {
	b, err := os.ReadFile(BootIDPath)
	if err != nil {
		return "", fmt.Errorf("daemon: boot id: %w", err)
	}
	id := strings.TrimSpace(string(b))
	if id == "" {
		return "", fmt.Errorf("daemon: boot id: %s is empty", BootIDPath)
	}
	return id, nil
}
