package outbox

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/smsagent/smsagent"
)

// ApplyReceipts matches delivery receipts (SMPP 3.4 §4.6.1 deliver_sm with
// esm_class receipt, Appendix B) to parts, in one transaction, and returns
// one outcome per receipt. Each receipt is looked up by its Keys in order.
// An intermediate receipt (State sent: ACCEPTD, ENROUTE) records its stat
// on the part; a final one makes the part final, and when every part of a
// sent message is final the message becomes final with a report. A final
// receipt for a part that is already final changes nothing and is
// ReceiptRepeated. A receipt that matches nothing is parked (ReceiptParked)
// for OrphanGrace in case its submit_sm_resp is not committed yet; Sweep
// then reports it as unmatched. A receipt found only under a converted key
// (dlr.Auto) is parked too unless this run has seen the SMSC convert ids,
// since a receipt racing its response would otherwise settle another
// message.
//
// Crash story: the agent acknowledges the deliver_sm only after this
// commit. A crash before it: the SMSC redelivers and the receipt is applied
// then. After it: a redelivery is ReceiptRepeated (or, if parked, found
// among the parked ones) and creates nothing.
func (s *Store) ApplyReceipts(ctx context.Context, rs []smsagent.Receipt) ([]smsagent.ReceiptOutcome, error) {
	if len(rs) == 0 {
		return nil, nil
	}
	o := &receiptsOp{rs: rs}
	if err := s.do(ctx, o); err != nil {
		return nil, fmt.Errorf("outbox: apply receipts: %w", err)
	}
	return o.out, nil
}

type receiptsOp struct {
	rs  []smsagent.Receipt
	out []smsagent.ReceiptOutcome
}

func (o *receiptsOp) apply(w *wtx) error {
	o.out = make([]smsagent.ReceiptOutcome, len(o.rs))
	for i := range o.rs {
		rc := &o.rs[i]
		b, at, ok, err := w.lookupAt(rc.Keys, rc.Source)
		if err != nil {
			return err
		}
		if ok && at == 0 {
			w.s.convertedIDs = false
		} else if ok {
			fits, _, err := w.guessFits(b.id, b.seq, rc, w.s.convertedIDs)
			if err != nil {
				return err
			}
			ok = fits
		}
		if ok {
			o.out[i], err = w.applyReceipt(b.id, b.seq, rc)
		} else {
			o.out[i], err = w.park(rc)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// lookupAt finds the part a receipt belongs to under the first of its keys
// that is in the SMSC index, and says which of the keys it was. A key that
// names several parts (the SMSC reused the id) gives the newest one not
// final whose destination is the receipt's handset (source), else the
// newest; a key whose parts are all final and went to other handsets is
// passed over (a reused id whose new part is not bound yet).
func (w *wtx) lookupAt(keys []string, source string) (b binding, at int, ok bool, err error) {
	var buf [maxBindings]binding
	for i, k := range keys {
		if k == "" || len(k) > maxKeyLen {
			continue
		}
		bs, ok := parseSMSCValue(w.value(w.smsc, []byte(k)), buf[:0])
		if !ok {
			continue
		}
		if source == "" {
			return bs[0], i, true, nil
		}
		final := 0
		for _, c := range bs {
			r, err := w.get(c.id)
			if err != nil {
				return b, 0, false, err
			}
			if r == nil || c.seq < 1 || c.seq > len(r.Parts) {
				continue
			}
			done := r.Parts[c.seq-1].State.Final()
			if !done && sameHandset(source, r.To.Value) {
				return c, i, true, nil
			}
			if done && !sameHandset(source, r.To.Value) {
				final++
			}
		}
		if final == len(bs) {
			// Every part under the key is final and went to another
			// handset: the SMSC reuses the id (its counter restarted),
			// and this receipt is for a part whose submit_sm_resp is not
			// committed yet. It waits for it, parked, rather than being
			// taken for a repeat of an old receipt and lost.
			continue
		}
		return bs[0], i, true, nil
	}
	return b, 0, false, nil
}

// sameHandset reports whether a receipt's source_addr (the handset, SMPP
// 3.4 Appendix B) is a message's destination: the same number, perhaps with
// or without its country code.
func sameHandset(source, to string) bool {
	src, dst := strings.TrimLeft(source, "+0"), strings.TrimLeft(to, "+0")
	return src == dst || (min(len(src), len(dst)) >= 6 && (strings.HasSuffix(src, dst) || strings.HasSuffix(dst, src)))
}

// guessFits decides whether a receipt found only under one of dlr.Auto's
// converted keys may be applied to part seq of message id. A receipt that
// beats its own submit_sm_resp to the commit misses its own key, and a
// guess may then hit another message whose hex id reads as this decimal one
// (or the reverse): message 0x10's receipt "00000010" would settle message
// 10 ("0000000A"), whose own receipt would then be a "repeat". So a guess
// never settles a part already final; it is taken when the receipt's
// source_addr (the handset, SMPP 3.4 Appendix B) is the message's
// destination, or, for a receipt without one, when converting says the
// SMSC is known to convert ids. Otherwise the receipt stays parked for its
// own response, and Sweep decides after OrphanGrace.
// final reports whether the part is final already (the receipt would be a
// repeat).
func (w *wtx) guessFits(id smsagent.MessageID, seq int, rc *smsagent.Receipt, converting bool) (fits, final bool, err error) {
	r, err := w.get(id)
	if err != nil {
		return false, false, err
	}
	if r == nil || seq < 1 || seq > len(r.Parts) {
		return false, false, corruptf("SMSC index entry for message %s part %d without that part", id, seq)
	}
	if r.Parts[seq-1].State.Final() {
		return false, true, nil
	}
	if strings.TrimLeft(rc.Source, "+0") != "" {
		return sameHandset(rc.Source, r.To.Value), false, nil
	}
	return converting, false, nil
}

func (w *wtx) applyReceipt(id smsagent.MessageID, seq int, rc *smsagent.Receipt) (smsagent.ReceiptOutcome, error) {
	r, err := w.get(id)
	if err != nil {
		return 0, err
	}
	if r == nil || seq < 1 || seq > len(r.Parts) {
		return 0, corruptf("SMSC index entry for message %s part %d without that part", id, seq)
	}
	p := &r.Parts[seq-1]
	if p.State.Final() {
		if rc.State != p.State && rc.State != smsagent.StateSent {
			w.s.log.Warn("outbox: receipt contradicts the part's final state; first one kept",
				"id", id, "seq", seq, "state", p.State, "receipt", rc.State, "stat", rc.Stat)
		}
		return smsagent.ReceiptRepeated, nil
	}
	old := w.modify(r)
	p.Stat, p.Err = rc.Stat, rc.Err
	if rc.State == smsagent.StateSent || !rc.State.Final() {
		// Intermediate (ACCEPTD, ENROUTE): the stat is news, the state not;
		// Kannel calls it buffered.
		if err := w.intermediateCallback(r, kannelBuffered, receiptText(*p), seq); err != nil {
			return 0, err
		}
		return smsagent.ReceiptMatched, w.save(r, old)
	}
	p.State = rc.State
	p.Done = rc.Done.Round(0)
	if p.Done.IsZero() {
		p.Done = w.now
	}
	if rc.State != smsagent.StateDelivered {
		p.Error = receiptReason(rc.State, rc.Stat, rc.Err)
	}
	if err := w.completeIfFinal(r, seq); err != nil {
		return 0, err
	}
	return smsagent.ReceiptMatched, w.save(r, old)
}

// completeIfFinal makes a sent message that waits for receipts final once
// every part is final: delivered when all were delivered, else the state of
// the first part that was not. last is the part that changed last.
func (w *wtx) completeIfFinal(r *record, last int) error {
	if r.State != smsagent.StateSent || r.Final {
		return nil
	}
	if slices.ContainsFunc(r.Parts, func(p smsagent.Part) bool { return !p.State.Final() }) {
		return nil
	}
	for i, p := range r.Parts {
		if p.State != smsagent.StateDelivered {
			return w.finish(r, p.State, i+1, p.Error)
		}
	}
	return w.finish(r, smsagent.StateDelivered, last, "")
}

// park keeps an unmatched receipt under every one of its keys. A receipt
// equal to one already parked (the SMSC redelivered it) is not stored
// twice.
func (w *wtx) park(rc *smsagent.Receipt) (smsagent.ReceiptOutcome, error) {
	keys := make([]string, 0, len(rc.Keys))
	for _, k := range rc.Keys {
		if k != "" && len(k) <= maxKeyLen && !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	if len(keys) > 0 {
		seqs := parkedUnder(w, keys[0])
		for _, seq := range seqs {
			o, err := w.orphan(seq)
			if err != nil {
				return 0, err
			}
			if o.SMSCID == rc.SMSCID && o.State == rc.State && o.Stat == rc.Stat && o.Err == rc.Err {
				return smsagent.ReceiptParked, nil
			}
		}
	}
	w.c.OrphanSeq++
	seq := w.c.OrphanSeq
	o := &orphan{Parked: w.now, Receipt: *rc}
	o.Keys = keys
	v := w.encode(func(b []byte) []byte { return appendOrphan(b, o) })
	if err := w.put(w.orphans, be64(nil, seq), v); err != nil {
		return 0, err
	}
	for _, k := range keys {
		if err := w.put(w.orphanKeys, be64(orphanKeyPrefix(k), seq), empty); err != nil {
			return 0, err
		}
	}
	w.c.Orphans++
	return smsagent.ReceiptParked, nil
}

// parkedUnder lists the sequences of the receipts parked under key.
func parkedUnder(w *wtx, key string) []uint64 {
	prefix := orphanKeyPrefix(key)
	var seqs []uint64
	c := w.orphanKeys.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix) && len(k) == len(prefix)+8; k, _ = c.Next() {
		seqs = append(seqs, beUint64(k[len(prefix):]))
	}
	return seqs
}

func (w *wtx) orphan(seq uint64) (*orphan, error) {
	v := w.value(w.orphans, be64(nil, seq))
	if v == nil {
		return nil, corruptf("orphan-keys entry for missing receipt %d", seq)
	}
	o, err := decodeOrphan(v)
	if err != nil {
		return nil, fmt.Errorf("parked receipt %d: %w", seq, err)
	}
	return o, nil
}

// unpark deletes a parked receipt with all its key entries.
func (w *wtx) unpark(seq uint64, o *orphan) error {
	for _, k := range o.Keys {
		if err := w.del(w.orphanKeys, be64(orphanKeyPrefix(k), seq)); err != nil {
			return err
		}
	}
	w.c.Orphans--
	return w.del(w.orphans, be64(nil, seq))
}

// applyParked applies, in arrival order, the receipts parked under key,
// which has just been bound to part seq of r.
func (w *wtx) applyParked(key string, r *record, seq int) error {
	if w.c.Orphans == 0 {
		return nil // the usual case: no index scan
	}
	for _, oseq := range parkedUnder(w, key) {
		o, err := w.orphan(oseq)
		if err != nil {
			return err
		}
		guessed := len(o.Keys) > 0 && o.Keys[0] != key
		if guessed {
			// Parked under a converted key too: it may be another
			// message's receipt still waiting for its own response.
			fits, _, err := w.guessFits(r.ID, seq, &o.Receipt, w.s.convertedIDs)
			if err != nil {
				return err
			}
			if !fits {
				continue
			}
		}
		if err := w.unpark(oseq, o); err != nil {
			return err
		}
		if _, err := w.applyReceipt(r.ID, seq, &o.Receipt); err != nil {
			return err
		}
		w.s.convertedIDs = guessed
	}
	return nil
}
