package coding

import (
	"container/list"
	"strconv"
	"time"
)

// ConcatKey identifies the concatenated message a part belongs to: sender,
// recipient, reference, total and the kind of reference. Parts of different
// senders or recipients that happen to share a reference never mix (the
// defect of reassemblers keyed on the reference alone), nor do an 8-bit and
// a 16-bit reference of the same value. The key is unambiguous for any
// strings: each address is length-prefixed. The agent stores parts under it.
func ConcatKey(from, to string, kind RefKind, ref uint16, total int) string {
	b := make([]byte, 0, len(from)+len(to)+24)
	b = append(b, kind.String()...)
	b = append(b, '|')
	b = strconv.AppendInt(b, int64(len(from)), 10)
	b = append(b, ':')
	b = append(b, from...)
	b = strconv.AppendInt(b, int64(len(to)), 10)
	b = append(b, ':')
	b = append(b, to...)
	b = append(b, '|')
	b = strconv.AppendUint(b, uint64(ref), 10)
	b = append(b, '/')
	b = strconv.AppendInt(b, int64(total), 10)
	return string(b)
}

// Segment is one received part of a possibly concatenated message.
type Segment struct {
	From, To string
	// Concat is the part's concatenation information, from its header or
	// its SAR TLVs; the zero value (no Kind, or Total 1) means a message of
	// its own.
	Concat     Concat
	DataCoding byte
	// Data is the user data without the header. Add copies it.
	Data []byte
}

// Reassembled is a message ready to deliver: complete, or what arrived of
// it when it timed out or was evicted.
type Reassembled struct {
	From, To   string
	Text       string
	Encoding   string // as Decode names it
	DataCoding byte
	Parts      int // the announced total; 1 for a message of its own
	// Incomplete is set when parts are missing; Missing lists their
	// numbers in order.
	Incomplete bool
	Missing    []int
	// Err is Decode's report of a reserved data_coding; Text is usable.
	Err error
}

// ReassemblerOptions bounds a Reassembler. Zero fields take the defaults.
type ReassemblerOptions struct {
	// Clock is the time source; default time.Now.
	Clock func() time.Time
	// Timeout is how long a set may wait for its missing parts, counted
	// from its first part; default 30 minutes (Kannel waits 1800 s).
	Timeout time.Duration
	// MaxSets bounds the sets waiting at once; default 1024.
	MaxSets int
	// MaxBytes bounds the user data held across all waiting sets; default
	// 1 MiB.
	MaxBytes int
}

// Reassembler joins the parts of incoming concatenated messages in memory
// (23.040 §9.2.3.24.1, SMPP 3.4 §5.3.2.22-24). It checks part numbers,
// drops duplicates, joins raw user data in order and decodes once, delivers
// what arrived of a set that times out, and evicts the oldest sets as
// incomplete when a bound would be exceeded, so memory stays bounded whatever
// an SMSC sends. It is not safe for concurrent use: one goroutine owns it.
type Reassembler struct {
	o     ReassemblerOptions
	sets  map[string]*list.Element // of *pendingSet
	order *list.List               // oldest first; equals deadline order
	bytes int
}

type pendingSet struct {
	key      string
	from, to string
	total    int
	first    time.Time
	parts    [][]byte // by seq-1; nil until it arrives
	dcs      []byte   // data_coding per part
	have     int
	bytes    int
}

// NewReassembler returns an empty Reassembler.
func NewReassembler(o ReassemblerOptions) *Reassembler {
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Minute
	}
	if o.MaxSets <= 0 {
		o.MaxSets = 1024
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = 1 << 20
	}
	return &Reassembler{o: o, sets: make(map[string]*list.Element), order: list.New()}
}

// Add takes one part. It returns the messages now ready: the one this part
// completed (or the part itself when it is not concatenated), sets that
// timed out, and sets evicted to stay within bounds. dup is set when the part
// was already held; it is dropped. A part whose numbers are invalid
// (Concat.Valid false) is, as 23.040 prescribes, a message of its own.
func (r *Reassembler) Add(s Segment) (ready []Reassembled, dup bool) {
	ready = r.Expire()
	c := s.Concat
	if c.Kind == 0 || !c.Valid() || c.Total == 1 {
		return append(ready, single(s)), false
	}
	key := ConcatKey(s.From, s.To, c.Kind, c.Ref, c.Total)
	e, held := r.sets[key]
	if held && e.Value.(*pendingSet).parts[c.Seq-1] != nil {
		return ready, true
	}
	if len(s.Data) > r.o.MaxBytes {
		// Holding it would break the bound on its own: deliver it at once,
		// together with what already arrived of its set.
		var p *pendingSet
		if held {
			p = e.Value.(*pendingSet)
			r.remove(e)
		} else {
			p = newSet(key, s, r.o.Clock())
		}
		p.put(c.Seq, s)
		return append(ready, p.deliver()), false
	}
	for r.bytes+len(s.Data) > r.o.MaxBytes {
		ready = append(ready, r.evictOldest())
	}
	e, ok := r.sets[key] // again: eviction may have delivered it
	if !ok {
		for len(r.sets) >= r.o.MaxSets {
			ready = append(ready, r.evictOldest())
		}
		e = r.order.PushBack(newSet(key, s, r.o.Clock()))
		r.sets[key] = e
	}
	p := e.Value.(*pendingSet)
	p.put(c.Seq, s)
	r.bytes += len(s.Data)
	if p.have == p.total {
		r.remove(e)
		ready = append(ready, p.deliver())
	}
	return ready, false
}

// Expire delivers, as incomplete, every set whose timeout has passed. Add
// calls it too; a caller with a timer calls it at NextDeadline.
func (r *Reassembler) Expire() []Reassembled {
	var out []Reassembled
	now := r.o.Clock()
	for e := r.order.Front(); e != nil; e = r.order.Front() {
		p := e.Value.(*pendingSet)
		if now.Before(p.first.Add(r.o.Timeout)) {
			break
		}
		r.remove(e)
		out = append(out, p.deliver())
	}
	return out
}

// NextDeadline is when the oldest waiting set times out; ok is false when
// nothing waits.
func (r *Reassembler) NextDeadline() (t time.Time, ok bool) {
	e := r.order.Front()
	if e == nil {
		return time.Time{}, false
	}
	return e.Value.(*pendingSet).first.Add(r.o.Timeout), true
}

// Pending returns the number of sets waiting and the user data octets they
// hold.
func (r *Reassembler) Pending() (sets, bytes int) { return len(r.sets), r.bytes }

func (r *Reassembler) evictOldest() Reassembled {
	e := r.order.Front()
	p := e.Value.(*pendingSet)
	r.remove(e)
	return p.deliver()
}

func (r *Reassembler) remove(e *list.Element) {
	p := r.order.Remove(e).(*pendingSet)
	delete(r.sets, p.key)
	r.bytes -= p.bytes
}

func newSet(key string, s Segment, now time.Time) *pendingSet {
	return &pendingSet{
		key: key, from: s.From, to: s.To, total: s.Concat.Total, first: now,
		parts: make([][]byte, s.Concat.Total), dcs: make([]byte, s.Concat.Total),
	}
}

func (p *pendingSet) put(seq int, s Segment) {
	// The copy keeps the caller's PDU buffer free for reuse; the non-nil
	// empty slice marks an empty part as arrived.
	p.parts[seq-1] = append(make([]byte, 0, len(s.Data)), s.Data...)
	p.dcs[seq-1] = s.DataCoding
	p.have++
	p.bytes += len(s.Data)
}

// deliver joins what arrived. The data_coding of the lowest part present
// decodes the whole: the parts of one message share it.
func (p *pendingSet) deliver() Reassembled {
	m := Reassembled{From: p.from, To: p.to, Parts: p.total}
	found := false
	for i, d := range p.parts {
		if d == nil {
			m.Missing = append(m.Missing, i+1)
			continue
		}
		if !found {
			m.DataCoding, found = p.dcs[i], true
		}
	}
	m.Incomplete = len(m.Missing) > 0
	m.Text, m.Encoding, m.Err = JoinDecode(m.DataCoding, p.parts)
	return m
}

func single(s Segment) Reassembled {
	m := Reassembled{From: s.From, To: s.To, DataCoding: s.DataCoding, Parts: 1}
	m.Text, m.Encoding, m.Err = Decode(s.DataCoding, s.Data)
	return m
}
