// Package smsc is an SMSC simulator: a real SMPP 3.4 server on the same
// session engine as the agent's ESME side (package smpp in its SMSC role),
// for end-to-end tests, the demo, `smsagent sim` and benchmarks. Everything
// it does can be steered and observed from a test.
//
// Section numbers refer to the SMPP 3.4 specification (Issue 1.2).
//
// # What it serves
//
//   - Binds (§4.1): any system_id, or Options.Accounts with ESME_RINVSYSID
//     for an unknown system_id and ESME_RINVPASWD for a wrong password
//     (SetAccounts changes them at run time: a rotated password; sessions
//     bound already stay); at most Options.MaxBinds sessions per system_id
//     (ESME_RALYBND beyond). A refused session is closed once the refusal
//     is written.
//   - submit_sm, data_sm and submit_multi (§4.4, §4.5, §4.7), checked as an
//     SMSC checks them, each fault answered with its own status: TON, NPI
//     and address (§5.2.5-§5.2.8), esm_class (§5.2.12: a UDHI flag without
//     a valid header, a receipt type in a submission), registered_delivery
//     (§5.2.17), priority_flag, replace_if_present_flag, the time fields
//     (§7.1.1), data_coding (§5.2.19 and the 23.038 coding groups), the
//     user data against one SMS (140 octets or 160 septets, header
//     included; UCS-2 of even length), short_message and message_payload
//     together (§5.3.2.32), and the sar_* TLVs (§5.3.2.22-24: all three or
//     none, valid numbers, not beside a concatenation header). query_sm,
//     cancel_sm and replace_sm are answered with their failure status.
//   - Message ids from a counter, formatted by Options.MessageID (HexID,
//     DecimalID or any function); receipts may carry them in another format
//     (Options.ReceiptID), as some SMSCs do.
//   - Destination rules (Options.Rules): by prefix, a receipt saying
//     DELIVRD, UNDELIV, EXPIRED or REJECTD, no receipt, or a refused
//     submission with a chosen status.
//   - Delivery receipts (§5.2.17, Appendix B): a deliver_sm with esm_class
//     0x04, the Appendix B text ("id:... sub:001 dlvrd:001 submit date:...
//     done date:... stat:DELIVRD err:000 text:...") and the
//     receipted_message_id and message_state TLVs, after
//     Options.ReceiptDelay, on any receiver or transceiver session of the
//     submitting system_id, queued while none is bound, offered again when
//     the ESME answers with an error (ESME_RTHROTTLED, §5.1.3, is a pause
//     and does not count as one of Options.ReceiptAttempts).
//     Options.DuplicateReceipts and
//     Options.ReceiptsFirst reproduce two misbehaviours of real SMSCs, and
//     InjectReceipt a third: a receipt for an id never issued.
//   - MO messages (InjectMO): one part or several, with 8- or 16-bit
//     concatenation headers or SAR TLVs, in the encoding asked for
//     (smpp/coding), redelivered while the ESME answers with an error or
//     the session ends first; every deliver_sm_resp status is kept, so a
//     test sees whether the agent acknowledged only after storing.
//     Options.MOIDTag gives each part an id of its own in a vendor TLV, as
//     SMSCs that number incoming messages do.
//
// # Faults
//
// SetFaults changes at run time what a well-behaved SMSC would not do:
// throttle every Nth submission, all of them for a while, or those beyond
// a rate per second (the limit an SMSC sells an account), delay
// responses, never answer or generic_nack every Nth, drop the connection
// (FIN or RST) on the Nth, refuse binds for a while or a number of times,
// lose the ESME's answers to MO parts with the connection (each part is
// then offered again on the next session: the redelivery an ESME must
// recognise).
// Methods act at once: Unbind (the SMSC ends the session), Drop, GoSilent
// (a half-open link: no reading, no writing, no FIN), Inject (raw octets
// between two PDUs: garbage, an absurd command_length) and Restart (drop
// everything and come back with other message id formats).
//
// # What it records
//
// Submits (every accepted submission decoded with smpp/coding, header
// parsed, addresses, data_coding, esm_class, registered_delivery, SAR),
// Messages (the parts of each concatenated message joined by key source,
// destination, reference kind, reference and total, with the full text
// and counts of duplicated and conflicting parts), Receipts (with each
// deliver_sm_resp status), MOs and Stats. Options.CountersOnly keeps the
// counters alone, so a benchmark's memory stays flat.
//
// # Speed
//
// The simulator must never be what a benchmark measures: it decodes each
// PDU once, answers from the session's Handler goroutine without further
// hand-offs, writes through the session's batching writer, and with
// Options.CountersOnly neither decodes texts nor keeps records. One
// loopback connection carries several times the 50,000 submissions and
// 20,000 receipts a second the agent's benchmarks ask of it
// (BenchmarkSession_Submit in package smpp, BenchmarkServer_Receipts).
package smsc
