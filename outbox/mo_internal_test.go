package outbox

import (
	"context"
	"encoding/binary"
	"path/filepath"
	"testing"
	"time"

	"github.com/smsagent/smsagent"
	bolt "go.etcd.io/bbolt"
)

// TestOpen_Schema1Prints: a database of schema 1 holds fingerprint
// entries of 8 octets (the time alone). A read-only open reads it as it
// is; Open marks it schema 2 and converts nothing; the old entries keep
// working under the window rule, pass Check and are pruned by Sweep.
func TestOpen_Schema1Prints(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	now := t0
	opts := Options{Clock: func() time.Time { return now }}
	path := filepath.Join(t.TempDir(), "o.db")
	s, err := Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	// What schema 1 wrote for a part stored at t0.
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bktMeta).Put(metaSchema, binary.BigEndian.AppendUint32(nil, 1)); err != nil {
			return err
		}
		for _, fp := range []string{"old-ok", "old-other"} {
			if err := tx.Bucket(bktMOPrint).Put([]byte(fp), be64(nil, timeKey(t0))); err != nil {
				return err
			}
			if err := tx.Bucket(bktMOPrintAge).Put(timeNameKey(t0, fp), empty); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	version := func() uint32 {
		t.Helper()
		db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = db.Close() }()
		var v uint32
		_ = db.View(func(tx *bolt.Tx) error {
			v = binary.BigEndian.Uint32(tx.Bucket(bktMeta).Get(metaSchema))
			return nil
		})
		return v
	}

	ro := opts
	ro.ReadOnly = true
	s, err = Open(path, ro)
	if err != nil {
		t.Fatalf("read-only open of schema 1: %v", err)
	}
	if err := s.Check(); err != nil {
		t.Fatalf("Check of schema 1: %v", err)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if v := version(); v != 1 {
		t.Fatalf("a read-only open changed the schema to %d", v)
	}

	s, err = Open(path, opts)
	if err != nil {
		t.Fatalf("open of schema 1: %v", err)
	}
	defer func() { _ = s.Close(context.Background()) }()
	now = t0.Add(time.Minute)
	ok := smsagent.MOPart{From: "358401", To: "12345", Total: 1, Seq: 1, Data: []byte("OK"),
		Fingerprint: "old-ok", Received: now}
	out, err := s.AddMOParts(context.Background(), []smsagent.MOPart{ok})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 1 || out[0] != smsagent.MORedelivered {
		t.Fatalf("a copy a minute after a schema 1 entry: %v", out)
	}
	if err := s.Check(); err != nil {
		t.Fatalf("Check: %v", err)
	}
	res, err := s.Sweep(context.Background(), t0.Add(DefaultMODedupWindow))
	if err != nil {
		t.Fatal(err)
	}
	if res.PrintsPruned != 1 { // old-other; old-ok was renewed a minute later
		t.Fatalf("%+v", res)
	}
	if err := s.Check(); err != nil {
		t.Fatalf("Check: %v", err)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if v := version(); v != schemaVersion {
		t.Fatalf("schema %d after Open, want %d", v, schemaVersion)
	}
}

// TestPrint_RoundTrip: every field of a fingerprint entry survives, and the
// age leads the value as the age index expects.
func TestPrint_RoundTrip(t *testing.T) {
	tg := time.Date(2026, 11, 25, 18, 15, 0, 123456789, time.UTC)
	for _, e := range []printEntry{
		{age: tg, answered: tg},
		{age: tg.Add(time.Hour), answered: tg, prompt: true, lost: true},
		{age: tg, answered: tg, prompt: true},
	} {
		b := appendPrint(nil, &e)
		if got := fromUnixNano(int64(beUint64(b))); !got.Equal(e.age) {
			t.Errorf("age prefix %v, want %v", got, e.age)
		}
		got, err := decodePrint(b)
		if err != nil || got != e {
			t.Errorf("round trip of %+v: %+v, %v", e, got, err)
		}
	}
	for _, bad := range [][]byte{nil, {1, 2, 3}, append(be64(nil, 1), 9), append(appendPrint(nil, &printEntry{}), 0)} {
		if _, err := decodePrint(bad); err == nil {
			t.Errorf("decodePrint(%x) succeeded", bad)
		}
	}
}
