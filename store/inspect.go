package store

import (
	"fmt"
)

// InspectedRecord is one record frame found in an image.
type InspectedRecord struct {
	Seq uint64
	// Consumed is true for records at or below the consume mark that are
	// still physically present.
	Consumed bool
	// Record is the decoded record; valid only when Err is nil.
	Record Record
	// Raw is the record's self-contained CBOR encoding: as stored for a
	// version-1 record, the version-1 form with the names resolved for a
	// version-2 one (what `journal dump -format cbor` prints).
	Raw []byte
	// Version is the record format of the frame: 1 or 2 (compact).
	Version int
	// Err is set when the frame's CRC verified but the record failed the
	// second verification; such a record must not be used as data.
	Err error
}

// Inspection is a read-only analysis of a journal image.
type Inspection struct {
	Report  MountReport
	Records []InspectedRecord
}

// Inspect analyses a journal image without writing anything: the records
// present (committed ones, in sequence order), the consume mark, and the
// regions a mount would skip. It is what `holdup journal dump` prints.
func Inspect(img []byte, pageSize int) (*Inspection, error) {
	if pageSize < 16 || pageSize > 256 || len(img) == 0 || len(img)%pageSize != 0 || len(img)/pageSize < 8 {
		return nil, fmt.Errorf("store: inspect: %d-byte image with %d-byte pages is not a journal geometry", len(img), pageSize)
	}
	g := geometry{pageSize: pageSize, pages: len(img) / pageSize}
	capacity := g.pages * (pageSize - 1)
	sc := scanImage(img, g, min(1024, capacity/8))
	frames := sc.frames
	c := newCodec()
	st := analyze(sc, g, c, min(1024, capacity/8))
	in := &Inspection{Report: MountReport{Frames: len(frames), Consumed: st.consumed,
		NextSeq: st.maxSeq + 1, Skipped: st.skipped, Lost: st.lost}}
	if st.id != nil {
		in.Report.ID = fmt.Sprintf("%x", st.id)
	} else if len(frames) > 0 {
		in.Report.Notes = append(in.Report.Notes, "no consume marker: journal identity unknown")
	} else {
		in.Report.Notes = append(in.Report.Notes, "no journal on this image")
	}
	view, bad, _ := viewOf(frames, c)
	in.Report.Skipped = append(in.Report.Skipped, bad...)
	for _, f := range st.records {
		r := InspectedRecord{Seq: f.seq, Consumed: f.seq <= st.consumed, Raw: f.payload, Version: 1}
		if f.tag == tagRecord2 {
			r.Version = 2
		}
		r.Record, r.Err = c.decodeFrame(f.tag, f.seq, f.payload, view)
		if r.Err == nil {
			r.Raw = c.rawOf(f.tag, f.payload, &r.Record)
		}
		if !r.Consumed {
			in.Report.Records++
		}
		in.Records = append(in.Records, r)
	}
	return in, nil
}

// Versions counts the record frames present in the image (consumed or
// not, corrupt ones too) by format: version 1 and version 2.
func (in *Inspection) Versions() (v1, v2 int) {
	for _, r := range in.Records {
		if r.Version == 2 {
			v2++
		} else {
			v1++
		}
	}
	return v1, v2
}

// VersionSummary is what `journal dump`'s summary line ends with while
// version-1 records are present (a chip written before the upgrade, until
// the writer's laps overwrite them): ", records v1 M, v2 K"; "" when
// every record is version 2 (or there are none).
func (in *Inspection) VersionSummary() string {
	v1, v2 := in.Versions()
	if v1 == 0 {
		return ""
	}
	return fmt.Sprintf(", records v1 %d, v2 %d", v1, v2)
}
