package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"holdup/hplc"
	"holdup/hplc/dlt645"
	"holdup/proto698"
)

// protocols the frame decoder knows, by their -proto names.
var protocols = []string{"698", "1376.2", "645"}

func cmdFrame(_ context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "decode" {
		return fmt.Errorf("%w: holdup frame decode [-proto 698|1376.2|645] HEX…", errUsage)
	}
	fs := flag.NewFlagSet("frame decode", flag.ContinueOnError)
	fs.SetOutput(stderr)
	proto := fs.String("proto", "", "protocol: 698 (DL/T 698.45), 1376.2 (Q/GDW 1376.2) or 645 (DL/T 645-2007); detected when empty")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *proto != "" && !contains(protocols, *proto) {
		return fmt.Errorf("%w: -proto %q: want one of %s", errUsage, *proto, strings.Join(protocols, ", "))
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("%w: no frame given (hex bytes, spaces allowed within an argument)", errUsage)
	}
	enc := json.NewEncoder(stdout)
	bad := 0
	for i, arg := range fs.Args() {
		b, err := hex.DecodeString(strings.NewReplacer(" ", "", ":", "", "\t", "").Replace(arg))
		if err != nil {
			fmt.Fprintf(stderr, "frame %d: not hex: %v\n", i+1, err)
			bad++
			continue
		}
		p := *proto
		if p == "" {
			p = detect(b)
		}
		desc, err := describe(p, b)
		if err != nil {
			fmt.Fprintf(stderr, "frame %d (%s): %s\n", i+1, p, frameErr(err))
			bad++
			continue
		}
		if err := enc.Encode(map[string]any{"proto": p, "frame": desc}); err != nil {
			return err
		}
	}
	if bad > 0 {
		return fmt.Errorf("%d of %d frames did not decode", bad, fs.NArg())
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// detect guesses the protocol: a frame that decodes as one wins; else the
// one whose shape it has, so the error names the right fields.
func detect(b []byte) string {
	if proto698.LooksLikeFrame(b) {
		return "698"
	}
	if _, _, err := dlt645.Decode(b); err == nil {
		return "645"
	}
	if _, _, err := hplc.Decode(b); err == nil {
		return "1376.2"
	}
	s := b
	for len(s) > 0 && s[0] == 0xFE {
		s = s[1:]
	}
	switch {
	case len(s) >= 8 && s[0] == 0x68 && s[7] == 0x68:
		return "645"
	case len(s) >= 3 && s[0] == 0x68 && int(s[1])|int(s[2])<<8 == len(s):
		return "1376.2"
	}
	return "698"
}

func describe(proto string, b []byte) (any, error) {
	switch proto {
	case "698":
		return proto698.Describe(b)
	case "1376.2":
		return hplc.Describe(b)
	default:
		return dlt645.Describe(b)
	}
}

// frameErr phrases a decoder error as "field F at byte offset O: …".
func frameErr(err error) string {
	var e1 *proto698.FrameError
	var e2 *hplc.FrameError
	var e3 *dlt645.FrameError
	switch {
	case errors.As(err, &e1):
		return fmt.Sprintf("field %s at byte offset %d: %v", e1.Field, e1.Offset, e1.Err)
	case errors.As(err, &e2):
		return fmt.Sprintf("field %s at byte offset %d: %v", e2.Field, e2.Offset, e2.Err)
	case errors.As(err, &e3):
		return fmt.Sprintf("field %s at byte offset %d: %v", e3.Field, e3.Offset, e3.Err)
	}
	return err.Error()
}
