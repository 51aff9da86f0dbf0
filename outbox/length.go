package outbox

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"os"
)

// ErrTruncated is returned by Open for a database file shorter than its own
// header says: a copy cut short, a disk that filled during a copy. bbolt
// maps the file and would read past its end, which the operating system
// answers with SIGBUS, a crash no recover can catch; so the file is measured
// against its header before bbolt sees it.
var ErrTruncated = errors.New("outbox: database file cut short")

// bbolt's file layout (go.etcd.io/bbolt, internal/common): page 0 and page
// 1 each hold a meta page; a page starts with a 16-octet header, then the
// meta: magic, version, page size, flags, root bucket (16), freelist page,
// high-water page id, transaction id, then an FNV-64a checksum of the meta
// fields before it. bbolt writes them in the machine's byte order.
const (
	boltPageHeader = 16
	boltMagic      = 0xED0CDAED
	boltVersion    = 2
	metaMagic      = boltPageHeader + 0
	metaVersion    = boltPageHeader + 4
	metaPageSize   = boltPageHeader + 8
	metaHighWater  = boltPageHeader + 40
	metaTxID       = boltPageHeader + 48
	metaChecksum   = boltPageHeader + 56
)

// boltMeta is what checkLength needs of one meta page.
type boltMeta struct {
	pageSize  uint32
	highWater uint64 // pages the file holds at least
	txid      uint64
}

// readMeta reads the meta page at off; ok is false when it is not a valid
// one (torn, zeroed, another format).
func readMeta(f io.ReaderAt, off int64) (m boltMeta, ok bool) {
	var b [metaChecksum + 8]byte
	if _, err := f.ReadAt(b[:], off); err != nil {
		return m, false
	}
	e := binary.NativeEndian
	if e.Uint32(b[metaMagic:]) != boltMagic || e.Uint32(b[metaVersion:]) != boltVersion {
		return m, false
	}
	h := fnv.New64a()
	h.Write(b[boltPageHeader:metaChecksum])
	if h.Sum64() != e.Uint64(b[metaChecksum:]) {
		return m, false
	}
	return boltMeta{pageSize: e.Uint32(b[metaPageSize:]), highWater: e.Uint64(b[metaHighWater:]),
		txid: e.Uint64(b[metaTxID:])}, true
}

// usedLength is the number of bytes the pages of the meta bbolt would use
// (the valid one with the higher transaction id) occupy; ok is false when
// neither meta page is valid.
func usedLength(f io.ReaderAt) (n int64, ok bool) {
	m0, ok0 := readMeta(f, 0)
	pageSize := int64(os.Getpagesize())
	if ok0 {
		pageSize = int64(m0.pageSize)
	}
	m1, ok1 := readMeta(f, pageSize)
	var m boltMeta
	switch {
	case ok0 && (!ok1 || m0.txid >= m1.txid):
		m = m0
	case ok1:
		m = m1
	default:
		return 0, false
	}
	return int64(m.highWater) * int64(m.pageSize), true
}

// checkLength returns an ErrTruncated error when the file at path holds
// fewer bytes than its pages (usedLength). A missing or empty file (bbolt
// creates it) and a file with no valid meta (bbolt refuses it with its own
// error) pass.
//
// A writer may be running (queue commands read while the agent runs): the
// metas are read before the size, and a live file only grows, so a healthy
// file always passes.
func checkLength(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("outbox: open %s: %w", path, err)
	}
	defer f.Close()
	need, ok := usedLength(f)
	if !ok {
		return nil
	}
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("outbox: open %s: %w", path, err)
	}
	if need > fi.Size() {
		return fmt.Errorf("%w: %s holds %d bytes, its header counts %d; restore it from a backup, or move it aside to start with an empty queue",
			ErrTruncated, path, fi.Size(), need)
	}
	return nil
}
