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
//     smpp/coding and submits its parts through the pool, within a budget
//     of sessions × window parts submitted and not yet recorded.
//   - The pool's done callbacks only append to a mailbox; the settler owns
//     the results: it records everything queued with one
//     outbox.RecordParts (a group commit) and then frees the budget.
//   - The pool's Handler only reads a deliver_sm or data_sm into a Receipt
//     or an MOPart and appends it to a mailbox; the applier owns them: it
//     stores a batch in one outbox transaction and only then answers each
//     ESME_ROK (or ESME_RX_T_APPN when the commit failed).
//   - Intake, the inbox writer and the outbox writer run as their packages
//     say; the housekeeper sweeps the outbox every few seconds.
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
//     most sessions × window parts are submitted and not yet recorded.
//   - a response that timed out (Result.Pending) is waited for while its
//     session lives and never resent meanwhile; only the session's end
//     after it counts as a temporary failure, which resends.
//   - receipts and incoming parts not acknowledged are offered again by the
//     SMSC; those stored but not acknowledged are recognised and dropped.
//
// # Stopping
//
// Run stops in order when its context ends: intake stops taking files,
// the dispatcher gives back the parts it has not submitted, the stop waits
// up to DrainTimeout for the responses to what is out, the pool unbinds,
// the settler and applier record what arrived, the outbox closes. The
// context of Options.Force cuts the waits short; every step is safe to cut.
package agent
