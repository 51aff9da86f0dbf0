package outbox

import (
	"encoding/hex"
	"log/slog"
	"math/rand/v2"
	"runtime"
	"strconv"
	"time"

	"github.com/smsagent/smsagent"
)

// Defaults applied by Open to zero Options fields.
const (
	DefaultLockTimeout    = time.Second
	DefaultRetryInitial   = 10 * time.Second
	DefaultRetryMax       = 10 * time.Minute
	DefaultMaxAge         = 48 * time.Hour
	DefaultReceiptTimeout = 72 * time.Hour
	DefaultOrphanGrace    = 5 * time.Minute
	DefaultMOTimeout      = 30 * time.Minute
	DefaultMODedupWindow  = 5 * time.Minute
	DefaultMOAnswerLost   = 24 * time.Hour
	DefaultRetention      = 7 * 24 * time.Hour
	DefaultMaxOpsPerTx    = 1000
)

// Options configure a Store. The zero value of every field means its
// default; durations that may be switched off say so.
type Options struct {
	// Logger receives the store's diagnostics; nil discards them.
	Logger *slog.Logger
	// Clock gives the time of state changes (done times, receipt deadlines,
	// backoff, parking times); nil means time.Now. Claim and Sweep take their
	// "now" as an argument instead.
	Clock func() time.Time
	// Webhooks get every event of the kinds they name, as a callback made
	// in the commit that makes the event.
	Webhooks []Webhook
	// LegacyAccount is the SMSC account that parts accepted by a release
	// with one account belong to (their records name none): records are
	// read with it filled in, so reports, views and the dispatcher see
	// it. "" leaves them without one.
	LegacyAccount string
	// LockTimeout bounds the wait for the file lock; another process holding
	// it makes Open fail with ErrLocked (default 1 s).
	LockTimeout time.Duration
	// ReadOnly opens the file for reading only (a shared lock): the queue
	// commands use it while the agent is stopped. Mutating methods return
	// ErrReadOnly and start-up recovery does not run.
	ReadOnly bool
	// Retry is the backoff after a temporary failure and the age limit.
	Retry RetryPolicy
	// ReceiptTimeout is how long a sent message waits for its delivery
	// receipt before Sweep makes it final with a "sent" report (default 72 h).
	ReceiptTimeout time.Duration
	// OrphanGrace is how long a receipt that matched no part stays parked,
	// waiting for the commit of its submit_sm_resp, before Sweep reports it
	// as unmatched (default 5 min).
	OrphanGrace time.Duration
	// MOTimeout is how long an incomplete multi-part incoming SMS waits for
	// its missing parts before Sweep writes what arrived, marked incomplete
	// (default 30 min).
	MOTimeout time.Duration
	// MODedupWindow is how long after a stored incoming part was answered
	// an identical deliver_sm counts as the SMSC's redelivery of it, sent
	// because the answer did not reach it (default 5 min; the rule is
	// AddMOParts').
	MODedupWindow time.Duration
	// MOAnswerLostHold is how long a part whose answer could not be sent
	// waits for the redelivery the SMSC owes (default 24 h, the validity
	// most SMSCs retry for); the first copy within it is dropped.
	MOAnswerLostHold time.Duration
	// Retention is how long final messages, taken-file records and thus
	// client ids are kept (default 7 days). A client id can be reused once
	// the message that carried it is pruned.
	Retention time.Duration
	// MaxOpsPerTx caps how many queued operations one transaction carries
	// (default 1000); it is also the chunk size of Sweep and RetryFailed.
	MaxOpsPerTx int
	// MaxSize refuses to grow the file beyond this many bytes (bbolt
	// MaxSize); operations that need more space fail. Zero means no limit.
	MaxSize int
	// MmapSize is the initial size of bbolt's memory map (bbolt
	// InitialMmapSize). Each time the file outgrows the map, bbolt remaps
	// it, copying every page the open transaction touched onto the heap and
	// waiting for all read transactions; a large batch then costs several
	// such copies. Default: 1 GiB on 64-bit Unix, where it only reserves
	// address space; 64 MiB on Windows, where the file is grown to this size
	// at once, and on 32-bit systems, whose address space is small. Negative
	// means bbolt's own growth from 32 KiB.
	MmapSize int
	// DecodeMO turns the joined user data of a multi-part incoming SMS into
	// text. The agent injects the SMS decoder; the default returns the bytes
	// in hex with encoding "binary".
	DecodeMO func(dataCoding byte, data []byte) (text, encoding string)
}

// RetryPolicy is the capped exponential backoff with full jitter used after
// a temporary failure: the n-th retry waits a uniformly random duration in
// [0, min(Max, Initial·2^(n-1))].
type RetryPolicy struct {
	Initial time.Duration // default 10 s
	Max     time.Duration // default 10 min
	// MaxAge is how long after it was received (or after its send_at) a
	// message may still be sent; older queued messages become expired with a
	// report. Default 48 h; negative means no limit (validity still applies).
	MaxAge time.Duration
	// Rand is the jitter source; nil means the process-wide generator. Tests
	// inject a fixed source.
	Rand rand.Source
}

// Delay is the backoff before the given retry (attempt counts from 1).
func (p RetryPolicy) Delay(attempt int, r *rand.Rand) time.Duration {
	limit := p.Initial
	for i := 1; i < attempt && limit < p.Max; i++ {
		limit *= 2
	}
	if limit > p.Max || limit <= 0 {
		limit = p.Max
	}
	if limit <= 0 {
		return 0
	}
	return time.Duration(r.Int64N(int64(limit) + 1))
}

func (o Options) withDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&o.LockTimeout, DefaultLockTimeout)
	def(&o.Retry.Initial, DefaultRetryInitial)
	def(&o.Retry.Max, DefaultRetryMax)
	def(&o.Retry.MaxAge, DefaultMaxAge)
	def(&o.ReceiptTimeout, DefaultReceiptTimeout)
	def(&o.OrphanGrace, DefaultOrphanGrace)
	def(&o.MOTimeout, DefaultMOTimeout)
	def(&o.MODedupWindow, DefaultMODedupWindow)
	def(&o.MOAnswerLostHold, DefaultMOAnswerLost)
	def(&o.Retention, DefaultRetention)
	if o.Retry.Max < o.Retry.Initial {
		o.Retry.Max = o.Retry.Initial
	}
	if o.MmapSize == 0 {
		o.MmapSize = defaultMmapSize()
	}
	if runtime.GOOS == "windows" && o.MaxSize > 0 && o.MmapSize > 0 {
		o.MmapSize = min(o.MmapSize, windowsMapLimit(o.MaxSize))
	}
	if o.MaxOpsPerTx <= 0 {
		o.MaxOpsPerTx = DefaultMaxOpsPerTx
	}
	if o.DecodeMO == nil {
		o.DecodeMO = decodeBinary
	}
	return o
}

func defaultMmapSize() int {
	if runtime.GOOS == "windows" || strconv.IntSize == 32 {
		return 64 << 20
	}
	return 1 << 30
}

// windowsMapLimit is the largest map bbolt may make of a file limited to
// maxSize bytes on Windows, where mapping grows the file to the map's size
// at once: bbolt v1.5 refuses to open (ErrMaxSizeReached) when the initial
// map exceeds MaxSize, so a store.max_size below the 64 MiB default map
// could not open at all. Maps come in powers of two up to 1 GiB (then
// whole GiB), so it is the largest of those within maxSize, and at least
// bbolt's smallest map, 32 KiB. The file can then grow only to that size
// on Windows (bbolt grows it by whole maps), which the configuration
// documents.
func windowsMapLimit(maxSize int) int {
	limit := 32 << 10
	for limit*2 <= maxSize && limit < 1<<30 {
		limit *= 2
	}
	for limit+1<<30 <= maxSize && limit >= 1<<30 {
		limit += 1 << 30
	}
	return limit
}

func decodeBinary(_ byte, data []byte) (string, string) {
	return hex.EncodeToString(data), "binary"
}

// globalSource draws from the process-wide generator, which is safe for
// concurrent use and seeded at start.
type globalSource struct{}

func (globalSource) Uint64() uint64 { return rand.Uint64() }

// Webhook is an endpoint the events of Kinds are POSTed to.
type Webhook struct {
	URL   string
	Kinds []smsagent.EventKind
}
