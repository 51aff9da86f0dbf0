package outbox

import (
	"bytes"
	"fmt"
	"time"

	"github.com/smsagent/smsagent"
	bolt "go.etcd.io/bbolt"
)

// wtx is the writer's view of one read-write transaction: the buckets, the
// counters (read once, written once at flush), a cache of the records
// touched (each encoded once at flush however many operations changed it),
// and an arena that keeps encoded values alive until commit, as bbolt
// requires of Put values.
type wtx struct {
	s   *Store
	tx  *bolt.Tx
	now time.Time

	msgs, due, sending, awaiting, done, expiry *bolt.Bucket
	smsc, client, taken, takenAge, events      *bolt.Bucket
	orphans, orphanKeys, mo, moAge             *bolt.Bucket
	moPrint, moPrintAge, meta                  *bolt.Bucket

	c     counters
	cache map[smsagent.MessageID]*cached
	// cursors are reused for point reads and deletes: bbolt's Get,
	// Put and Delete each allocate a fresh cursor and its stack, which
	// the hot paths would pay several times per message.
	cursors map[*bolt.Bucket]*bolt.Cursor
	arena   []byte

	// mut counts writes. The writer compares it around each operation: an
	// operation that failed after writing forces a rollback (execute).
	mut        int
	madeEvents bool
}

type cached struct {
	r     *record
	dirty bool
}

func (s *Store) newWtx(tx *bolt.Tx) (*wtx, error) {
	c, err := readCounters(tx)
	if err != nil {
		return nil, err
	}
	w := &wtx{
		s: s, tx: tx, now: s.now(), c: c,
		msgs: tx.Bucket(bktMessages), due: tx.Bucket(bktDue), sending: tx.Bucket(bktSending),
		awaiting: tx.Bucket(bktAwaiting), done: tx.Bucket(bktDone), expiry: tx.Bucket(bktExpiry),
		smsc: tx.Bucket(bktSMSC), client: tx.Bucket(bktClient), taken: tx.Bucket(bktTaken),
		takenAge: tx.Bucket(bktTakenAge), events: tx.Bucket(bktEvents), orphans: tx.Bucket(bktOrphans),
		orphanKeys: tx.Bucket(bktOrphanKeys), mo: tx.Bucket(bktMO), moAge: tx.Bucket(bktMOAge),
		moPrint: tx.Bucket(bktMOPrint), moPrintAge: tx.Bucket(bktMOPrintAge), meta: tx.Bucket(bktMeta),
		cache:   make(map[smsagent.MessageID]*cached),
		cursors: make(map[*bolt.Bucket]*bolt.Cursor),
	}
	// bbolt splits a page at FillPercent (default 50 %). Keys that only
	// grow at the end (ids, sequences, times) would leave every page half
	// empty: the file and every commit's writes would double. Records do
	// grow once (their parts), so the messages bucket keeps some room.
	w.msgs.FillPercent = 0.8
	for _, b := range []*bolt.Bucket{w.due, w.sending, w.awaiting, w.done, w.expiry, w.takenAge,
		w.events, w.orphans, w.moAge, w.moPrintAge} {
		b.FillPercent = 0.95
	}
	return w, nil
}

// encode runs enc on arena space. Values handed to Put must stay untouched
// until commit; the arena hands out disjoint, clipped slices of large
// chunks instead of one allocation per value.
func (w *wtx) encode(enc func([]byte) []byte) []byte {
	const chunk = 64 << 10
	if cap(w.arena)-len(w.arena) < 512 {
		w.arena = make([]byte, 0, chunk)
	}
	start := len(w.arena)
	room := cap(w.arena) - start
	out := enc(w.arena[start:start])
	if cap(out) == room {
		// Written in place: keep it, clip so nothing appends over it.
		w.arena = w.arena[:start+len(out)]
		return out[:len(out):len(out)]
	}
	// It did not fit and append moved it to its own array: that array is
	// private to this value already.
	return out
}

func (w *wtx) put(b *bolt.Bucket, k, v []byte) error {
	w.mut++
	if err := b.Put(k, v); err != nil {
		return fmt.Errorf("put: %w", err)
	}
	return nil
}

func (w *wtx) cursor(b *bolt.Bucket) *bolt.Cursor {
	c, ok := w.cursors[b]
	if !ok {
		c = b.Cursor()
		w.cursors[b] = c
	}
	return c
}

// value is b.Get(k) on a reused cursor. Seek repositions from the root,
// so earlier writes in the transaction are seen.
func (w *wtx) value(b *bolt.Bucket, k []byte) []byte {
	ck, v := w.cursor(b).Seek(k)
	if ck == nil || !bytes.Equal(ck, k) {
		return nil
	}
	if v == nil {
		return empty // bbolt returns nil for an empty value only at a bucket
	}
	return v
}

// del deletes k from b if present.
func (w *wtx) del(b *bolt.Bucket, k []byte) error {
	w.mut++
	c := w.cursor(b)
	if ck, _ := c.Seek(k); ck != nil && bytes.Equal(ck, k) {
		return c.Delete()
	}
	return nil
}

var empty = []byte{}

// get returns the record with the given id, nil if there is none. The
// record is shared by every operation of the transaction: an operation
// calls modify before changing it.
func (w *wtx) get(id smsagent.MessageID) (*record, error) {
	if c, ok := w.cache[id]; ok {
		return c.r, nil
	}
	v := w.value(w.msgs, idKey(id))
	if v == nil {
		return nil, nil
	}
	r, err := decodeRecord(v)
	if err != nil {
		return nil, fmt.Errorf("message %s: %w", id, err)
	}
	r.adopt(w.s.opts.LegacyAccount)
	w.cache[id] = &cached{r: r}
	return r, nil
}

// modify marks r as changed by the running operation and returns its index
// position, which save compares with the new one.
func (w *wtx) modify(r *record) slot {
	w.mut++
	if c, ok := w.cache[r.ID]; ok {
		c.dirty = true
	} else {
		w.cache[r.ID] = &cached{r: r, dirty: true}
	}
	return r.slot()
}

// slot is where a record sits in the state indexes: exactly one of due
// (queued), sending, awaiting (sent, receipt pending) and done (final), and
// in expiry while queued or sending with an age limit.
type slot struct {
	state    smsagent.State
	final    bool
	prio     smsagent.Priority
	due      time.Time
	deadline time.Time
	done     time.Time
	expires  time.Time
}

func (r *record) slot() slot {
	return slot{state: r.State, final: r.Final, prio: r.Priority, due: r.Due,
		deadline: r.Deadline, done: r.Done, expires: r.Expires}
}

// position is the bucket and key of the slot's state index entry; nil for
// the zero slot (no record).
func (w *wtx) position(s slot, id smsagent.MessageID) (*bolt.Bucket, []byte) {
	switch {
	case s.state == smsagent.StateUnknown:
		return nil, nil
	case s.final:
		return w.done, timeIDKey(s.done, id)
	case s.state == smsagent.StateQueued:
		return w.due, dueKey(s.prio, s.due, id)
	case s.state == smsagent.StateSending:
		return w.sending, idKey(id)
	default: // sent, waiting for its receipt
		return w.awaiting, timeIDKey(s.deadline, id)
	}
}

func (s slot) expiryKey(id smsagent.MessageID) []byte {
	if s.expires.IsZero() || (s.state != smsagent.StateQueued && s.state != smsagent.StateSending) {
		return nil
	}
	return timeIDKey(s.expires, id)
}

// reindex moves id's index entries and counters from slot from to slot to.
// The zero slot means "no record": from zero inserts, to zero removes.
func (w *wtx) reindex(id smsagent.MessageID, from, to slot) error {
	w.mut++
	fb, fk := w.position(from, id)
	tb, tk := w.position(to, id)
	if fb != tb || !bytes.Equal(fk, tk) {
		if fb != nil {
			if err := w.del(fb, fk); err != nil {
				return err
			}
		}
		if tb != nil {
			if err := w.put(tb, tk, empty); err != nil {
				return err
			}
		}
	}
	if fe, te := from.expiryKey(id), to.expiryKey(id); !bytes.Equal(fe, te) {
		if fe != nil {
			if err := w.del(w.expiry, fe); err != nil {
				return err
			}
		}
		if te != nil {
			if err := w.put(w.expiry, te, empty); err != nil {
				return err
			}
		}
	}
	w.count(from, -1)
	w.count(to, +1)
	return nil
}

func (w *wtx) count(s slot, n int64) {
	if s.state == smsagent.StateUnknown {
		return
	}
	w.c.ByState[s.state] += n
	if s.state == smsagent.StateSent && !s.final {
		w.c.Awaiting += n
	}
}

// save follows a modify: it moves the index entries from the position
// modify saw to the record's current one. The record itself is encoded at
// flush.
func (w *wtx) save(r *record, from slot) error {
	if err := checkParts(r); err != nil {
		return err
	}
	return w.reindex(r.ID, from, r.slot())
}

// insert stores a new record and its index entries at once (enqueue:
// nothing else in the transaction needs it decoded).
func (w *wtx) insert(r *record) error {
	if err := w.reindex(r.ID, slot{}, r.slot()); err != nil {
		return err
	}
	v := w.encode(func(b []byte) []byte { return appendRecord(b, r) })
	return w.put(w.msgs, idKey(r.ID), v)
}

// remove deletes a record with its state, client id and SMSC id entries.
func (w *wtx) remove(r *record) error {
	if err := w.reindex(r.ID, r.slot(), slot{}); err != nil {
		return err
	}
	if key := r.IdempotencyKey(); key != "" {
		if v := w.value(w.client, []byte(key)); v != nil && keyID(v) == r.ID {
			if err := w.del(w.client, []byte(key)); err != nil {
				return err
			}
		}
	}
	if err := w.unbindKeys(r); err != nil {
		return err
	}
	delete(w.cache, r.ID)
	return w.del(w.msgs, idKey(r.ID))
}

func checkParts(r *record) error {
	if len(r.Keys) != len(r.Parts) {
		return corruptf("message %s: %d parts but %d keys", r.ID, len(r.Parts), len(r.Keys))
	}
	return nil
}

// addEvent stores an event for the inbox writer under the next sequence,
// with the webhook calls owed for it.
func (w *wtx) addEvent(ev *smsagent.Event) error {
	if err := w.storeEvent(ev); err != nil {
		return err
	}
	return w.webhookCalls(ev)
}

// storeEvent stores an event for the inbox writer under the next sequence.
func (w *wtx) storeEvent(ev *smsagent.Event) error {
	w.c.EventSeq++
	ev.Seq = w.c.EventSeq
	if ev.Subject == "" {
		ev.Subject = fmt.Sprintf("e%d", ev.Seq)
	}
	v := w.encode(func(b []byte) []byte { return appendEvent(b, ev) })
	if err := w.put(w.events, be64(nil, ev.Seq), v); err != nil {
		return err
	}
	w.c.Events++
	w.madeEvents = true
	return nil
}

// flush writes the records changed in this transaction and the counters.
func (w *wtx) flush() error {
	for id, c := range w.cache {
		if !c.dirty {
			continue
		}
		r := c.r
		v := w.encode(func(b []byte) []byte { return appendRecord(b, r) })
		if err := w.msgs.Put(idKey(id), v); err != nil {
			return fmt.Errorf("store message %s: %w", id, err)
		}
	}
	return w.meta.Put(metaCounters, w.c.encode())
}
