// Package smsagent is the domain of the smsagent store-and-forward SMS agent:
// messages as users submit them, the states a message and each of its parts
// move through, the delivery receipts and incoming messages that come back,
// and the events the agent writes into the inbox.
//
// The package imports nothing else of the project and nothing outside the
// standard library; every other package points at it. Rules that belong to
// SMS as such (what a valid destination number or sender is, which state is
// final) live here; wire formats live in smpp, files in spool, msgfile and
// inbox, storage in outbox.
//
// Addresses follow 3GPP TS 23.040 §9.1.2.5 (type of number: international,
// unknown, alphanumeric). States follow the SMPP 3.4 message_state values
// (§5.2.28) and the receipt "stat" words of SMPP 3.4 Appendix B, folded into
// the words the agent reports.
package smsagent
