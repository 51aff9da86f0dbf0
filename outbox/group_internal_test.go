package outbox

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/smsagent/smsagent"
	bolt "go.etcd.io/bbolt"
)

// opFunc adapts a function to op for tests of the writer.
type opFunc func(w *wtx) error

func (f opFunc) apply(w *wtx) error { return f(w) }

func openInternal(t *testing.T, opts Options) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "o.db"), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Check(); err != nil {
			t.Errorf("Check: %v", err)
		}
		if err := s.Close(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return s
}

func req(o op) *request {
	return &request{ctx: context.Background(), op: o, done: make(chan error, 1)}
}

func batchOf(claim string, n int) smsagent.Batch {
	b := smsagent.Batch{Claim: claim}
	for i := 0; i < n; i++ {
		b.Messages = append(b.Messages, smsagent.Message{
			To: smsagent.Address{Value: "358401234567"}, Text: fmt.Sprintf("message %d of %s with some text to take room", i, claim),
		})
	}
	return b
}

func taken(t *testing.T, s *Store, claim string) bool {
	ok, err := s.Taken(context.Background(), claim)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// One transaction carries several operations: one that fails before
// writing, one that fails after writing and one that panics. Only the
// failing ones fail, and nothing of theirs is stored.
func TestExecute_FailureIsolation(t *testing.T) {
	s := openInternal(t, Options{})
	clean := errors.New("clean failure")
	dirty := errors.New("failed after writing")
	good1, good2 := &enqueueOp{b: batchOf("good1", 3)}, &enqueueOp{b: batchOf("good2", 2)}
	reqs := []*request{
		req(good1),
		req(opFunc(func(w *wtx) error {
			if err := w.put(w.taken, []byte("poison"), be64(nil, 1)); err != nil {
				return err
			}
			return dirty
		})),
		req(opFunc(func(w *wtx) error { return clean })),
		req(opFunc(func(w *wtx) error {
			if err := w.put(w.taken, []byte("panicked"), be64(nil, 1)); err != nil {
				return err
			}
			panic("a bug in an operation")
		})),
		req(good2),
	}
	s.execute(reqs)
	errs := make([]error, len(reqs))
	for i, r := range reqs {
		errs[i] = <-r.done
	}
	if errs[0] != nil || errs[4] != nil || !errors.Is(errs[1], dirty) || !errors.Is(errs[2], clean) || errs[3] == nil {
		t.Fatalf("errors %v", errs)
	}
	if !taken(t, s, "good1") || !taken(t, s, "good2") || taken(t, s, "poison") || taken(t, s, "panicked") {
		t.Fatal("a failed operation left a trace, or a good one was lost")
	}
	// The rerun gave the same ids a single run would have.
	if good1.res.IDs[0] != 1 || good2.res.IDs[0] != 4 {
		t.Fatalf("ids %v %v", good1.res.IDs, good2.res.IDs)
	}
}

// A commit that fails (here: the file would grow past MaxSize) is retried
// operation by operation, so the small operation that shared the
// transaction with the oversized one still commits.
func TestExecute_CommitFailureRetriedAlone(t *testing.T) {
	s := openInternal(t, Options{MaxSize: 1 << 20})
	big, small := req(&enqueueOp{b: batchOf("big", 20000)}), req(&enqueueOp{b: batchOf("small", 1)})
	s.execute([]*request{big, small})
	if err := <-big.done; err == nil {
		t.Fatal("oversized batch committed past MaxSize")
	}
	if err := <-small.done; err != nil {
		t.Fatalf("small batch failed with its neighbour: %v", err)
	}
	if taken(t, s, "big") || !taken(t, s, "small") {
		t.Fatal("wrong batches stored")
	}
}

func TestOpen_NewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "o.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bktMeta).Put(metaSchema, binary.BigEndian.AppendUint32(nil, schemaVersion+1))
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(path, Options{}); !errors.Is(err, ErrSchema) {
		t.Fatalf("Open of a newer file: %v", err)
	}
}

// Check must notice a broken invariant, or the cleanup checks of every
// other test would prove nothing.
func TestCheck_DetectsDamage(t *testing.T) {
	for name, damage := range map[string]func(tx *bolt.Tx) error{
		"missing due entry": func(tx *bolt.Tx) error {
			c := tx.Bucket(bktDue).Cursor()
			k, _ := c.First()
			return tx.Bucket(bktDue).Delete(k)
		},
		"stale sending entry": func(tx *bolt.Tx) error { return tx.Bucket(bktSending).Put(idKey(1), empty) },
		"counter drift": func(tx *bolt.Tx) error {
			c, _ := readCounters(tx)
			c.ByState[smsagent.StateQueued]++
			return tx.Bucket(bktMeta).Put(metaCounters, c.encode())
		},
		"client key of another message": func(tx *bolt.Tx) error {
			return tx.Bucket(bktClient).Put([]byte("nobody\x00+1"), idKey(1))
		},
		"taken without age": func(tx *bolt.Tx) error {
			return tx.Bucket(bktTaken).Put([]byte("orphan-claim"), be64(nil, 5))
		},
		"fingerprint entry unreadable": func(tx *bolt.Tx) error {
			if err := tx.Bucket(bktMOPrint).Put([]byte("fp"), append(be64(nil, 5), 9, 9)); err != nil {
				return err
			}
			return tx.Bucket(bktMOPrintAge).Put(timeNameKey(fromUnixNano(5), "fp"), empty)
		},
		"fingerprint without age": func(tx *bolt.Tx) error {
			return tx.Bucket(bktMOPrint).Put([]byte("fp"), appendPrint(nil, &printEntry{age: fromUnixNano(5), answered: fromUnixNano(5)}))
		},
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "o.db")
			s, err := Open(path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			b := batchOf("c", 2)
			b.Messages[0].ClientID = "x"
			if _, err := s.Enqueue(context.Background(), b); err != nil {
				t.Fatal(err)
			}
			if err := s.Check(); err != nil {
				t.Fatalf("healthy file: %v", err)
			}
			if err := s.db.Update(damage); err != nil {
				t.Fatal(err)
			}
			if err := s.Check(); err == nil {
				t.Fatal("Check passed a damaged file")
			}
			if err := s.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
		})
	}
}
