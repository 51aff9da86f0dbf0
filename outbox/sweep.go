package outbox

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/smsagent/smsagent"
	bolt "go.etcd.io/bbolt"
)

// SweepResult counts what one Sweep did.
type SweepResult struct {
	Unmatched       int // parked receipts past OrphanGrace, reported as unmatched
	IncompleteMO    int // incoming SMS written with parts missing after MOTimeout
	ReceiptTimeouts int // sent messages made final without a receipt after ReceiptTimeout
	Expired         int // queued messages past max_age or validity
	Pruned          int // final messages removed after Retention
	TakenPruned     int // taken-file records removed after Retention
	PrintsPruned    int // incoming fingerprints removed after MODedupWindow (MOAnswerLostHold)
}

// Sweep does the time-driven work, as of now: receipts parked longer than
// OrphanGrace become "unmatched" reports; incomplete incoming SMS older than
// MOTimeout are written with what arrived, marked incomplete; sent messages
// whose receipt did not come within ReceiptTimeout become final with a
// "sent" report that says so; queued messages past max_age or validity
// become expired with a report; final messages, taken-file records and
// incoming fingerprints past their retention are removed with every index
// key. Each kind of work runs in transactions of at most MaxOpsPerTx items,
// so a long backlog never makes one huge transaction; Sweep returns when
// all of it is done (or ctx ends).
func (s *Store) Sweep(ctx context.Context, now time.Time) (SweepResult, error) {
	now = now.Round(0)
	var res SweepResult
	chunk := s.opts.MaxOpsPerTx
	phases := []struct {
		name  string
		count *int
		run   func(w *wtx, n int) (int, error)
	}{
		{"unmatched receipts", &res.Unmatched, sweepOrphans},
		{"incomplete incoming", &res.IncompleteMO, sweepMO},
		{"receipt timeouts", &res.ReceiptTimeouts, sweepReceiptTimeouts},
		{"expiry", &res.Expired, sweepExpired},
		{"prune messages", &res.Pruned, sweepPrune},
		{"prune taken files", &res.TakenPruned, sweepTaken},
		{"prune fingerprints", &res.PrintsPruned, sweepPrints},
	}
	for _, p := range phases {
		for {
			o := &sweepOp{now: now, n: chunk, run: p.run}
			if err := s.do(ctx, o); err != nil {
				return res, fmt.Errorf("outbox: sweep %s: %w", p.name, err)
			}
			*p.count += o.done
			if o.done < chunk {
				break
			}
		}
	}
	return res, nil
}

type sweepOp struct {
	now  time.Time
	n    int
	run  func(w *wtx, n int) (int, error)
	done int
}

func (o *sweepOp) apply(w *wtx) (err error) {
	defer func(t time.Time) { w.now = t }(w.now)
	w.now = o.now
	o.done, err = o.run(w, o.n)
	return err
}

// upTo lists up to n keys of b that sort at or before the 8-byte time
// prefix limit. Keys are collected before anything is deleted: deleting
// under a cursor can skip keys.
func upTo(b *bolt.Bucket, limit time.Time, n int) [][]byte {
	lk := timeKey(limit)
	var keys [][]byte
	c := b.Cursor()
	for k, _ := c.First(); k != nil && len(keys) < n; k, _ = c.Next() {
		if len(k) < 8 || beUint64(k) > lk {
			break
		}
		keys = append(keys, bytes.Clone(k))
	}
	return keys
}

func sweepOrphans(w *wtx, n int) (int, error) {
	grace := w.s.opts.OrphanGrace
	type entry struct {
		seq uint64
		o   *orphan
	}
	var due []entry
	c := w.orphans.Cursor()
	// Sequences follow parking order, so the oldest come first.
	for k, v := c.First(); k != nil && len(due) < n; k, v = c.Next() {
		o, err := decodeOrphan(v)
		if err != nil {
			return 0, fmt.Errorf("parked receipt %d: %w", beUint64(k), err)
		}
		if o.Parked.Add(grace).After(w.now) {
			break
		}
		due = append(due, entry{beUint64(k), o})
	}
	for _, e := range due {
		if err := w.unpark(e.seq, e.o); err != nil {
			return 0, err
		}
		// Bound after all, under a key its binding did not name? No
		// response is coming any more, so a guess is the last resort,
		// but not one the receipt's handset contradicts.
		b, at, ok, err := w.lookupAt(e.o.Keys, e.o.Source)
		if err != nil {
			return 0, err
		}
		if ok && at > 0 {
			fits, final, err := w.guessFits(b.id, b.seq, &e.o.Receipt, true)
			if err != nil {
				return 0, err
			}
			// A repeat of a receipt already applied through a guess
			// (the SMSC converts ids and sent it twice) is no news.
			ok = fits || (final && w.s.convertedIDs)
		}
		if ok {
			out, err := w.applyReceipt(b.id, b.seq, &e.o.Receipt)
			if err != nil {
				return 0, err
			}
			if at > 0 && out == smsagent.ReceiptMatched {
				// No response came for the id as written: the SMSC
				// converts ids, and ApplyReceipts may guess at once.
				w.s.convertedIDs = true
			}
			continue
		}
		rc := &e.o.Receipt
		err = w.addEvent(&smsagent.Event{
			Kind: smsagent.EventReport,
			Time: w.now,
			Report: &smsagent.Report{
				Type:   "report",
				Status: smsagent.ReportUnmatched,
				Stat:   rc.Stat,
				Err:    rc.Err,
				Error:  fmt.Sprintf("receipt for SMSC id %q matched no message within %s", rc.SMSCID, grace),
				Done:   w.now,
				SMSC:   rc.SMSC,
				Receipt: &smsagent.RawReceipt{
					SMSCID: rc.SMSCID, Source: rc.Source, Dest: rc.Dest, Text: rc.Text,
				},
			},
		})
		if err != nil {
			return 0, err
		}
	}
	return len(due), nil
}

func sweepMO(w *wtx, n int) (int, error) {
	keys := upTo(w.moAge, w.now.Add(-w.s.opts.MOTimeout), n)
	for _, k := range keys {
		set := string(k[8:])
		v := w.value(w.mo, moKey(set, 0))
		if v == nil {
			return 0, corruptf("mo-age entry for missing incoming set %q", set)
		}
		hdr, err := decodeMOSet(v)
		if err != nil {
			return 0, fmt.Errorf("incoming set %q: %w", set, err)
		}
		if err := w.flushMOSet(set, hdr, true); err != nil {
			return 0, err
		}
	}
	return len(keys), nil
}

func sweepReceiptTimeouts(w *wtx, n int) (int, error) {
	keys := upTo(w.awaiting, w.now, n)
	reason := fmt.Sprintf("no delivery receipt within %s", w.s.opts.ReceiptTimeout)
	for _, k := range keys {
		r, err := w.get(keyID(k[8:]))
		if err != nil {
			return 0, err
		}
		if r == nil {
			return 0, corruptf("awaiting index entry for missing message %s", keyID(k[8:]))
		}
		old := w.modify(r)
		if err := w.finish(r, smsagent.StateSent, 0, reason); err != nil {
			return 0, err
		}
		if err := w.save(r, old); err != nil {
			return 0, err
		}
	}
	return len(keys), nil
}

// sweepExpired expires queued messages. One in state sending is left to its
// results: the settle rules expire it when its round ends.
func sweepExpired(w *wtx, n int) (int, error) {
	lk := timeKey(w.now)
	var due []*record
	c := w.expiry.Cursor()
	for k, _ := c.First(); k != nil && len(due) < n; k, _ = c.Next() {
		if beUint64(k) > lk {
			break
		}
		r, err := w.get(keyID(k[8:]))
		if err != nil {
			return 0, err
		}
		if r == nil {
			return 0, corruptf("expiry index entry for missing message %s", keyID(k[8:]))
		}
		if r.State == smsagent.StateQueued {
			due = append(due, r)
		}
	}
	for _, r := range due {
		if err := w.expire(r, w.modify(r)); err != nil {
			return 0, err
		}
	}
	return len(due), nil
}

func sweepPrune(w *wtx, n int) (int, error) {
	keys := upTo(w.done, w.now.Add(-w.s.opts.Retention), n)
	for _, k := range keys {
		r, err := w.get(keyID(k[8:]))
		if err != nil {
			return 0, err
		}
		if r == nil {
			return 0, corruptf("done index entry for missing message %s", keyID(k[8:]))
		}
		if err := w.remove(r); err != nil {
			return 0, err
		}
	}
	return len(keys), nil
}

func sweepTaken(w *wtx, n int) (int, error) {
	keys := upTo(w.takenAge, w.now.Add(-w.s.opts.Retention), n)
	for _, k := range keys {
		claim := k[8:]
		// Only if the record is this entry's: a claim taken again after
		// an earlier prune has a newer age entry.
		if v := w.value(w.taken, claim); v != nil && bytes.Equal(v, k[:8]) {
			if err := w.del(w.taken, claim); err != nil {
				return 0, err
			}
		}
		if err := w.del(w.takenAge, k); err != nil {
			return 0, err
		}
	}
	return len(keys), nil
}

func sweepPrints(w *wtx, n int) (int, error) {
	keys := upTo(w.moPrintAge, w.now.Add(-w.s.opts.MODedupWindow), n)
	for _, k := range keys {
		fp := k[8:]
		if v := w.value(w.moPrint, fp); len(v) >= 8 && bytes.Equal(v[:8], k[:8]) {
			if err := w.del(w.moPrint, fp); err != nil {
				return 0, err
			}
		}
		if err := w.del(w.moPrintAge, k); err != nil {
			return 0, err
		}
	}
	return len(keys), nil
}
