// Package agent wires smsagent together: spool intake into the outbox, the
// dispatcher from the outbox through the bind pool to the SMSC, receipts and
// incoming SMS from the pool back into the outbox, the inbox writer and the
// sweeper. `smsagent run`, the service, the demo and the benchmark all
// start the same Agent.
//
// It implements the ESME's side of SMPP 3.4 above the session: submit_sm
// (§4.4.1) built from a message with its addresses' TON and NPI (§5.2.5,
// §5.2.6, from 3GPP TS 23.040 §9.1.2.5), esm_class UDHI (§5.2.12),
// registered_delivery (§5.2.17), priority_flag (§5.2.14), a relative
// validity_period (§7.1.2), data_coding with the class 0 forms of 23.038 §4
// for flash messages (§5.2.19), concatenation by UDH (23.040 §9.2.3.24.1
// and .8), SAR TLVs (§5.3.2.22-24) or message_payload (§5.3.2.32); the
// submit_sm_resp outcomes by command_status class (§4.4.2, §5.1.3); and
// deliver_sm and data_sm (§4.6.1, §4.7.1) carrying receipts (Appendix B and
// the TLVs of §5.3.2.12, .31, .35) or incoming SMS, answered only after
// they are stored.
//
// # Goroutines and who owns what
//
//   - The dispatcher owns the claimed pages: it waits for a bound session,
//     claims due messages from the outbox in pages, splits each with
//     smpp/coding and submits its parts through the pool (the parts of
//     one message on one session, in order), within a budget of sessions
//     × window + smsc.max_uncommitted parts submitted and not yet
//     recorded. A goroutine of its own claims and encodes the next page
//     ahead, so no commit is on the path from a response to the next
//     submit. An account that takes no message for half its
//     response_timeout is stalled (dispatch.go): its messages wait in the
//     queue until it answers again, so it holds up no other account.
//   - The pool's done callbacks only append to a mailbox; the settler owns
//     the results: it records everything queued with one
//     outbox.RecordParts (a group commit) and then frees the budget.
//   - The pool's Handler only reads a deliver_sm or data_sm into a Receipt
//     or an MOPart and appends it to a mailbox; the applier owns them: it
//     stores a batch in one outbox transaction and only then answers each
//     ESME_ROK (or ESME_RX_T_APPN when the commit failed).
//   - Intake, the inbox writer and the outbox writer run as their packages
//     say; the housekeeper sweeps the outbox every few seconds and samples
//     the counters the status page charts (track.go).
//   - The callbacker makes the work owed after a state change, which the
//     outbox keeps until it is settled: report callbacks and webhook calls
//     (HTTP, eight at a time, two per host) and runs of the event command
//     (hooks.concurrency at a time, internal/hookrun), each outcome
//     committed as it comes.
//
// # Nothing lost, nothing doubled
//
// Every step that a user or the SMSC can observe comes after the commit
// that records it: a file leaves .work/ after its messages are stored, a
// deliver_sm is acknowledged after its receipt is stored, a report file is
// written from an event stored with the state change it reports. The
// process may die on any line; what a restart finds:
//
//   - messages claimed and not settled are queued again by outbox.Open at
//     their old due time; the parts that had been submitted are sent again.
//     That is the only source of duplicates, and the budget bounds it: at
//     most sessions × window + smsc.max_uncommitted parts are submitted
//     and not yet recorded (budget.go).
//   - a response that timed out (Result.Pending) is waited for while its
//     session lives and never resent meanwhile; only the session's end
//     after it counts as a temporary failure, which resends.
//   - receipts and incoming parts not acknowledged are offered again by the
//     SMSC; those stored but not acknowledged are recognised and dropped
//     (for incoming SMS, under the rule below).
//
// # Incoming SMS and redeliveries
//
// The SMSC sends a deliver_sm again only when our deliver_sm_resp did not
// reach it: the link broke after the part was stored and answered, the
// agent stopped or crashed between storing and answering, or the answer
// came after the SMSC's response timer. A person who sends the same text
// twice produces two deliver_sm that may be identical to the octet; only
// time, or an id of the SMSC's, tells them apart. The rule (mo.duplicates)
// says which copies are dropped:
//
//   - window (the default). A part's fingerprint is the whole deliver_sm or
//     data_sm but its sequence number: sender, recipient, data_coding,
//     text, concatenation header, and every TLV and timestamp the SMSC put
//     in, its own ids included. The sequence number is left out because it
//     is the session's: a redelivery gets a new one, and numbering starts
//     over with every session. A part is a redelivery, dropped, when a
//     part with the same fingerprint was stored before and (1) the answer
//     to that earlier copy could not be sent because its session had
//     ended: the SMSC still owes that redelivery, and the first identical
//     copy within 24 hours is it (outbox.Options.MOAnswerLostHold); or (2)
//     it arrived within mo.duplicate_window (default 5 min) after the
//     earlier copy was stored and answered. Whatever (2) says, it is a
//     message of its own when it arrived before the earlier copy was
//     answered, that answer was sent, and the earlier copy had been stored
//     within a second of its arrival: no SMSC gives up on an answer that
//     fast, so both are messages (two "OK"s the SMSC queued while the link
//     was down and sent back to back).
//   - smsc_id. The fingerprint is the SMSC's id of the message (the TLV
//     mo.smsc_id_tag) with sender, recipient and the part's place in its
//     message, so a retry on which the SMSC changed other fields is still
//     recognised, and two messages with distinct ids never are; the same
//     rule applies to it. A deliver_sm without the TLV is never dropped.
//     Since ids tell messages apart, mo.duplicate_window may be long.
//   - off. Nothing is dropped; a redelivered part of a concatenated SMS
//     starts a new set, written later as incomplete.
//
// Why 5 minutes: a redelivery whose loss the agent cannot see comes after
// a crash once the service manager restarted the agent (systemd: 5 s) and
// it bound again; after a silent link once enquire_link found it (30 s and
// the response timeout) and the agent bound again (at most
// smsc.reconnect_max, 1 min); after the SMSC's response timer (commonly 10
// to 60 s) and its first retry interval. Five minutes covers these with a
// margin and is the time during which the same text from the same sender,
// without an SMSC id, is heard once. A loss the agent sees (the session
// ended before the answer) does not depend on it.
//
// A part of a concatenated SMS joins the incomplete set of its sender,
// recipient, reference and part count unless it contradicts it: the set
// holds its part number already (a redelivery of that part was dropped
// above, so this one belongs to another message reusing the reference), or
// the set's parts have another data_coding. Then it starts a new set, and
// the earlier one waits for its own parts and is written as incomplete
// after 30 minutes.
//
// Every dropped copy is counted (Observer.MODuplicate, the metric
// smsagent_mo_duplicates_total) and logged at info with its part number,
// the SMSC's sequence number and the start of its fingerprint, never the
// number or the text; so is a part that starts a new set. A dropped copy is
// acknowledged like any other and renews the memory, since its own answer
// may be lost too.
//
// Crash story: a part is answered only after its commit. A part whose
// session had ended when the applier took it is stored with AnswerLost; an
// answer that fails after the commit is recorded with
// outbox.MOAnswersLost. A crash between the two commits, or an answer lost
// without the agent noticing (the link broke after it left, or a crash
// between commit and answer), leaves the window alone: a redelivery later
// than mo.duplicate_window is written a second time. That is a duplicate,
// never a loss.
//
// # Stopping
//
// Run stops in order when its context ends: intake stops taking files,
// the dispatcher gives back the parts it has not submitted, the stop waits
// up to DrainTimeout for the responses to what is out, the pool unbinds,
// the settler and applier record what arrived, the outbox closes. The
// context of Options.Force cuts the waits short; every step is safe to cut.
package agent
