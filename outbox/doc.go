// Package outbox is smsagent's durable store: one bbolt file holding every
// outgoing message from the moment intake accepts its file until its report
// is written and the retention period has passed, the SMSC message ids that
// receipts are matched by, parked receipts, incoming SMS parts being
// reassembled, and the events the inbox writer turns into files. It is the
// heart of "nothing lost, nothing doubled": a message is committed here
// before its file leaves the spool, an SMSC message id before a receipt can
// need it, a receipt before its deliver_sm_resp.
//
// It stores the agent's side of SMPP 3.4: the outcome of each part as an
// Outcome (package agent maps submit_sm_resp command_status onto it, §4.4.2
// and §5.1.3), the receipts of §4.6.1 and Appendix B (message_id, stat, err), the
// message_state values of §5.2.28 as smsagent.State, and the reassembly of
// concatenated incoming SMS (3GPP TS 23.040 §9.2.3.24.1; the concatenation
// reference of outgoing messages is assigned here too).
//
// # Writes: one writer, group commit
//
// One goroutine owns the write side. Every mutating method builds an
// operation, hands it over and waits until the transaction that carried it
// has committed, fsync included (bbolt syncs the data pages, then the meta
// page). The writer takes everything queued, up to Options.MaxOpsPerTx
// operations, into one db.Update, so concurrent callers share one commit:
// at about 0.6 ms per fsync that is the difference between ~1,600 and tens
// of thousands of messages per second. NoSync is never used.
//
// An operation that fails must not poison its neighbours. Operations check
// their preconditions before they write, so the usual failure (unknown id,
// wrong state) leaves no trace and the others commit. The writer also
// counts writes: an operation that fails after writing (bbolt refusing a
// put, a corrupt record, a recovered panic) makes the writer roll the
// transaction back and run it again without that operation. Operations are
// deterministic functions of the database and their inputs, so the rerun
// commits exactly what the others would have. If the commit itself fails
// (disk full, MaxSize reached) each operation is retried alone.
//
// Reads (Get, List, Stats, Events, NextDue, Taken, Check) use db.View and
// never wait for the writer.
//
// # Schema
//
// Integers in keys are 8-byte big-endian so that byte order is numeric
// order; times are Unix nanoseconds. Buckets:
//
//	meta         "schema" → uint32 layout version;
//	             "counters" → versioned: last message id, last event
//	             sequence, last parked-receipt sequence, last concatenation
//	             reference, message count per state, awaiting, events,
//	             parked receipts, incomplete incoming sets. Written once per
//	             transaction, so Stats is O(1) and always agrees.
//	messages     [id] → record (versioned binary, codec.go)
//	due          [0xff−priority][due][id] → ∅   queued messages: high
//	             priority first, then by due time; Claim scans it.
//	sending      [id] → ∅                   claimed, parts in flight; the
//	             only index start-up recovery visits.
//	awaiting     [receipt deadline][id] → ∅ sent, waiting for receipts;
//	             Sweep finds timeouts at its front.
//	done         [done time][id] → ∅        final; Sweep prunes its front.
//	expiry       [expires][id] → ∅          queued or sending with an age
//	             limit; Sweep expires queued ones at its front.
//	smsc         SMSC key → [id][part seq, 2 bytes]   receipt matching.
//	client       idempotency key (client id, NUL, recipient) → [id]
//	taken        claim → [time];  taken-age [time][claim] → ∅
//	events       [seq] → event (versioned binary) until EventsWritten
//	orphans      [seq] → parked receipt with its parking time
//	orphan-keys  [key length][key][seq] → ∅   one per key of the receipt
//	mo           [uvarint length][set key][seq, 2 bytes] → part; seq 0 is
//	             the set's header (first arrival, total, count), so a
//	             prefix scan reads a set in part order.
//	mo-age       [first arrival][set key] → ∅   incomplete-set timeouts
//	mo-fp        fingerprint → [age][version][answered][flags: prompt,
//	             lost]: the latest stored copy of a deliver_sm (schema 1:
//	             [age] alone);  mo-fp-age [age][fingerprint] → ∅
//	callbacks    [due][seq] → call owed (report_url, dlr-url, webhooks)
//	hook-runs    [due][seq] → run of the event command owed (the same
//	             encoding), apart so neither kind's backlog hides the other
//
// Every record is in exactly one of due, sending, awaiting and done, and
// every index changes in the same transaction as its record; Check
// verifies all of it, and that the counters equal a full recount. Keys that
// a prefix must not confuse ("12" and "123") carry their length first.
//
// # Message life
//
//	Enqueue → queued ─Claim→ sending ─RecordParts→ sent ─receipts→ delivered, undeliverable, …
//	             ▲                │ temporary: backoff; throttled: front of queue
//	             └────────────────┘ permanent → rejected;  past max_age/validity → expired
//
// A message becomes final exactly once per life, in the transaction that
// decides it, together with its report event (smsagent.Report, every field
// filled). Retry of a final failure starts a new life: a second report
// follows. Cancel makes any non-final message canceled.
//
// # Crash stories
//
// The process may die on any line. bbolt commits are atomic, so after a
// restart the file holds exactly the committed operations, and:
//   - a file whose Enqueue committed has a taken-record (Taken): intake
//     finishes it without enqueueing it again; one whose Enqueue did not
//     commit has left no trace and is processed again;
//   - a message that was sending is queued again at its old due time by
//     Open; its parts in flight are sent again (at-least-once: the only
//     source of duplicates, bounded by the parts in flight), parts whose
//     acceptance committed keep their SMSC ids and are not resent;
//   - a receipt or incoming part is acknowledged only after its commit; a
//     redelivery is recognised (repeated final receipt, parked twin,
//     fingerprint under the rule of AddMOParts) and creates nothing;
//   - an event stays until EventsWritten, so the inbox writer rewrites the
//     same file under the same name rather than losing or doubling it.
//
// # Caveats
//
// bbolt files never shrink: freed pages are reused, so a file stays the size
// of its busiest hour; Compact writes a dense copy while the agent is
// stopped. The file is endian-specific and must not live on a network file
// system (locks and fsync are unreliable there). A second process blocks on
// the file lock; Open gives up after LockTimeout with ErrLocked.
package outbox
