package outbox

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/smsagent/smsagent"
	bolt "go.etcd.io/bbolt"
)

// Bucket names. The layout of every key is described in doc.go; the
// functions below are the only places that build or parse them.
var (
	bktMeta       = []byte("meta")
	bktMessages   = []byte("messages")
	bktDue        = []byte("due")
	bktSending    = []byte("sending")
	bktAwaiting   = []byte("awaiting")
	bktDone       = []byte("done")
	bktExpiry     = []byte("expiry")
	bktSMSC       = []byte("smsc")
	bktClient     = []byte("client")
	bktTaken      = []byte("taken")
	bktTakenAge   = []byte("taken-age")
	bktEvents     = []byte("events")
	bktOrphans    = []byte("orphans")
	bktOrphanKeys = []byte("orphan-keys")
	bktMO         = []byte("mo")
	bktMOAge      = []byte("mo-age")
	bktMOPrint    = []byte("mo-fp")
	bktMOPrintAge = []byte("mo-fp-age")
	bktCallbacks  = []byte("callbacks")
	bktHookRuns   = []byte("hook-runs")
)

var allBuckets = [][]byte{
	bktMeta, bktMessages, bktDue, bktSending, bktAwaiting, bktDone, bktExpiry,
	bktSMSC, bktClient, bktTaken, bktTakenAge, bktEvents, bktOrphans,
	bktOrphanKeys, bktMO, bktMOAge, bktMOPrint, bktMOPrintAge, bktCallbacks, bktHookRuns,
}

// schemaVersion is the layout of buckets and keys, and of the index
// values that carry no version byte of their own. Record formats have their
// own version byte; this one changes only when the layout does, and Open
// upgrades older files in place (ReadOnly opens read them as they are).
// An older smsagent refuses a file of a newer schema rather than misread it.
//
//	1: the first layout.
//	2: mo-fp values carry, after their age, whether the copy was answered
//	   promptly and whether its answer was lost (appendPrint). Version 1
//	   values (the age alone) are read as they are; nothing is rewritten.
//	3: an smsc value may name up to maxBindings parts (an SMSC that reused
//	   an id), 10 bytes each; a version 2 value (one part) is read as it
//	   is. An older smsagent would take the longer values for damage.
//	4: the callbacks bucket (HTTP calls owed to report_url and dlr-url),
//	   created empty on upgrade.
//	5: the hook-runs bucket (runs of the event command owed), created
//	   empty on upgrade: apart from the calls, so that a backlog of runs
//	   never hides due calls from the worker's page, nor the reverse.
const schemaVersion = 5

var (
	metaSchema   = []byte("schema")
	metaCounters = []byte("counters")
)

// Maximum lengths of caller-supplied key material. bbolt allows 32 KiB keys;
// ours stay far below so a hostile value cannot bloat the index pages.
const (
	maxClaimLen = 1024
	maxKeyLen   = 255 // SMSC index keys: message_id is at most 65 octets (SMPP 3.4 §4.4.2)
	maxMOKeyLen = 512
	maxPrintLen = 512
)

// be64 appends v big-endian, so byte order equals numeric order.
func be64(b []byte, v uint64) []byte { return binary.BigEndian.AppendUint64(b, v) }

// timeKey is a time as an unsigned big-endian key component. Times before
// 1970 (none occur) sort as 1970.
func timeKey(t time.Time) uint64 {
	n := unixNano(t)
	if n < 0 {
		return 0
	}
	return uint64(n)
}

func beUint64(b []byte) uint64 { return binary.BigEndian.Uint64(b) }

func idKey(id smsagent.MessageID) []byte { return be64(make([]byte, 0, 8), uint64(id)) }

func keyID(k []byte) smsagent.MessageID { return smsagent.MessageID(binary.BigEndian.Uint64(k)) }

// Priority prefix of the due index: high priority sorts first.
func priorityPrefix(p smsagent.Priority) byte { return 0xff - byte(p) }

var duePrefixes = []byte{priorityPrefix(smsagent.PriorityHigh), priorityPrefix(smsagent.PriorityNormal)}

// dueKey is [priority prefix][due][id]: 17 bytes.
func dueKey(p smsagent.Priority, due time.Time, id smsagent.MessageID) []byte {
	k := make([]byte, 1, 17)
	k[0] = priorityPrefix(p)
	return be64(be64(k, timeKey(due)), uint64(id))
}

// timeIDKey is [time][id]: the awaiting, done and expiry indexes.
func timeIDKey(t time.Time, id smsagent.MessageID) []byte {
	return be64(be64(make([]byte, 0, 16), timeKey(t)), uint64(id))
}

// timeNameKey is [time][name]: the taken-age, mo-age and fingerprint-age
// indexes, whose name part is variable.
func timeNameKey(t time.Time, name string) []byte {
	return append(be64(make([]byte, 0, 8+len(name)), timeKey(t)), name...)
}

// binding is one part an SMSC key names: message id and part seq.
type binding struct {
	id  smsagent.MessageID
	seq int
}

// maxBindings is how many parts one SMSC key names at most. An SMSC that
// reuses ids (a counter that wrapped, a restart that counts again in
// another base, so "00000129" after "129") can hand out a key again while
// the part it named first still waits for its receipt; that part stays
// named too, newest first, so that its receipt can still find it by the
// handset (receiptOp.pick).
const maxBindings = 4

// smscValue is the value of the SMSC index: for each part the key names,
// newest first, [message id][part seq, 2 bytes].
func smscValue(bs []binding) []byte {
	v := make([]byte, 0, 10*len(bs))
	for _, b := range bs {
		v = binary.BigEndian.AppendUint16(be64(v, uint64(b.id)), uint16(b.seq))
	}
	return v
}

// parseSMSCValue reads an SMSC index value into dst (appended; a caller
// on the receipt path passes a [maxBindings]binding array's slice, so the
// lookup allocates nothing); ok is false for a value that is not one to
// maxBindings entries.
func parseSMSCValue(v []byte, dst []binding) (bs []binding, ok bool) {
	if len(v) == 0 || len(v)%10 != 0 || len(v)/10 > maxBindings {
		return dst, false
	}
	for ; len(v) > 0; v = v[10:] {
		dst = append(dst, binding{keyID(v), int(binary.BigEndian.Uint16(v[8:]))})
	}
	return dst, true
}

// orphanKeyPrefix is [key length][key]; an orphan-keys entry appends the
// orphan's 8-byte sequence. The length prefix keeps "12" from matching the
// entries of "123".
func orphanKeyPrefix(key string) []byte {
	return append([]byte{byte(len(key))}, key...)
}

// moKey is [uvarint key length][set key][seq, 2 bytes]; seq 0 is the set's
// header, 1..total its parts, so a prefix scan reads a set in part order.
func moSetPrefix(set string) []byte {
	return append(binary.AppendUvarint(make([]byte, 0, len(set)+4), uint64(len(set))), set...)
}

func moKey(set string, seq int) []byte {
	return binary.BigEndian.AppendUint16(moSetPrefix(set), uint16(seq))
}

// counters live in one meta value written once per transaction.
type counters struct {
	NextID    uint64 // last message id assigned
	EventSeq  uint64 // last event sequence assigned
	OrphanSeq uint64 // last parked receipt sequence assigned
	ConcatRef uint16 // last concatenation reference assigned
	ByState   [smsagent.StateCanceled + 1]int64
	Awaiting  int64 // sent and waiting for a receipt
	Events    int64 // events not yet written
	Orphans   int64 // parked receipts
	MOSets    int64 // incomplete incoming SMS
}

const countersVersion = 1

func (c *counters) encode() []byte {
	e := encoder{b: make([]byte, 0, 96)}
	e.u8(countersVersion)
	e.uvarint(c.NextID)
	e.uvarint(c.EventSeq)
	e.uvarint(c.OrphanSeq)
	e.uvarint(uint64(c.ConcatRef))
	e.uvarint(uint64(len(c.ByState)))
	for _, n := range c.ByState {
		e.varint(n)
	}
	e.varint(c.Awaiting)
	e.varint(c.Events)
	e.varint(c.Orphans)
	e.varint(c.MOSets)
	return e.b
}

func decodeCounters(b []byte) (counters, error) {
	var c counters
	d := decoder{b: b}
	if d.u8() != countersVersion {
		d.fail("counters version")
		return c, d.err
	}
	c.NextID = d.uvarint()
	c.EventSeq = d.uvarint()
	c.OrphanSeq = d.uvarint()
	c.ConcatRef = uint16(d.small(0xffff))
	n := d.small(256)
	for i := 0; i < n; i++ {
		v := d.varint()
		if i < len(c.ByState) {
			c.ByState[i] = v
		}
	}
	c.Awaiting = d.varint()
	c.Events = d.varint()
	c.Orphans = d.varint()
	c.MOSets = d.varint()
	return c, d.err
}

func readCounters(tx *bolt.Tx) (counters, error) {
	b := tx.Bucket(bktMeta)
	if b == nil {
		return counters{}, fmt.Errorf("%w: no meta bucket", ErrSchema)
	}
	v := b.Get(metaCounters)
	if v == nil {
		return counters{}, nil
	}
	return decodeCounters(v)
}

// initSchema creates the buckets of a new file or checks the version of an
// existing one.
func initSchema(tx *bolt.Tx) error {
	meta := tx.Bucket(bktMeta)
	older := false
	if meta != nil {
		v := meta.Get(metaSchema)
		if len(v) != 4 {
			return fmt.Errorf("%w: no schema version", ErrSchema)
		}
		n := binary.BigEndian.Uint32(v)
		if n > schemaVersion {
			return fmt.Errorf("%w: schema version %d was written by a newer smsagent (this one reads up to %d)",
				ErrSchema, n, schemaVersion)
		}
		older = n < schemaVersion
	}
	for _, name := range allBuckets {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("create bucket %s: %w", name, err)
		}
	}
	if meta == nil || older {
		// Versions 1 → 2 → 3 → 4 → 5 convert nothing: mo-fp and smsc
		// values of either form are read (decodePrint, parseSMSCValue),
		// and the callbacks and hook-runs buckets were created above. Writing the version keeps
		// an older smsagent from misreading the entries this one writes.
		meta = tx.Bucket(bktMeta)
		if err := meta.Put(metaSchema, binary.BigEndian.AppendUint32(nil, schemaVersion)); err != nil {
			return err
		}
	}
	if meta.Get(metaCounters) == nil {
		c := counters{}
		if err := meta.Put(metaCounters, c.encode()); err != nil {
			return err
		}
	}
	return nil
}

// checkSchema is initSchema's read-only twin for ReadOnly opens.
func checkSchema(tx *bolt.Tx) error {
	meta := tx.Bucket(bktMeta)
	if meta == nil {
		return fmt.Errorf("%w: not an outbox file (no meta bucket); start the agent once to create it", ErrSchema)
	}
	v := meta.Get(metaSchema)
	if len(v) != 4 {
		return fmt.Errorf("%w: no schema version", ErrSchema)
	}
	n := binary.BigEndian.Uint32(v)
	if n < 1 || n > schemaVersion {
		return fmt.Errorf("%w: schema version %d, this smsagent reads 1 to %d", ErrSchema, n, schemaVersion)
	}
	for _, name := range allBuckets {
		if n < 4 && bytes.Equal(name, bktCallbacks) || n < 5 && bytes.Equal(name, bktHookRuns) {
			continue // made by the upgrade a writing open does
		}
		if tx.Bucket(name) == nil {
			return fmt.Errorf("%w: bucket %s missing", ErrSchema, name)
		}
	}
	return nil
}
