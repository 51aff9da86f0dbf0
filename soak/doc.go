// Package soak is smsagent's fault and soak suite. It has no code of its
// own: its tests build the real agent binary once (cmd/smsagent), run it as
// a process with its own spool and database in a temporary folder against
// the SMSC simulator (smpp/smsc) on loopback in the test process, inject
// faults while messages flow, and end every case with the ledger: each
// message dropped has exactly one final report in inbox/, the simulator saw
// every message, and the messages it saw twice stay within the bound of
// docs/DESIGN.md "Delivery semantics" (per session lost at a crash or a
// connection loss, the window in flight plus the timed-out requests still
// awaited: 3 × window).
//
// The matrix:
//
//   - Process: SIGKILL at random moments, SIGTERM during load (stop within
//     10 s), a kill while commits are in flight followed by outbox Check,
//     torn copies of the database file (must open or fail with an error,
//     never panic).
//   - SMSC (SMPP 3.4): connection reset mid-window, a half-open link found
//     by enquire_link (§4.11), responses late past the timeout, responses
//     never sent, throttling storms (ESME_RTHROTTLED, §5.1.3), binds
//     refused for a while (§4.1), unbind from the SMSC (§4.2), generic_nack
//     (§4.3), a restart with another message id style, duplicate receipts,
//     receipts for unknown ids, receipts before submit_sm_resp (Appendix B),
//     a burst of MO messages (deliver_sm, §4.6.1), and MO whose answers
//     are lost with their connection (redelivered, dropped and counted).
//   - Disk: the spool on a small tmpfs filled up (root; otherwise skipped
//     with a note).
//   - Files: truncated and invalid input, a sparse 1 GiB file, a file still
//     being written, garbage, empty files, a crowd of tiny files, odd
//     names, a symlink to /etc/shadow, a FIFO, a folder named x.json, the
//     same content under two names.
//   - Hostile SMSC: path and control characters in receipt ids and MO
//     senders, absurd command_length, TLVs overrunning the PDU (§3.2),
//     sm_length beyond the body, a deliver_sm flood, with the agent's RSS
//     measured.
//   - Security: the admin API end to end, the SMPP password in no output,
//     TLS certificate verification, the modes of folders and files.
//
// `go test ./soak/...` runs the short matrix (CI); `go test ./soak/ -soak`
// (or SOAK=1, `make soak`) runs the full one and prints the table of cases,
// messages, faults, lost and duplicated messages.
package soak
