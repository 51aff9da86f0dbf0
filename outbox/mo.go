package outbox

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"strconv"
	"time"

	"github.com/smsagent/smsagent"
)

// moPrompt is how soon after its arrival a part must have been stored for
// an identical part that arrived before that answer to count as another
// message. An SMSC sends a deliver_sm again only when it gave up waiting
// for the answer (SMPP 3.4 leaves the timer to the SMSC: they wait seconds
// to a minute, and smsagent's own smsc.response_timeout cannot be set
// below a second) or when the session carrying it ended, which AnswerLost
// and MOAnswersLost report.
const moPrompt = time.Second

// AddMOParts stores incoming SMS (SMPP 3.4 §4.6.1 deliver_sm) in one
// transaction and returns what it did with each part. A single-part SMS
// becomes an MO event at once. The parts of a concatenated SMS (3GPP TS
// 23.040 §9.2.3.24.1) are kept until all have arrived; then their user data
// is joined in part order, decoded once with Options.DecodeMO (an escape or
// a surrogate pair may straddle two parts) and written as one MO event, and
// the parts are deleted.
//
// # Redeliveries
//
// The SMSC sends a deliver_sm again when our deliver_sm_resp did not reach
// it: the connection broke after the commit (or the agent stopped or
// crashed between commit and answer), or the answer came after the SMSC's
// response timer. Such a copy is dropped (MORedelivered,
// MORedeliveredLost). A person who sends the same text twice produces two
// deliver_sm that may be identical to the octet, so a copy is dropped only
// when it can be the SMSC's doing. For each fingerprint the store
// remembers the latest stored copy: when it was answered (its commit: the
// agent answers right after), whether that was within moPrompt of its
// arrival, and whether its answer was lost. A part whose fingerprint
// matches is a redelivery when
//
//  1. the answer to the earlier copy was lost (AnswerLost, MOAnswersLost):
//     the SMSC still owes that copy, whenever it comes, for up to
//     MOAnswerLostHold (MORedeliveredLost); otherwise
//  2. it arrived within MODedupWindow after the earlier copy was answered
//     (MORedelivered),
//
// except that it is another message when it arrived before the earlier
// copy was answered while that copy was stored promptly: the SMSC cannot
// have given up on an answer it had been waiting for less than a second.
// A match renews the memory (its own answer may be lost too). Parts
// without a fingerprint are never dropped.
//
// # Sets
//
// A part joins the incomplete set waiting under its key (sender, recipient,
// reference and total) unless it contradicts it: another data_coding, or a
// part number the set already holds (a redelivery of that part was dropped
// above, so this is another message reusing the reference). Then it starts
// a new set under the key (MONewSet); the earlier one is moved aside and
// waits for its own parts until MOTimeout, then Sweep writes it as
// incomplete.
//
// Crash story: the agent acknowledges the deliver_sm only after this
// commit. A crash before it: the SMSC offers the part again and it is
// stored then. After it: the redelivery comes within MODedupWindow of the
// commit when the agent restarts in time (systemd restarts it within
// seconds) and is dropped; one that comes later is stored again (a second
// file, never a lost one).
func (s *Store) AddMOParts(ctx context.Context, ps []smsagent.MOPart) ([]smsagent.MOOutcome, error) {
	for i := range ps {
		p := &ps[i]
		switch {
		case p.Total < 1 || p.Total > maxParts:
			return nil, invalidf("incoming part %d: total %d outside 1..%d", i, p.Total, maxParts)
		case p.Seq < 1 || p.Seq > p.Total:
			return nil, invalidf("incoming part %d: part %d outside 1..%d", i, p.Seq, p.Total)
		case p.Total > 1 && p.Key == "":
			return nil, invalidf("incoming part %d (%d/%d) has no concatenation key", i, p.Seq, p.Total)
		case len(p.Key) > maxMOKeyLen || len(p.Fingerprint) > maxPrintLen:
			return nil, invalidf("incoming part %d: key or fingerprint too long", i)
		}
	}
	if len(ps) == 0 {
		return nil, nil
	}
	o := &moOp{ps: ps}
	if err := s.do(ctx, o); err != nil {
		return nil, fmt.Errorf("outbox: add incoming parts: %w", err)
	}
	return o.out, nil
}

type moOp struct {
	ps  []smsagent.MOPart
	out []smsagent.MOOutcome
}

func (o *moOp) apply(w *wtx) error {
	o.out = make([]smsagent.MOOutcome, len(o.ps))
	for i := range o.ps {
		p := o.ps[i] // a copy: the caller's parts are not changed
		if p.Received.IsZero() {
			p.Received = w.now
		}
		p.Received = p.Received.Round(0)
		var err error
		if o.out[i], err = w.addMOPart(&p); err != nil {
			return err
		}
	}
	return nil
}

// MOAnswersLost records that the deliver_sm_resp of stored parts could not
// be sent (their session ended between the commit and the answer): the SMSC
// still owes their redelivery, and the next copy of each is dropped however
// late it comes, up to MOAnswerLostHold. prints are the parts'
// fingerprints; unknown ones are ignored.
func (s *Store) MOAnswersLost(ctx context.Context, prints []string) error {
	for _, fp := range prints {
		if len(fp) > maxPrintLen {
			return invalidf("fingerprint of %d octets", len(fp))
		}
	}
	if len(prints) == 0 {
		return nil
	}
	if err := s.do(ctx, &answersLostOp{prints: prints}); err != nil {
		return fmt.Errorf("outbox: incoming answers lost: %w", err)
	}
	return nil
}

type answersLostOp struct{ prints []string }

func (o *answersLostOp) apply(w *wtx) error {
	for _, p := range o.prints {
		fp := []byte(p)
		v := w.value(w.moPrint, fp)
		if v == nil {
			continue
		}
		e, err := decodePrint(v)
		if err != nil || e.lost {
			continue // unreadable: replaced by the next copy (checkPrint)
		}
		e.lost = true
		if err := w.putPrint(fp, v, e); err != nil {
			return err
		}
	}
	return nil
}

func (w *wtx) addMOPart(p *smsagent.MOPart) (smsagent.MOOutcome, error) {
	out := smsagent.MOStored
	if p.Fingerprint != "" {
		var err error
		if out, err = w.checkPrint(p); err != nil || out.Dropped() {
			return out, err
		}
	}
	if p.Total == 1 {
		text, enc := w.s.opts.DecodeMO(p.DataCoding, p.Data)
		return out, w.addEvent(&smsagent.Event{
			Kind: smsagent.EventMO,
			Time: p.Received,
			MO: &smsagent.MO{Type: "mo", From: p.From, To: p.To, Text: text, Encoding: enc,
				Parts: 1, Received: p.Received, SMSC: p.SMSC},
		})
	}
	hk := moKey(p.Key, 0)
	var set *moSet
	if v := w.value(w.mo, hk); v != nil {
		held, err := decodeMOSet(v)
		if err != nil {
			return 0, fmt.Errorf("incoming set %q: %w", p.Key, err)
		}
		conflict, err := w.contradicts(p, held)
		if err != nil {
			return 0, err
		}
		if conflict {
			if err := w.displaceMOSet(p.Key, held); err != nil {
				return 0, err
			}
			out = smsagent.MONewSet
		} else {
			set = held
		}
	}
	if set == nil {
		set = &moSet{First: w.now, Total: p.Total}
		if err := w.put(w.moAge, timeNameKey(set.First, p.Key), empty); err != nil {
			return 0, err
		}
		w.c.MOSets++
	}
	v := w.encode(func(b []byte) []byte { return appendMOPart(b, p) })
	if err := w.put(w.mo, moKey(p.Key, p.Seq), v); err != nil {
		return 0, err
	}
	set.Count++
	if set.Count == set.Total {
		return out, w.flushMOSet(p.Key, set, false)
	}
	sv := w.encode(func(b []byte) []byte { return appendMOSet(b, set) })
	return out, w.put(w.mo, hk, sv)
}

// checkPrint applies the redelivery rule (AddMOParts) to a part with a
// fingerprint and remembers the part as the latest copy of it.
func (w *wtx) checkPrint(p *smsagent.MOPart) (smsagent.MOOutcome, error) {
	fp := []byte(p.Fingerprint)
	out := smsagent.MOStored
	old := w.value(w.moPrint, fp)
	if old != nil {
		e, err := decodePrint(old)
		if err != nil {
			// Only a memory of copies: a damaged one is replaced rather
			// than holding every later copy back.
			w.s.log.Warn("outbox: unreadable fingerprint entry replaced", "err", err)
		} else {
			out = redelivery(e, p.Received, w.s.opts.MODedupWindow, w.s.opts.MOAnswerLostHold)
		}
	}
	e := printEntry{answered: w.now, prompt: w.now.Sub(p.Received) <= moPrompt, lost: p.AnswerLost}
	return out, w.putPrint(fp, old, e)
}

// redelivery is the rule of AddMOParts for a part that arrived at received
// and whose fingerprint matches e. It does not rely on Sweep having removed
// the entries past their time.
func redelivery(e printEntry, received time.Time, window, hold time.Duration) smsagent.MOOutcome {
	since := received.Sub(e.answered)
	switch {
	case e.lost && since <= hold:
		return smsagent.MORedeliveredLost
	case e.prompt && received.Before(e.answered):
		return smsagent.MOStored
	case since <= window:
		return smsagent.MORedelivered
	}
	return smsagent.MOStored
}

// putPrint writes e for fp, replacing old (the current value, nil when
// there is none) and its age entry. The age entry of a lost answer is set
// so that Sweep, which removes entries MODedupWindow past their age, keeps
// it for MOAnswerLostHold.
func (w *wtx) putPrint(fp, old []byte, e printEntry) error {
	if len(old) >= 8 {
		if err := w.del(w.moPrintAge, append(bytes.Clone(old[:8]), fp...)); err != nil {
			return err
		}
	}
	e.age = e.answered
	if extra := w.s.opts.MOAnswerLostHold - w.s.opts.MODedupWindow; e.lost && extra > 0 {
		e.age = e.answered.Add(extra)
	}
	v := w.encode(func(b []byte) []byte { return appendPrint(b, &e) })
	if err := w.put(w.moPrint, fp, v); err != nil {
		return err
	}
	return w.put(w.moPrintAge, timeNameKey(e.age, string(fp)), empty)
}

// contradicts reports whether p cannot belong to the set held under its
// key: the set holds its part number already, counts another total, or
// its parts have another data_coding.
func (w *wtx) contradicts(p *smsagent.MOPart, set *moSet) (bool, error) {
	if set.Total != p.Total || w.value(w.mo, moKey(p.Key, p.Seq)) != nil {
		return true, nil
	}
	prefix := moSetPrefix(p.Key)
	k, v := w.mo.Cursor().Seek(moKey(p.Key, 1))
	if k == nil || !bytes.HasPrefix(k, prefix) || len(k) != len(prefix)+2 {
		return false, nil
	}
	first, err := decodeMOPart(v)
	if err != nil {
		return false, fmt.Errorf("incoming set %q: %w", p.Key, err)
	}
	return first.DataCoding != p.DataCoding, nil
}

// displaceMOSet moves the incomplete set waiting under key, with its parts
// and its age entry, to a name no other set has, so that a new set can
// start under key. The moved set keeps its first arrival: Sweep writes it
// as incomplete after MOTimeout like any other.
func (w *wtx) displaceMOSet(key string, set *moSet) error {
	var name string
	for i := 0; ; i++ {
		// NUL never occurs in a concatenation key built by the agent
		// (addresses are C-Octet Strings), and the loop skips a name in use.
		name = key + "\x00" + strconv.FormatUint(timeKey(w.now), 10) + "." + strconv.Itoa(i)
		if w.value(w.mo, moKey(name, 0)) == nil {
			break
		}
	}
	type entry struct {
		seq int
		v   []byte
	}
	var moved []entry
	prefix := moSetPrefix(key)
	c := w.mo.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix) && len(k) == len(prefix)+2; k, v = c.Next() {
		moved = append(moved, entry{int(binary.BigEndian.Uint16(k[len(k)-2:])), bytes.Clone(v)})
	}
	for _, m := range moved {
		if err := w.del(w.mo, moKey(key, m.seq)); err != nil {
			return err
		}
		if err := w.put(w.mo, moKey(name, m.seq), m.v); err != nil {
			return err
		}
	}
	if err := w.del(w.moAge, timeNameKey(set.First, key)); err != nil {
		return err
	}
	return w.put(w.moAge, timeNameKey(set.First, name), empty)
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
			Parts: set.Total, Incomplete: incomplete, Received: received, SMSC: first.SMSC},
	})
}
