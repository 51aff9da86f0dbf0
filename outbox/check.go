package outbox

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/smsagent/smsagent"
	bolt "go.etcd.io/bbolt"
)

// Check verifies the whole file in one read transaction: bbolt's own page
// check, then every invariant of the schema. Every record sits in exactly
// the state index its state calls for (due, sending, awaiting or done) and
// in the expiry index when queued or sending with an age limit; every
// index entry points to a record in the matching state and back; SMSC,
// client-id, taken-file, parked-receipt and incoming-SMS entries are
// consistent with what they index; the counters equal a full recount. It
// reads every record once and holds none, so it is safe on a large file,
// but it takes time: run it from tests, the CLI or a support session, not
// on the hot path.
func (s *Store) Check() error {
	err := s.view(func(tx *bolt.Tx) error {
		c := &checker{tx: tx}
		c.run()
		return c.err()
	})
	if err != nil {
		return fmt.Errorf("outbox: check: %w", err)
	}
	return nil
}

type checker struct {
	tx    *bolt.Tx
	count int
	errs  []error
	recs  int
}

const maxReported = 50

func (c *checker) addf(format string, args ...any) {
	c.count++
	if len(c.errs) < maxReported {
		c.errs = append(c.errs, fmt.Errorf(format, args...))
	}
}

func (c *checker) err() error {
	if c.count == 0 {
		return nil
	}
	if c.count > len(c.errs) {
		c.errs = append(c.errs, fmt.Errorf("... and %d more problems", c.count-len(c.errs)))
	}
	return errors.Join(c.errs...)
}

func (c *checker) run() {
	for err := range c.tx.Check() {
		c.addf("bbolt: %v", err)
	}
	if err := checkSchema(c.tx); err != nil {
		c.addf("%v", err)
		return
	}
	want, err := readCounters(c.tx)
	if err != nil {
		c.addf("counters: %v", err)
		return
	}
	var got counters
	c.records(&want, &got)
	c.stateIndexes()
	c.smscIndex()
	c.clientIndex()
	c.pairs(bktTaken, bktTakenAge, "taken file")
	c.pairs(bktMOPrint, bktMOPrintAge, "incoming fingerprint")
	got.Events = c.events(want.EventSeq)
	got.Orphans = c.orphans(want.OrphanSeq)
	got.MOSets = c.moSets()
	if got.ByState != want.ByState {
		c.addf("counters by state %v, recount %v", want.ByState, got.ByState)
	}
	for _, n := range []struct {
		name      string
		want, got int64
	}{
		{"awaiting", want.Awaiting, got.Awaiting},
		{"events", want.Events, got.Events},
		{"parked receipts", want.Orphans, got.Orphans},
		{"incoming sets", want.MOSets, got.MOSets},
	} {
		if n.want != n.got {
			c.addf("counter %s is %d, recount %d", n.name, n.want, n.got)
		}
	}
}

// records checks each record and that its index entries exist.
func (c *checker) records(want, got *counters) {
	tx := c.tx
	w := &wtx{due: tx.Bucket(bktDue), sending: tx.Bucket(bktSending), awaiting: tx.Bucket(bktAwaiting),
		done: tx.Bucket(bktDone)}
	smsc, client, expiry := tx.Bucket(bktSMSC), tx.Bucket(bktClient), tx.Bucket(bktExpiry)
	_ = tx.Bucket(bktMessages).ForEach(func(k, v []byte) error {
		c.recs++
		r, err := decodeRecord(v)
		if err != nil {
			c.addf("message %x: %v", k, err)
			return nil
		}
		id := r.ID
		if len(k) != 8 || keyID(k) != id {
			c.addf("message %s stored under key %x", id, k)
		}
		if uint64(id) > want.NextID {
			c.addf("message %s beyond the id counter %d", id, want.NextID)
		}
		if r.State < smsagent.StateQueued || r.State > smsagent.StateCanceled {
			c.addf("message %s in invalid state %d", id, r.State)
			return nil
		}
		if r.State != smsagent.StateSent && r.Final != r.State.Final() {
			c.addf("message %s: state %s with final=%t", id, r.State, r.Final)
		}
		if len(r.Keys) != len(r.Parts) {
			c.addf("message %s: %d parts, %d keys", id, len(r.Parts), len(r.Keys))
			return nil
		}
		if r.Final && r.Done.IsZero() {
			c.addf("message %s: final without a done time", id)
		}
		if r.State == smsagent.StateSent && !r.Final && r.Deadline.IsZero() {
			c.addf("message %s: waiting for a receipt without a deadline", id)
		}
		s := r.slot()
		got.ByState[r.State]++
		if r.State == smsagent.StateSent && !r.Final {
			got.Awaiting++
		}
		if b, pk := w.position(s, id); b.Get(pk) == nil {
			c.addf("message %s (%s): no state index entry %x", id, r.State, pk)
		}
		if ek := s.expiryKey(id); ek != nil && expiry.Get(ek) == nil {
			c.addf("message %s: no expiry index entry", id)
		}
		if key := r.IdempotencyKey(); key != "" {
			if v := client.Get([]byte(key)); v == nil || keyID(v) != id {
				c.addf("message %s: client id %q not indexed to it", id, r.ClientID)
			}
		}
		for i, key := range r.Keys {
			if key == "" {
				continue
			}
			if !accepted(r.Parts[i].State) {
				c.addf("message %s part %d: SMSC key on a part in state %s", id, i+1, r.Parts[i].State)
			}
			bs, ok := parseSMSCValue(smsc.Get([]byte(key)), nil)
			switch {
			case !ok:
				c.addf("message %s part %d: SMSC key %q not indexed", id, i+1, key)
			case !slices.Contains(bs, binding{id, i + 1}):
				// Rebound to newer parts (the SMSC reused the id) and
				// this one final or beyond maxBindings: allowed, the
				// newest part must carry the key.
				c.rebound(key, bs[0])
			}
		}
		return nil
	})
}

func (c *checker) rebound(key string, b binding) {
	r, ok := c.record(b.id)
	if !ok || b.seq < 1 || b.seq > len(r.Keys) || r.Keys[b.seq-1] != key {
		c.addf("SMSC key %q indexed to message %s part %d, which does not carry it", key, b.id, b.seq)
	}
}

func (c *checker) record(id smsagent.MessageID) (*record, bool) {
	v := c.tx.Bucket(bktMessages).Get(idKey(id))
	if v == nil {
		return nil, false
	}
	r, err := decodeRecord(v)
	return r, err == nil
}

// stateIndexes checks that every entry of the state and expiry indexes
// points to a record whose own position is that entry, and that the state
// indexes hold one entry per record.
func (c *checker) stateIndexes() {
	tx := c.tx
	w := &wtx{due: tx.Bucket(bktDue), sending: tx.Bucket(bktSending), awaiting: tx.Bucket(bktAwaiting),
		done: tx.Bucket(bktDone)}
	total := 0
	for _, ix := range []struct {
		name string
		b    *bolt.Bucket
		size int
	}{
		{"due", w.due, 17}, {"sending", w.sending, 8}, {"awaiting", w.awaiting, 16}, {"done", w.done, 16},
		{"expiry", tx.Bucket(bktExpiry), 16},
	} {
		_ = ix.b.ForEach(func(k, _ []byte) error {
			if len(k) != ix.size {
				c.addf("%s index: key %x of %d bytes", ix.name, k, len(k))
				return nil
			}
			id := keyID(k[ix.size-8:])
			r, ok := c.record(id)
			if !ok {
				c.addf("%s index: entry for missing message %s", ix.name, id)
				return nil
			}
			s := r.slot()
			if ix.name == "expiry" {
				if !bytes.Equal(s.expiryKey(id), k) {
					c.addf("expiry index: stale entry for message %s (%s)", id, r.State)
				}
				return nil
			}
			total++
			if b, pk := w.position(s, id); b != ix.b || !bytes.Equal(pk, k) {
				c.addf("%s index: stale entry for message %s (%s)", ix.name, id, r.State)
			}
			return nil
		})
	}
	if total != c.recs {
		c.addf("state indexes hold %d entries for %d messages", total, c.recs)
	}
}

func (c *checker) smscIndex() {
	_ = c.tx.Bucket(bktSMSC).ForEach(func(k, v []byte) error {
		bs, ok := parseSMSCValue(v, nil)
		if !ok {
			c.addf("SMSC index: bad value %x for %q", v, k)
			return nil
		}
		for _, b := range bs {
			c.rebound(string(k), b)
		}
		return nil
	})
}

func (c *checker) clientIndex() {
	_ = c.tx.Bucket(bktClient).ForEach(func(k, v []byte) error {
		if len(v) != 8 {
			c.addf("client index: bad value %x for %q", v, k)
			return nil
		}
		r, ok := c.record(keyID(v))
		if !ok || r.IdempotencyKey() != string(k) {
			c.addf("client index: %q points to message %s, which does not carry it", k, keyID(v))
		}
		return nil
	})
}

// pairs checks a name → time bucket against its [time][name] age index.
//
// A value is its age (taken files), or begins with it (fingerprints, whose
// entries decodePrint must also read).
func (c *checker) pairs(named, aged []byte, what string) {
	nb, ab := c.tx.Bucket(named), c.tx.Bucket(aged)
	prints := bytes.Equal(named, bktMOPrint)
	_ = nb.ForEach(func(k, v []byte) error {
		if prints {
			if _, err := decodePrint(v); err != nil {
				c.addf("%s %q: %v", what, k, err)
				return nil
			}
		} else if len(v) != 8 {
			c.addf("%s %q: value of %d octets", what, k, len(v))
			return nil
		}
		if ab.Get(append(bytes.Clone(v[:8]), k...)) == nil {
			c.addf("%s %q: no age entry", what, k)
		}
		return nil
	})
	_ = ab.ForEach(func(k, _ []byte) error {
		if len(k) <= 8 {
			c.addf("%s age index: short key %x", what, k)
			return nil
		}
		if v := nb.Get(k[8:]); len(v) < 8 || !bytes.Equal(v[:8], k[:8]) {
			c.addf("%s age index: stale entry for %q", what, k[8:])
		}
		return nil
	})
}

func (c *checker) events(last uint64) int64 {
	var n int64
	_ = c.tx.Bucket(bktEvents).ForEach(func(k, v []byte) error {
		n++
		if len(k) != 8 {
			c.addf("event key %x", k)
			return nil
		}
		seq := beUint64(k)
		if seq > last {
			c.addf("event %d beyond the event counter %d", seq, last)
		}
		if _, err := decodeEvent(seq, v); err != nil {
			c.addf("event %d: %v", seq, err)
		}
		return nil
	})
	return n
}

func (c *checker) orphans(last uint64) int64 {
	var n int64
	ob, kb := c.tx.Bucket(bktOrphans), c.tx.Bucket(bktOrphanKeys)
	_ = ob.ForEach(func(k, v []byte) error {
		n++
		seq := beUint64(k)
		if seq > last {
			c.addf("parked receipt %d beyond its counter %d", seq, last)
		}
		o, err := decodeOrphan(v)
		if err != nil {
			c.addf("parked receipt %d: %v", seq, err)
			return nil
		}
		for _, key := range o.Keys {
			if kb.Get(be64(orphanKeyPrefix(key), seq)) == nil {
				c.addf("parked receipt %d: key %q not indexed", seq, key)
			}
		}
		return nil
	})
	_ = kb.ForEach(func(k, _ []byte) error {
		if len(k) < 9 || int(k[0]) != len(k)-9 {
			c.addf("orphan-keys: bad key %x", k)
			return nil
		}
		seq := beUint64(k[len(k)-8:])
		v := ob.Get(be64(nil, seq))
		if v == nil {
			c.addf("orphan-keys: entry for missing receipt %d", seq)
			return nil
		}
		if o, err := decodeOrphan(v); err == nil {
			found := false
			for _, key := range o.Keys {
				found = found || key == string(k[1:len(k)-8])
			}
			if !found {
				c.addf("orphan-keys: receipt %d does not carry key %q", seq, k[1:len(k)-8])
			}
		}
		return nil
	})
	return n
}

// moSets checks every incomplete incoming SMS: a header, the number of
// parts it counts, and its age entry.
func (c *checker) moSets() int64 {
	var sets int64
	mo, age := c.tx.Bucket(bktMO), c.tx.Bucket(bktMOAge)
	var (
		cur    string
		hdr    *moSet
		parts  int
		closed = func() {
			if hdr != nil && hdr.Count != parts {
				c.addf("incoming set %q: header counts %d parts, %d stored", cur, hdr.Count, parts)
			}
		}
	)
	_ = mo.ForEach(func(k, v []byte) error {
		n, w := binary.Uvarint(k)
		if w <= 0 || len(k) != w+int(n)+2 {
			c.addf("mo: bad key %x", k)
			return nil
		}
		set := string(k[w : w+int(n)])
		seq := int(binary.BigEndian.Uint16(k[len(k)-2:]))
		if seq == 0 {
			closed()
			cur, parts = set, 0
			h, err := decodeMOSet(v)
			if err != nil {
				c.addf("incoming set %q: %v", set, err)
				hdr = nil
				return nil
			}
			hdr = h
			sets++
			if age.Get(timeNameKey(h.First, set)) == nil {
				c.addf("incoming set %q: no age entry", set)
			}
			return nil
		}
		if set != cur || hdr == nil {
			c.addf("incoming part %d of %q without a header", seq, set)
			return nil
		}
		if seq > hdr.Total {
			c.addf("incoming part %d of %q beyond its total %d", seq, set, hdr.Total)
		}
		parts++
		return nil
	})
	closed()
	_ = age.ForEach(func(k, _ []byte) error {
		if len(k) < 8 || mo.Get(moKey(string(k[8:]), 0)) == nil {
			c.addf("mo-age: entry %x without its set", k)
		}
		return nil
	})
	return sets
}
