package smsc

import (
	"bytes"
	"context"
	"slices"
	"time"

	"github.com/smsagent/smsagent/smpp/coding"
	"github.com/smsagent/smsagent/smpp/pdu"
)

// Submit is one accepted submission to one destination, as the simulator
// understood it.
type Submit struct {
	// Conn is the connection it came on: 1 for the first accepted, and so
	// on (Server.Submits keeps the order they arrived in).
	Conn      uint64
	SystemID  string
	Command   pdu.CommandID // submit_sm, data_sm or submit_multi
	MessageID string        // as in the response
	Source    pdu.Address
	Dest      pdu.Address
	ESMClass  pdu.ESMClass
	// DataCoding is as sent; Text is this part's user data decoded by it
	// (smpp/coding), alone: an escape or a surrogate pair cut at the part's
	// edge decodes badly here and well in the reassembled Message.
	DataCoding         pdu.DataCoding
	RegisteredDelivery pdu.RegisteredDelivery
	// UDH is the user data header, UDHL octet first; nil without UDHI.
	UDH []byte
	// Concat is the part's place in a concatenated message, from the UDH
	// or (SAR set) from the sar_* TLVs; zero for a message of its own.
	Concat coding.Concat
	SAR    bool
	// Payload is set when the text came in message_payload.
	Payload bool
	// Data is the user data after the header (unpacked septets when
	// Options.PackedGSM).
	Data    []byte
	Text    string
	Outcome Outcome
	At      time.Time
}

// Message is a message as the handset would show it: the parts of a
// concatenated message joined (key: source, destination, reference kind,
// reference and total), or a message of its own.
type Message struct {
	Key      string
	From, To string
	Text     string
	Encoding string // as coding.Decode names it
	// Parts is the announced total; Received how many distinct parts came.
	Parts, Received int
	Complete        bool
	// MessageIDs are the parts' ids, by part number.
	MessageIDs []string
	// Duplicates counts parts that came again with the same content:
	// messages sent twice. Conflicts counts parts that came again with
	// different content: two messages sharing a reference.
	Duplicates, Conflicts int
}

// ReceiptRecord is one receipt offered to the ESME and what it answered.
type ReceiptRecord struct {
	SystemID  string
	MessageID string // the id the submit_sm_resp gave
	ReceiptID string // the id the receipt carries
	Dest      string // the handset the message went to
	Stat      string
	Text      string
	// Duplicate marks the second copy Options.DuplicateReceipts sends.
	Duplicate bool
	// Responses are the deliver_sm_resp statuses, one per answered
	// attempt; Lost counts attempts whose session ended first.
	Responses []pdu.Status
	Lost      int
	Acked     bool
}

// Stats are the simulator's counters.
type Stats struct {
	Binds, BindsRefused int
	Bound               int // sessions bound now
	// Submits counts submissions received; Accepted the destinations
	// accepted; Refused those answered with an error status (Throttled
	// among them); Nacked those answered generic_nack; Dropped those
	// accepted and never answered.
	Submits, Accepted, Refused, Throttled, Nacked, Dropped int
	// Messages counts complete messages; Duplicates and Conflicts parts
	// that came twice (see Message). Not kept with CountersOnly.
	Messages, Duplicates, Conflicts int
	// Receipts queued, sent (written to a session) and acknowledged.
	ReceiptsQueued, ReceiptsSent, ReceiptsAcked int
	// MO parts sent and acknowledged.
	MOSent, MOAcked int
	// MaxOutstanding is the most submissions one connection had waiting
	// for their response at once: the ESME's window as seen from here.
	MaxOutstanding int
}

type msgSet struct {
	msg   *Message
	parts [][]byte
	dcs   byte
}

// recorder keeps what tests assert on; the server's mu guards it.
type recorder struct {
	countersOnly bool
	submits      []Submit
	sets         map[string]*msgSet
	messages     []*Message
	receipts     []*ReceiptRecord
	mos          []*MO
}

func newRecorder(countersOnly bool) recorder {
	return recorder{countersOnly: countersOnly, sets: make(map[string]*msgSet)}
}

// record counts an accepted submission and, unless CountersOnly, keeps it
// and adds it to its message.
func (s *Server) record(sub *Submit) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.Accepted++
	r := &s.rec
	if r.countersOnly {
		return
	}
	r.submits = append(r.submits, *sub)
	c := sub.Concat
	if c.Kind == 0 || c.Total <= 1 {
		r.messages = append(r.messages, &Message{
			Key: "single|" + sub.MessageID, From: sub.Source.Addr, To: sub.Dest.Addr, Text: sub.Text,
			Encoding: encodingName(byte(sub.DataCoding)), Parts: 1, Received: 1, Complete: true,
			MessageIDs: []string{sub.MessageID},
		})
		s.stats.Messages++
		return
	}
	key := coding.ConcatKey(sub.Source.Addr, sub.Dest.Addr, c.Kind, c.Ref, c.Total)
	set := r.sets[key]
	if set == nil {
		set = &msgSet{
			msg: &Message{Key: key, From: sub.Source.Addr, To: sub.Dest.Addr, Parts: c.Total,
				MessageIDs: make([]string, c.Total)},
			parts: make([][]byte, c.Total),
			dcs:   byte(sub.DataCoding),
		}
		r.sets[key] = set
		r.messages = append(r.messages, set.msg)
	}
	m := set.msg
	if old := set.parts[c.Seq-1]; old != nil {
		if bytes.Equal(old, sub.Data) {
			m.Duplicates++
			s.stats.Duplicates++
		} else {
			m.Conflicts++
			s.stats.Conflicts++
		}
		return
	}
	set.parts[c.Seq-1] = append([]byte{}, sub.Data...)
	m.MessageIDs[c.Seq-1] = sub.MessageID
	m.Received++
	if m.Received == m.Parts {
		m.Text, m.Encoding, _ = coding.JoinDecode(set.dcs, set.parts)
		m.Complete = true
		s.stats.Messages++
	}
}

func encodingName(dcs byte) string {
	_, name, _ := coding.Decode(dcs, nil)
	return name
}

func (r *recorder) receipt(rr *ReceiptRecord) {
	if !r.countersOnly {
		r.receipts = append(r.receipts, rr)
	}
}

func (r *recorder) mo(m *MO) {
	if !r.countersOnly {
		r.mos = append(r.mos, m)
	}
}

// Submits returns every accepted submission, in arrival order.
func (s *Server) Submits() []Submit {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.rec.submits)
}

// Messages returns the messages in the order their first part arrived.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, len(s.rec.messages))
	for i, m := range s.rec.messages {
		out[i] = *m
		out[i].MessageIDs = slices.Clone(m.MessageIDs)
	}
	return out
}

// Receipts returns every receipt queued, in queueing order.
func (s *Server) Receipts() []ReceiptRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]ReceiptRecord, len(s.rec.receipts))
	for i, r := range s.rec.receipts {
		out[i] = *r
		out[i].Responses = slices.Clone(r.Responses)
	}
	return out
}

// MOs returns the injected MO messages, in injection order.
func (s *Server) MOs() []*MO {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.rec.mos)
}

// Stats returns the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	st := s.stats
	s.mu.Unlock()
	st.MaxOutstanding = int(s.maxOutstanding.Load())
	return st
}

// WaitFor polls the counters until cond holds or ctx ends, and returns the
// last ones it saw.
func (s *Server) WaitFor(ctx context.Context, cond func(Stats) bool) (Stats, error) {
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for {
		st := s.Stats()
		if cond(st) {
			return st, nil
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return st, ctx.Err()
		}
	}
}
