package outbox

import (
	"bytes"
	"context"
	"fmt"

	"github.com/smsagent/smsagent"
)

// AddMOParts stores incoming SMS (SMPP 3.4 §4.6.1 deliver_sm) in one
// transaction. A single-part SMS becomes an MO event at once. The parts of
// a concatenated SMS (3GPP TS 23.040 §9.2.3.24.1) are kept until all have
// arrived; then their user data is joined in part order, decoded once with
// Options.DecodeMO (an escape or a surrogate pair may straddle two parts)
// and written as one MO event, and the parts are deleted. A part whose
// sequence is already stored, or whose fingerprint was seen within
// MODedupWindow, is an SMSC redelivery and is dropped.
//
// Crash story: the agent acknowledges the deliver_sm only after this
// commit; a redelivery of a committed part is recognised by its
// fingerprint and dropped.
func (s *Store) AddMOParts(ctx context.Context, ps []smsagent.MOPart) error {
	for i := range ps {
		p := &ps[i]
		switch {
		case p.Total < 1 || p.Total > maxParts:
			return invalidf("incoming part from %q: total %d outside 1..%d", p.From, p.Total, maxParts)
		case p.Seq < 1 || p.Seq > p.Total:
			return invalidf("incoming part from %q: part %d outside 1..%d", p.From, p.Seq, p.Total)
		case p.Total > 1 && p.Key == "":
			return invalidf("incoming part %d/%d from %q has no concatenation key", p.Seq, p.Total, p.From)
		case len(p.Key) > maxMOKeyLen || len(p.Fingerprint) > maxPrintLen:
			return invalidf("incoming part from %q: key or fingerprint too long", p.From)
		}
	}
	if len(ps) == 0 {
		return nil
	}
	if err := s.do(ctx, &moOp{ps: ps}); err != nil {
		return fmt.Errorf("outbox: add incoming parts: %w", err)
	}
	return nil
}

type moOp struct{ ps []smsagent.MOPart }

func (o *moOp) apply(w *wtx) error {
	for i := range o.ps {
		p := o.ps[i] // a copy: the caller's parts are not changed
		if p.Received.IsZero() {
			p.Received = w.now
		}
		p.Received = p.Received.Round(0)
		if err := w.addMOPart(&p); err != nil {
			return err
		}
	}
	return nil
}

func (w *wtx) addMOPart(p *smsagent.MOPart) error {
	if p.Fingerprint != "" {
		fp := []byte(p.Fingerprint)
		if w.value(w.moPrint, fp) != nil {
			w.s.log.Debug("outbox: incoming part redelivered; dropped", "from", p.From, "seq", p.Seq)
			return nil
		}
		if err := w.put(w.moPrint, fp, be64(nil, timeKey(w.now))); err != nil {
			return err
		}
		if err := w.put(w.moPrintAge, timeNameKey(w.now, p.Fingerprint), empty); err != nil {
			return err
		}
	}
	if p.Total == 1 {
		text, enc := w.s.opts.DecodeMO(p.DataCoding, p.Data)
		return w.addEvent(&smsagent.Event{
			Kind: smsagent.EventMO,
			Time: p.Received,
			MO: &smsagent.MO{Type: "mo", From: p.From, To: p.To, Text: text, Encoding: enc,
				Parts: 1, Received: p.Received},
		})
	}
	hk := moKey(p.Key, 0)
	set := &moSet{First: w.now, Total: p.Total}
	if v := w.value(w.mo, hk); v != nil {
		var err error
		if set, err = decodeMOSet(v); err != nil {
			return fmt.Errorf("incoming set %q: %w", p.Key, err)
		}
	} else {
		if err := w.put(w.moAge, timeNameKey(set.First, p.Key), empty); err != nil {
			return err
		}
		w.c.MOSets++
	}
	pk := moKey(p.Key, p.Seq)
	if w.value(w.mo, pk) != nil {
		w.s.log.Debug("outbox: incoming part already stored; dropped", "from", p.From, "seq", p.Seq, "total", p.Total)
		return nil
	}
	if set.Total != p.Total {
		// The key carries the total, so this is a malformed part; keep
		// the set's own count.
		w.s.log.Warn("outbox: incoming part total differs from its set", "from", p.From, "total", p.Total, "set_total", set.Total)
		return nil
	}
	v := w.encode(func(b []byte) []byte { return appendMOPart(b, p) })
	if err := w.put(w.mo, pk, v); err != nil {
		return err
	}
	set.Count++
	if set.Count == set.Total {
		return w.flushMOSet(p.Key, set, false)
	}
	sv := w.encode(func(b []byte) []byte { return appendMOSet(b, set) })
	return w.put(w.mo, hk, sv)
}

// flushMOSet joins the stored parts of a set in part order, writes the MO
// event (incomplete when parts are missing: Sweep after MOTimeout) and
// deletes the set.
func (w *wtx) flushMOSet(key string, set *moSet, incomplete bool) error {
	prefix := moSetPrefix(key)
	var (
		keys  [][]byte
		data  []byte
		first *smsagent.MOPart
		last  *smsagent.MOPart
	)
	c := w.mo.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix) && len(k) == len(prefix)+2; k, v = c.Next() {
		keys = append(keys, bytes.Clone(k))
		if k[len(k)-1] == 0 && k[len(k)-2] == 0 {
			continue // the header
		}
		p, err := decodeMOPart(v)
		if err != nil {
			return fmt.Errorf("incoming set %q: %w", key, err)
		}
		if first == nil {
			first = p
		}
		if last == nil || p.Received.After(last.Received) {
			last = p
		}
		data = append(data, p.Data...)
	}
	for _, k := range keys {
		if err := w.del(w.mo, k); err != nil {
			return err
		}
	}
	if err := w.del(w.moAge, timeNameKey(set.First, key)); err != nil {
		return err
	}
	w.c.MOSets--
	if first == nil {
		return nil
	}
	text, enc := w.s.opts.DecodeMO(first.DataCoding, data)
	received := last.Received
	if incomplete {
		received = first.Received
	}
	return w.addEvent(&smsagent.Event{
		Kind: smsagent.EventMO,
		Time: received,
		MO: &smsagent.MO{Type: "mo", From: first.From, To: first.To, Text: text, Encoding: enc,
			Parts: set.Total, Incomplete: incomplete, Received: received},
	})
}
