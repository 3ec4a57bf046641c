package store

// Opening a data store that may be damaged. bbolt trusts its file: it maps
// it and follows page numbers without bounds checks, so a truncated file
// kills the process with SIGBUS and a corrupted page panics in whatever
// transaction reads it. OpenDataStore therefore checks the file with plain
// reads before bbolt maps it (checkDataFile), and every transaction of a
// DataStore runs behind guardedDB, which turns a panic or memory fault
// inside bbolt into an error wrapping ErrDamaged.
//
// The on-disk layout read here is bbolt's (format version 2, native byte
// order, as go.etcd.io/bbolt/internal/common writes it):
//
//	page     = id (8) | flags (2) | count (2) | overflow (4) | data
//	meta     = magic (4) | version (4) | page size (4) | flags (4) |
//	           root bucket: root page (8), sequence (8) |
//	           freelist page (8) | high water mark (8) | txid (8) |
//	           checksum (8): FNV-64a over the 56 bytes before it
//	branch element = pos (4) | key size (4) | child page (8)
//	leaf element   = flags (4) | pos (4) | key size (4) | value size (4)
//	freelist = count, or 0xFFFF and the count as the first 8-byte id; ids (8 each)
//
// pos is relative to the element itself; bbolt packs the keys (and values)
// right after the element array, in element order. A bucket's value is
// its root page (8) and sequence (8); with root page 0 the bucket is
// inline: a leaf page follows in the value.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// ErrDamaged marks a data store file that cannot be used as it is: its
// structure is broken (truncated, emptied, corrupted pages), or bbolt
// panicked or faulted reading it. *DamagedError matches it, and so does
// the error of a DataStore method whose transaction hit damage after the
// store was opened.
var ErrDamaged = errors.New("data store damaged")

// DamagedError describes a data store file found damaged when opening it.
// It matches ErrDamaged.
type DamagedError struct {
	// Path is the data store file.
	Path string
	// MovedTo is where OpenOrRecoverDataStore moved the damaged file
	// (kept for forensics, never deleted); empty when it was not moved
	// (OpenDataStore's error).
	MovedTo string
	// Reason says what is wrong, naming the meta page, page, offset or
	// sizes concerned.
	Reason string
}

func (e *DamagedError) Error() string {
	s := fmt.Sprintf("store: data store %s damaged: %s", e.Path, e.Reason)
	if e.MovedTo != "" {
		s += "; moved to " + e.MovedTo
	}
	return s
}

// Is makes a DamagedError match ErrDamaged.
func (e *DamagedError) Is(target error) bool { return target == ErrDamaged }

// OpenOrRecoverDataStore opens the data store at path like OpenDataStore
// and, when the file is damaged (OpenDataStore fails with a
// *DamagedError, a 0-byte file included), moves it aside as
// path + ".damaged-" + now in UTC as 20060102T150405Z (with "-2", "-3", …
// appended if that name is taken: an earlier copy is never overwritten),
// creates a fresh, empty data store at path and returns it with the
// DamagedError saying what was wrong and where the file went. The caller
// raises the alarm: the history, outage log and outbox of the moved file
// are not in the fresh store.
//
// A missing file is created without any report: whether one should have
// existed is for the caller to know (from the journal). Errors that are
// not damage (the lock held by another holdup, an I/O error) are returned
// as they are and nothing is moved. If the fresh store cannot be created
// after the move, the DamagedError comes back with that error and a nil
// DataStore.
func OpenOrRecoverDataStore(path string, now time.Time) (*DataStore, *DamagedError, error) {
	d, err := OpenDataStore(path)
	if err == nil {
		return d, nil, nil
	}
	var de *DamagedError
	if !errors.As(err, &de) {
		return nil, nil, err
	}
	moved, err := moveAside(path, now)
	if err != nil {
		return nil, de, fmt.Errorf("store: move damaged data store %s aside: %w", path, err)
	}
	de.MovedTo = moved
	d, err = OpenDataStore(path)
	if err != nil {
		return nil, de, fmt.Errorf("store: fresh data store after moving the damaged one to %s: %w", moved, err)
	}
	return d, de, nil
}

// moveAside renames path to its forensic name, never replacing a file,
// and makes the rename durable.
func moveAside(path string, now time.Time) (string, error) {
	base := path + ".damaged-" + now.UTC().Format("20060102T150405Z")
	to := base
	for n := 2; ; n++ {
		if _, err := os.Lstat(to); errors.Is(err, os.ErrNotExist) {
			break
		} else if err != nil {
			return "", err
		}
		if n > 1000 {
			return "", fmt.Errorf("%s and 999 numbered names after it are taken", base)
		}
		to = fmt.Sprintf("%s-%d", base, n)
	}
	if err := os.Rename(path, to); err != nil {
		return "", err
	}
	return to, syncDir(filepath.Dir(path))
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}

// openTimeout is how long OpenDataStore waits for the file's lock.
const openTimeout = 2 * time.Second

// openChecked is OpenDataStore's bbolt open: it checks the file under a
// shared lock (so a file another holdup is writing is never judged),
// then opens it with bbolt and runs init in a write transaction, a bbolt
// panic or fault in either being damage.
func openChecked(path string, init func(*bolt.Tx) error) (*guardedDB, error) {
	if err := checkDataFile(path); err != nil {
		return nil, err
	}
	db, err := guardOpen(path, &bolt.Options{Timeout: openTimeout})
	if err != nil {
		return nil, openError(path, err)
	}
	if err := db.Update(init); err != nil {
		db.Close()
		if tp, ok := errors.AsType[*txPanicError](err); ok {
			return nil, &DamagedError{Path: path, Reason: "bbolt panicked preparing the buckets: " + panicText(tp.value)}
		}
		return nil, fmt.Errorf("store: data store %s: %w", path, err)
	}
	return db, nil
}

// guardOpen opens path with bbolt and opts, a panic or memory fault
// inside bbolt being a *DamagedError; bbolt's own error is returned as it
// is. A bbolt.Open that panicked leaves its file descriptor to the
// garbage collector (nothing returns it).
func guardOpen(path string, opts *bolt.Options) (*guardedDB, error) {
	var g *guardedDB
	err := guarded(func() error {
		db, err := bolt.Open(path, 0o600, opts)
		if err == nil {
			g = guardDB(db, path)
		}
		return err
	}, func(r any, _ string) error {
		return &DamagedError{Path: path, Reason: "bbolt panicked opening it: " + panicText(r)}
	})
	if err != nil {
		return nil, err
	}
	return g, nil
}

// guarded runs do with memory faults turned into panics. A panic or fault
// inside bbolt is recovered and becomes damage(r, op)'s error (r what
// bbolt panicked with, op as panicSite names it); any other panic goes
// on (the caller's own bug, not damage).
func guarded(do func() error, damage func(r any, op string) error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		fromBolt, op := panicSite(r)
		if !fromBolt {
			panic(r)
		}
		err = damage(r, op)
	}()
	return do()
}

// checkDataFile checks an existing data store file before bbolt maps it:
// nil for a missing file (bbolt creates it), a *DamagedError for a
// damaged one, another error when the file cannot be read or its lock is
// held by a writer for longer than openTimeout.
func checkDataFile(path string) error { return checkDataFileWait(path, openTimeout) }

// checkDataFileWait is checkDataFile waiting up to timeout for the lock.
func checkDataFileWait(path string, timeout time.Duration) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("store: open data store %s: %w", path, err)
	}
	defer f.Close() // releases the lock
	if err := lockShared(f, timeout); err != nil {
		return fmt.Errorf("store: open data store %s: %w", path, err)
	}
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("store: open data store %s: %w", path, err)
	}
	c := &fileChecker{r: f, size: fi.Size()}
	reason, err := c.check()
	if err != nil {
		return fmt.Errorf("store: check data store %s: %w", path, err)
	}
	if reason != "" {
		return &DamagedError{Path: path, Reason: reason}
	}
	return nil
}

// lockShared takes a shared flock on f, as a bbolt reader does, waiting
// up to timeout while a writer (the daemon) holds it exclusively.
func lockShared(f *os.File, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
		if err == nil {
			return nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			return fmt.Errorf("lock: %w", err)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w (its lock was not free within %s)", ErrInUse, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// bbolt's format constants (go.etcd.io/bbolt/internal/common).
const (
	boltMagic        = uint32(0xED0CDAED)
	boltVersion      = 2
	pageHeaderSize   = 16
	metaLen          = 64 // the meta struct, checksum included
	metaSummed       = 56 // the bytes its checksum covers
	elemSize         = 16 // branch and leaf page elements alike
	bucketHeaderSize = 16
	flagBranch       = 0x01
	flagLeaf         = 0x02
	flagFreelist     = 0x10
	leafBucket       = 0x01 // leaf element flag: the value is a bucket
	noFreelist       = math.MaxUint64
	minPageSize      = 1 << 9
	maxPageSize      = 1 << 24
	maxTreeDepth     = 64
)

// boltMeta is a decoded meta page.
type boltMeta struct {
	magic, version, pageSize uint32
	root, freelist, hwm      uint64 // hwm: pages in use, the high water mark
	txid, sum                uint64
}

// parseMeta decodes the meta in page b (page header included) and says
// what is wrong with it, "" when it is valid.
func parseMeta(b []byte) (boltMeta, string) {
	if len(b) < pageHeaderSize+metaLen {
		return boltMeta{}, fmt.Sprintf("%d bytes, need %d", len(b), pageHeaderSize+metaLen)
	}
	m := b[pageHeaderSize : pageHeaderSize+metaLen]
	ne := binary.NativeEndian
	v := boltMeta{
		magic: ne.Uint32(m[0:]), version: ne.Uint32(m[4:]), pageSize: ne.Uint32(m[8:]),
		root: ne.Uint64(m[16:]), freelist: ne.Uint64(m[32:]), hwm: ne.Uint64(m[40:]),
		txid: ne.Uint64(m[48:]), sum: ne.Uint64(m[56:]),
	}
	h := fnv.New64a()
	h.Write(m[:metaSummed])
	switch {
	case v.magic != boltMagic:
		return v, fmt.Sprintf("magic %#08x, want %#08x", v.magic, boltMagic)
	case v.version != boltVersion:
		return v, fmt.Sprintf("version %d, want %d", v.version, boltVersion)
	case v.sum != h.Sum64():
		return v, fmt.Sprintf("checksum %016x, computed %016x", v.sum, h.Sum64())
	case v.pageSize < minPageSize || v.pageSize > maxPageSize || v.pageSize&(v.pageSize-1) != 0:
		return v, fmt.Sprintf("page size %d is not a power of two from %d to %d", v.pageSize, minPageSize, maxPageSize)
	}
	return v, ""
}

// fileChecker walks a bbolt file with plain reads. Its reasons name the
// meta page or page and what is wrong.
type fileChecker struct {
	r        io.ReaderAt
	size     int64
	pageSize int64
	hwm      uint64
	used     []uint64 // bit set over the pages below hwm: reached from the tree or the freelist
	free     []uint64 // bit set: listed in the freelist
	names    [][]byte // the data store's buckets (top-level keys that must be buckets)
	all      []byte   // the pages in use, read at once when at most readAllMax bytes
}

// readAllMax bounds the memory the check takes to read the pages in use
// in one go (a page read at a time costs a system call each: about 15
// times a bbolt.Open on a 4 MiB data store); a variable for the tests.
var readAllMax int64 = 16 << 20

// fileDamage is a reason the walk stops at.
type fileDamage struct{ reason string }

func (d *fileDamage) Error() string { return d.reason }

func damaged(format string, args ...any) error {
	return &fileDamage{reason: fmt.Sprintf(format, args...)}
}

// check returns why the file is damaged ("" when it is sound) or an error
// reading it.
func (c *fileChecker) check() (string, error) {
	err := c.walk()
	var d *fileDamage
	if errors.As(err, &d) {
		return d.reason, nil
	}
	return "", err
}

func (c *fileChecker) walk() error {
	if c.size == 0 {
		return damaged("the file is empty (0 bytes): its records, outage log and outbox are gone")
	}
	first := make([]byte, min(c.size, 4096))
	if err := c.read(first, 0); err != nil {
		return err
	}
	m0, why0 := parseMeta(first)
	if why0 != "" {
		// Find the second meta page as bbolt does: at any page size.
		for ps := int64(minPageSize); ps <= maxPageSize && ps < c.size; ps <<= 1 {
			b := make([]byte, min(c.size-ps, pageHeaderSize+metaLen))
			if err := c.read(b, ps); err != nil {
				return err
			}
			if _, why1 := parseMeta(b); why1 == "" {
				return damaged("meta page 0: %s (meta page 1 is valid, at page size %d)", why0, ps)
			}
		}
		return damaged("meta page 0: %s; no valid meta page 1 either (file size %d bytes)", why0, c.size)
	}
	c.pageSize = int64(m0.pageSize)
	if c.size%c.pageSize != 0 {
		return damaged("file size %d bytes is not a multiple of the page size %d (truncated?)", c.size, c.pageSize)
	}
	if c.size < 4*c.pageSize {
		return damaged("file size %d bytes is less than 4 pages of %d (two meta pages, freelist, root)", c.size, c.pageSize)
	}
	second := make([]byte, pageHeaderSize+metaLen)
	if err := c.read(second, c.pageSize); err != nil {
		return err
	}
	m1, why1 := parseMeta(second)
	if why1 != "" {
		return damaged("meta page 1: %s (meta page 0 is valid)", why1)
	}
	if m1.pageSize != m0.pageSize {
		return damaged("meta page 1: page size %d, meta page 0 says %d", m1.pageSize, m0.pageSize)
	}
	pages := uint64(c.size / c.pageSize)
	for i, m := range []boltMeta{m0, m1} {
		switch {
		case m.hwm > pages:
			return damaged("meta page %d (txid %d): %d pages in use (%d bytes) but the file holds %d bytes (%d pages): truncated",
				i, m.txid, m.hwm, uint64(c.pageSize)*min(m.hwm, math.MaxUint64/uint64(c.pageSize)), c.size, pages)
		case m.root < 2 || m.root >= m.hwm:
			return damaged("meta page %d (txid %d): root page %d outside pages 2..%d in use", i, m.txid, m.root, m.hwm)
		case m.freelist != noFreelist && (m.freelist < 2 || m.freelist >= m.hwm):
			return damaged("meta page %d (txid %d): freelist page %d outside pages 2..%d in use", i, m.txid, m.freelist, m.hwm)
		case m.freelist == m.root:
			return damaged("meta page %d (txid %d): freelist and root are both page %d", i, m.txid, m.root)
		}
	}
	// bbolt uses the newer meta; the older one's tree may already be
	// partly overwritten by the newer transaction (its pages were free),
	// so only the newer one's tree is walked.
	m, which := m0, 0
	if m1.txid > m0.txid {
		m, which = m1, 1
	}
	c.hwm = m.hwm
	if n := int64(c.hwm) * c.pageSize; n <= readAllMax {
		c.all = make([]byte, n)
		if err := c.read(c.all, 0); err != nil {
			return err
		}
	}
	c.used = make([]uint64, (c.hwm+63)/64)
	c.free = make([]uint64, (c.hwm+63)/64)
	setBit(c.used, 0)
	setBit(c.used, 1)
	if m.freelist != noFreelist {
		if err := c.freelist(m.freelist); err != nil {
			return wrapDamage(err, "meta page %d (txid %d): freelist", which, m.txid)
		}
	}
	c.names = [][]byte{bucketRecords, bucketRejected, bucketOutages, bucketOutbox, bucketOutboxMeta, bucketByTime}
	if err := c.tree(m.root, nil, nil, 0, "/"); err != nil {
		return wrapDamage(err, "meta page %d (txid %d)", which, m.txid)
	}
	return nil
}

// wrapDamage prefixes a damage reason; other errors pass.
func wrapDamage(err error, format string, args ...any) error {
	var d *fileDamage
	if errors.As(err, &d) {
		return damaged("%s: %s", fmt.Sprintf(format, args...), d.reason)
	}
	return err
}

func setBit(s []uint64, i uint64)      { s[i/64] |= 1 << (i % 64) }
func hasBit(s []uint64, i uint64) bool { return s[i/64]&(1<<(i%64)) != 0 }

// readPages returns n pages from page id on (within the pages in use):
// a slice of the copy in memory when it was read, else read now.
func (c *fileChecker) readPages(id, n uint64) ([]byte, error) {
	off, size := int64(id)*c.pageSize, int64(n)*c.pageSize
	if c.all != nil {
		return c.all[off : off+size : off+size], nil
	}
	b := make([]byte, size)
	return b, c.read(b, off)
}

func (c *fileChecker) read(b []byte, off int64) error {
	n, err := c.r.ReadAt(b, off)
	if n == len(b) {
		return nil
	}
	return fmt.Errorf("read %d bytes at offset %d: %w", len(b), off, err)
}

// pageRole names what a page is for in reasons (formatted only for one).
type pageRole struct {
	freelist bool
	bucket   string
}

func (r pageRole) String() string {
	if r.freelist {
		return "freelist"
	}
	return "bucket " + r.bucket
}

// page reads page id with its overflow pages and marks them used; what
// names the page's role in reasons.
func (c *fileChecker) page(id uint64, what pageRole) ([]byte, error) {
	if id < 2 || id >= c.hwm {
		return nil, damaged("%s page %d outside pages 2..%d in use", what, id, c.hwm)
	}
	b, err := c.readPages(id, 1)
	if err != nil {
		return nil, err
	}
	ne := binary.NativeEndian
	if got := ne.Uint64(b); got != id {
		return nil, damaged("%s page %d: header names page %d", what, id, got)
	}
	if ov := uint64(ne.Uint32(b[12:])); ov > 0 {
		if ov >= c.hwm-id {
			return nil, damaged("%s page %d: %d overflow pages run past the %d pages in use", what, id, ov, c.hwm)
		}
		if (ov+1)*uint64(c.pageSize) > math.MaxInt32 {
			return nil, damaged("%s page %d: %d overflow pages (%d bytes) is beyond any data store", what, id, ov, (ov+1)*uint64(c.pageSize))
		}
		if b, err = c.readPages(id, ov+1); err != nil {
			return nil, err
		}
	}
	for p := id; p <= id+uint64(len(b))/uint64(c.pageSize)-1; p++ {
		if hasBit(c.used, p) {
			return nil, damaged("%s page %d: page %d is reached twice", what, id, p)
		}
		if hasBit(c.free, p) {
			return nil, damaged("%s page %d: page %d is in use and listed free", what, id, p)
		}
		setBit(c.used, p)
	}
	return b, nil
}

func (c *fileChecker) freelist(id uint64) error {
	b, err := c.page(id, pageRole{freelist: true})
	if err != nil {
		return err
	}
	ne := binary.NativeEndian
	if f := ne.Uint16(b[8:]); f != flagFreelist {
		return damaged("page %d: type %#x, want freelist (%#x)", id, f, flagFreelist)
	}
	n, at := uint64(ne.Uint16(b[10:])), uint64(pageHeaderSize)
	if n == 0xFFFF {
		n, at = ne.Uint64(b[pageHeaderSize:]), pageHeaderSize+8
	}
	if n > (uint64(len(b))-at)/8 {
		return damaged("page %d: %d free page ids do not fit in its %d bytes", id, n, len(b))
	}
	for i := range n {
		p := ne.Uint64(b[at+8*i:])
		if p < 2 || p >= c.hwm {
			return damaged("page %d: free page id %d (entry %d) outside pages 2..%d in use", id, p, i, c.hwm)
		}
		if hasBit(c.free, p) {
			return damaged("page %d: page %d listed free twice", id, p)
		}
		if hasBit(c.used, p) {
			return damaged("page %d: page %d listed free is the freelist itself", id, p)
		}
		setBit(c.free, p)
	}
	return nil
}

// tree checks the subtree at page id of the bucket named path: every key
// within [lo, hi) (nil: open), sorted, packed as bbolt writes, children
// and sub-buckets recursively.
func (c *fileChecker) tree(id uint64, lo, hi []byte, depth int, path string) error {
	if depth > maxTreeDepth {
		return damaged("bucket %s: page %d is more than %d levels deep", path, id, maxTreeDepth)
	}
	b, err := c.page(id, pageRole{bucket: path})
	if err != nil {
		return err
	}
	return c.nodePage(b, id, lo, hi, depth, path)
}

// pageName names a page in reasons (formatted only for one).
type pageName struct {
	bucket string
	id     uint64 // 0: an inline bucket's page
}

func (p pageName) String() string {
	if p.id == 0 {
		return fmt.Sprintf("bucket %s (inline)", p.bucket)
	}
	return fmt.Sprintf("bucket %s page %d", p.bucket, p.id)
}

// nodePage checks a branch or leaf page b (page id, or an inline bucket's
// page with id 0).
func (c *fileChecker) nodePage(b []byte, id uint64, lo, hi []byte, depth int, path string) error {
	ne := binary.NativeEndian
	where := pageName{path, id}
	flags, n := ne.Uint16(b[8:]), uint64(ne.Uint16(b[10:]))
	if flags != flagBranch && flags != flagLeaf {
		return damaged("%s: type %#x, want branch (%#x) or leaf (%#x)", where, flags, flagBranch, flagLeaf)
	}
	if id == 0 && flags != flagLeaf {
		return damaged("%s: type %#x, want leaf (%#x)", where, flags, flagLeaf)
	}
	if flags == flagBranch && n == 0 {
		return damaged("%s: branch page without elements", where)
	}
	size := uint64(len(b))
	next := pageHeaderSize + n*elemSize // where the next key must start
	if next > size {
		return damaged("%s: %d elements do not fit in its %d bytes", where, n, size)
	}
	type child struct {
		key  []byte
		page uint64
	}
	var (
		prev     []byte
		children []child
	)
	for i := range n {
		e := b[pageHeaderSize+i*elemSize:]
		var pos, ksize, vsize uint64
		if flags == flagBranch {
			pos, ksize = uint64(ne.Uint32(e[0:])), uint64(ne.Uint32(e[4:]))
		} else {
			pos, ksize, vsize = uint64(ne.Uint32(e[4:])), uint64(ne.Uint32(e[8:])), uint64(ne.Uint32(e[12:]))
		}
		at := pageHeaderSize + i*elemSize + pos
		if at != next {
			return damaged("%s element %d: key at offset %d, want %d", where, i, at, next)
		}
		if ksize == 0 {
			return damaged("%s element %d: empty key", where, i)
		}
		if ksize+vsize > size-at {
			return damaged("%s element %d: key of %d and value of %d bytes at offset %d run past its %d bytes", where, i, ksize, vsize, at, size)
		}
		next = at + ksize + vsize
		key := b[at : at+ksize]
		switch {
		case prev != nil && bytes.Compare(prev, key) >= 0:
			return damaged("%s element %d: key %x not after the previous key %x", where, i, key, prev)
		case lo != nil && bytes.Compare(key, lo) < 0:
			return damaged("%s element %d: key %x before the parent's bound %x", where, i, key, lo)
		case hi != nil && bytes.Compare(key, hi) >= 0:
			return damaged("%s element %d: key %x not before the parent's bound %x", where, i, key, hi)
		}
		prev = key
		if flags == flagBranch {
			children = append(children, child{key, ne.Uint64(e[8:])})
			continue
		}
		value := b[at+ksize : next]
		switch lf := ne.Uint32(e[0:]); lf {
		case 0:
			if path == "/" && c.ours(key) {
				return damaged("%s element %d: key %q is the data store's bucket but holds a value", where, i, key)
			}
		case leafBucket:
			if err := c.bucket(key, value, path); err != nil {
				return err
			}
		default:
			return damaged("%s element %d: flags %#x, want 0 or %#x", where, i, lf, leafBucket)
		}
	}
	for i, ch := range children {
		up := hi
		if i+1 < len(children) {
			up = children[i+1].key
		}
		if ch.page == id {
			return damaged("%s element %d: child is the page itself", where, i)
		}
		if err := c.tree(ch.page, ch.key, up, depth+1, path); err != nil {
			return err
		}
	}
	return nil
}

func (c *fileChecker) ours(key []byte) bool {
	for _, n := range c.names {
		if bytes.Equal(n, key) {
			return true
		}
	}
	return false
}

// bucket checks the bucket stored as value under key in the bucket at
// path.
func (c *fileChecker) bucket(key, value []byte, path string) error {
	sub := path + string(key) + "/"
	if path == "/" {
		sub = string(key) + "/"
	}
	if len(value) < bucketHeaderSize {
		return damaged("bucket %q: header of %d bytes, want %d", sub, len(value), bucketHeaderSize)
	}
	root := binary.NativeEndian.Uint64(value)
	if root != 0 {
		return c.tree(root, nil, nil, depthOf(sub), sub)
	}
	inline := value[bucketHeaderSize:]
	if len(inline) < pageHeaderSize {
		return damaged("bucket %q: inline page of %d bytes, want at least %d", sub, len(inline), pageHeaderSize)
	}
	return c.nodePage(inline, 0, nil, nil, depthOf(sub), sub)
}

// depthOf is the nesting of a bucket path ("records/" is 1): the tree
// depth budget counts buckets and pages alike.
func depthOf(path string) int { return strings.Count(path, "/") }

// guardedDB is the data store's bbolt handle: View and Update turn a
// panic or memory fault inside bbolt (a page damaged after the open) into
// an error wrapping ErrDamaged, after which every transaction fails with
// that error (a write transaction that panicked may have left bbolt's
// lock or freelist inconsistent, and writing on may spread the damage).
type guardedDB struct {
	*bolt.DB
	path   string
	broken atomic.Pointer[error]
}

// guardDB wraps an open bbolt database.
func guardDB(db *bolt.DB, path string) *guardedDB { return &guardedDB{DB: db, path: path} }

// closeTimeout bounds Close of a data store damaged while open (a
// variable for the tests).
var closeTimeout = 2 * time.Second

// View runs fn in a read transaction (bolt.DB.View), guarded.
func (g *guardedDB) View(fn func(*bolt.Tx) error) error { return g.guard("read", g.DB.View, fn) }

// Update runs fn in a write transaction (bolt.DB.Update), guarded.
func (g *guardedDB) Update(fn func(*bolt.Tx) error) error { return g.guard("write", g.DB.Update, fn) }

// Close closes the database. After damage it gives up after closeTimeout
// (bbolt's lock may be held by the transaction that panicked) and leaves
// the file open.
func (g *guardedDB) Close() error {
	if g.broken.Load() == nil {
		return g.DB.Close()
	}
	done := make(chan error, 1)
	go func() { done <- g.DB.Close() }()
	select {
	case err := <-done:
		return err
	case <-time.After(closeTimeout):
		return fmt.Errorf("store: close damaged data store %s: bbolt still locked after %s; file left open", g.path, closeTimeout)
	}
}

func (g *guardedDB) guard(kind string, tx func(func(*bolt.Tx) error) error, fn func(*bolt.Tx) error) error {
	if p := g.broken.Load(); p != nil {
		return *p
	}
	return guarded(func() error { return tx(fn) }, func(r any, op string) error {
		err := error(&txPanicError{path: g.path, op: op, kind: kind, value: r})
		g.broken.CompareAndSwap(nil, &err)
		return err
	})
}

// txPanicError is a guarded transaction's error for a bbolt panic or
// fault: data store damage found after the open. It matches ErrDamaged.
type txPanicError struct {
	path, op, kind string // kind: read or write
	value          any    // what bbolt panicked with
}

func (e *txPanicError) Error() string {
	return fmt.Sprintf("%v: %s: %s: bbolt panicked in a %s transaction: %s", ErrDamaged, e.path, e.op, e.kind, panicText(e.value))
}

// Is makes a txPanicError match ErrDamaged.
func (e *txPanicError) Is(target error) bool { return target == ErrDamaged }

// openError is the error of a bbolt.Open that failed without panicking.
func openError(path string, err error) error {
	hint := ""
	if errors.Is(err, bolterrors.ErrTimeout) {
		hint = " (another holdup process holds it?)"
	}
	return fmt.Errorf("store: open data store %s: %w%s", path, err, hint)
}

// panicText describes what bbolt panicked with.
func panicText(r any) string {
	if f, ok := r.(faultError); ok {
		return fmt.Sprintf("memory fault at %#x in bbolt's map of the file (shorter than the pages in use: truncated while open?)", f.Addr())
	}
	return fmt.Sprint(r)
}

// faultError is the runtime error of a memory fault that
// debug.SetPanicOnFault turned into a panic.
type faultError interface{ Addr() uintptr }

// panicSite walks the stack of the panic being recovered (value r) once.
// fromBolt reports whether it is data store damage: a memory fault (the
// only faults a Go program meets are in bbolt's map of the file), or a
// panic raised in bbolt's code rather than in the caller's function that
// bbolt was running. op names the caller of the guarded View or Update
// whose transaction panicked ("History", "importBatch", "OpenDataStore",
// …), "a data store operation" outside one. It must be called (directly
// or not) from the deferred function that recovered, while the panicking
// frames are still on the stack.
func panicSite(r any) (fromBolt bool, op string) {
	_, fromBolt = r.(faultError)
	decided := fromBolt
	op = "a data store operation"
	pcs := make([]uintptr, 128)
	frames := runtime.CallersFrames(pcs[:runtime.Callers(1, pcs)])
	seenPanic, atGuard := false, false
	for {
		f, more := frames.Next()
		switch {
		case strings.HasPrefix(f.Function, "runtime.gopanic"), strings.HasPrefix(f.Function, "runtime.sigpanic"):
			seenPanic = true
		case !seenPanic:
		case atGuard:
			name := f.Function[strings.LastIndexByte(f.Function, '/')+1:]
			name = strings.TrimPrefix(strings.TrimPrefix(name, "store."), "(*DataStore).")
			if i := strings.Index(name, ".func"); i >= 0 {
				name = name[:i] // a closure: its function
			}
			return fromBolt, name
		case strings.Contains(f.Function, "(*guardedDB).View"), strings.Contains(f.Function, "(*guardedDB).Update"):
			atGuard, decided = true, true // holdup's own code, if not decided before
		case decided:
		case strings.HasPrefix(f.Function, "go.etcd.io/bbolt"):
			fromBolt, decided = true, true
		case strings.HasPrefix(f.Function, "holdup/"):
			decided = true // raised in holdup's own code
		}
		if !more {
			return fromBolt, op
		}
	}
}
