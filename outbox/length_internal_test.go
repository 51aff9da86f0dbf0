package outbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/smsagent/smsagent"
)

// TestOpen_truncated cuts copies of a real database short and opens them:
// a copy shorter than its header says is refused with ErrTruncated (bbolt
// would read past the end of its mapping, and the process would die of
// SIGBUS), one cut only in its unused tail opens and checks clean, and one
// cut inside its header gets bbolt's error. No cut crashes.
func TestOpen_truncated(t *testing.T) {
	data := filledDatabase(t, 20)
	f := bytes.NewReader(data)
	m0, ok0 := readMeta(f, 0)
	_, ok1 := readMeta(f, int64(m0.pageSize))
	used, ok := usedLength(f)
	if !ok0 || !ok1 || !ok {
		t.Fatal("the meta pages of a clean file do not validate: the layout in length.go is wrong")
	}
	need := int(used)
	if need > len(data) || need < 8*int(m0.pageSize) {
		t.Fatalf("pages of %d bytes in a %d-byte file", need, len(data))
	}
	for _, c := range []struct {
		name string
		cut  int
		want error // nil: opens; errAny: an error other than ErrTruncated
	}{
		{"one byte short of its pages", need - 1, ErrTruncated},
		{"half its pages", need / 2, ErrTruncated},
		{"after the first meta page", int(m0.pageSize) + 100, ErrTruncated},
		{"exactly its pages", need, nil},
		{"inside the first meta page", 40, errAny},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "cut.db")
			if err := os.WriteFile(path, data[:c.cut], 0o600); err != nil {
				t.Fatal(err)
			}
			for _, readOnly := range []bool{true, false} {
				s, err := Open(path, Options{ReadOnly: readOnly})
				switch {
				case c.want == nil && err != nil:
					t.Fatalf("read-only %v: %v", readOnly, err)
				case c.want == nil:
					if err := s.Check(); err != nil {
						t.Errorf("read-only %v: Check: %v", readOnly, err)
					}
					if err := s.Close(context.Background()); err != nil {
						t.Fatal(err)
					}
				case c.want == errAny && (err == nil || errors.Is(err, ErrTruncated)):
					t.Fatalf("read-only %v: Open = %v, want bbolt's error", readOnly, err)
				case c.want == ErrTruncated && !errors.Is(err, ErrTruncated):
					t.Fatalf("read-only %v: Open = %v, want ErrTruncated", readOnly, err)
				}
			}
			if c.want == ErrTruncated {
				if err := Compact(path, filepath.Join(t.TempDir(), "compact.db")); !errors.Is(err, ErrTruncated) {
					t.Errorf("Compact = %v, want ErrTruncated", err)
				}
			}
		})
	}
}

var errAny = errors.New("any error but ErrTruncated")

// TestView_damagedPages overwrites the header of one page at a time in a
// copy of a real database and reads the copy the way queue commands do:
// bbolt panics on a page that does not identify itself, and the outbox must
// answer ErrCorrupt instead of letting the panic end the process.
func TestView_damagedPages(t *testing.T) {
	data := filledDatabase(t, 5)
	used, _ := usedLength(bytes.NewReader(data))
	m0, _ := readMeta(bytes.NewReader(data), 0)
	pageSize := int(m0.pageSize)
	pages := int(used) / pageSize
	corrupt := 0
	for pg := 2; pg < pages; pg += max(1, pages/40) {
		cut := bytes.Clone(data)
		for i := range boltPageHeader {
			cut[pg*pageSize+i] = 0xA5
		}
		path := filepath.Join(t.TempDir(), "damaged.db")
		if err := os.WriteFile(path, cut, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := Open(path, Options{ReadOnly: true})
		if err != nil {
			if errors.Is(err, ErrCorrupt) {
				corrupt++
			}
			continue
		}
		for after := smsagent.MessageID(0); err == nil; {
			var page []smsagent.Record
			page, err = s.List(context.Background(), ListQuery{After: after, Limit: 500})
			if len(page) == 0 {
				break
			}
			after = page[len(page)-1].ID
		}
		if err == nil {
			_, err = s.Stats(context.Background())
		}
		if err == nil {
			err = s.Check()
		}
		if errors.Is(err, ErrCorrupt) {
			corrupt++
		}
		if cerr := s.Close(context.Background()); cerr != nil {
			t.Fatal(cerr)
		}
	}
	if corrupt == 0 {
		t.Error("no damaged page was reported as ErrCorrupt: the test did not reach bbolt's assertions")
	}
}

// filledDatabase stores files × 1,000 messages in a new outbox and returns
// the closed file's bytes.
func filledDatabase(t *testing.T, files int) []byte {
	t.Helper()
	src := filepath.Join(t.TempDir(), "outbox.db")
	s, err := Open(src, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for f := range files {
		if _, err := s.Enqueue(context.Background(), batchOf(fmt.Sprint("c", f), 1000)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
