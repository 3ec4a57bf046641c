package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"holdup/eeprom"
	"holdup/store"
)

func cmdJournal(_ context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "dump" {
		return fmt.Errorf("%w: holdup journal dump -image FILE -part PART [-format json|cbor] [-all]", errUsage)
	}
	fs := flag.NewFlagSet("journal dump", flag.ContinueOnError)
	fs.SetOutput(stderr)
	image := fs.String("image", "", "EEPROM image file")
	partName := fs.String("part", "at24c256", "EEPROM part number")
	format := fs.String("format", "json", "output: json (one object per line) or cbor (RFC 8742 CBOR sequence)")
	all := fs.Bool("all", false, "also print consumed records still present on the chip")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *image == "" {
		return fmt.Errorf("%w: -image FILE is required", errUsage)
	}
	if *format != "json" && *format != "cbor" {
		return fmt.Errorf("%w: -format %q: want json or cbor", errUsage, *format)
	}
	part, err := eeprom.LookupPart(*partName)
	if err != nil {
		return err
	}
	img, err := os.ReadFile(*image)
	if err != nil {
		return fmt.Errorf("read image: %w", err)
	}
	if len(img) != part.Size {
		return fmt.Errorf("image %s is %d bytes but part %s holds %d: wrong -part or not an EEPROM image",
			*image, len(img), part.Name, part.Size)
	}
	in, err := store.Inspect(img, part.PageSize)
	if err != nil {
		return err
	}
	return dumpInspection(in, *format, *all, stdout, stderr)
}

func dumpInspection(in *store.Inspection, format string, all bool, stdout, stderr io.Writer) error {
	enc := json.NewEncoder(stdout)
	printed, corrupt := 0, 0
	for _, r := range in.Records {
		if r.Err != nil {
			corrupt++
			fmt.Fprintf(stderr, "corrupt record seq %d (not printed): %v\n", r.Seq, r.Err)
			continue
		}
		if r.Consumed && !all {
			continue
		}
		var err error
		if format == "cbor" {
			_, err = stdout.Write(r.Raw)
		} else {
			err = enc.Encode(r.Record)
		}
		if err != nil {
			return fmt.Errorf("write output: %w", err)
		}
		printed++
	}
	rep := in.Report
	id := rep.ID
	if id == "" {
		id = "(none)"
	}
	var lostSeqs uint64
	for _, l := range rep.Lost {
		lostSeqs += l.Count()
	}
	fmt.Fprintf(stderr, "journal %s: %d records printed, %d unconsumed, consumed up to %d, next sequence %d, %d corrupt, %d skipped regions, %d lost ranges (%d sequence numbers)%s\n",
		id, printed, rep.Records, rep.Consumed, rep.NextSeq, corrupt, len(rep.Skipped), len(rep.Lost), lostSeqs, in.VersionSummary())
	for _, s := range rep.Skipped {
		fmt.Fprintf(stderr, "skipped: %s\n", s)
	}
	for _, l := range rep.Lost {
		fmt.Fprintf(stderr, "lost: %s\n", l)
	}
	for _, n := range rep.Notes {
		fmt.Fprintf(stderr, "note: %s\n", n)
	}
	if rep.Frames == 0 && len(rep.Skipped) > 0 {
		return errors.New("no journal frame verified on this image")
	}
	return nil
}
