// Package bindpool keeps SMPP 3.4 sessions bound to one SMSC account and
// spreads submit_sm over them: the agent hands it parts, it hands back each
// answer, and it hides the link coming and going.
//
// Section numbers refer to the SMPP 3.4 specification (Issue 1.2).
//
// # Slots
//
// The pool holds Options.Sessions binds (§2.2, §4.1): transceivers, or
// transmitters, or with Options.Receivers that many transmitters plus that
// many receivers. Each slot has one goroutine that dials, binds, waits for
// the session to end and dials again, on its own. A session binds once, so
// every attempt is a new connection.
//
//   - A refused connection, a failed DNS lookup or TLS handshake, a lost
//     link, a bind timeout: the link is down; retry after Options.Backoff
//     (capped exponential backoff with full jitter, 1 s to 60 s).
//   - ESME_RALYBND or ESME_RBINDFAIL (§5.1.3): the SMSC still holds a
//     session for us, usually our own stale one; retry after the longer
//     Options.BusyBackoff (30 s to 2 min) instead of counting it as fatal.
//   - ESME_RINVPASWD, ESME_RINVSYSID or ESME_RINVSYSTYP: the credentials
//     are refused. The first slot refused probes: it binds again after
//     Options.AuthBackoff (about Options.AuthRetry, default 5 min, with
//     jitter) or as soon as Options.Password gives another password (a
//     rotated password file, read every Options.AuthPoll); every other
//     slot waits until a bind succeeds. An ESME that hammers an SMSC with
//     a wrong password gets its account blocked, and one that never tries
//     again stops a site until someone restarts it. AuthFailed (an
//     *AuthError) and Status say so while it lasts, the log once.
//   - ESME_RINVBNDSTS in a submit_sm_resp: the SMSC lost our bind; the
//     slot closes the session and binds again.
//
// Start never waits for a bind: an agent on a site whose link is down takes
// files and queues them, and sends when a slot binds. Ready is the usual
// ready channel for that moment.
//
// # Submitting
//
// Submit (submit_sm, §4.4) takes a token from the throughput limiter
// (golang.org/x/time/rate, Options.Throughput per second), then routes to
// the bound transmitting session with the fewest requests outstanding and
// a free window slot, blocking while every window is full. It returns
// ErrNotBound at once when no transmitter is bound, so the caller can put
// the message back at the front of its queue and wait on Ready instead of
// blocking with it. The pool adds no goroutine per submission: the answer
// reaches the caller's done on the session's goroutine.
//
// The pool holds no message of its own, so a crash loses nothing here: a
// part lives in the caller's store until its answer is committed there. If
// the process dies with parts in flight, or a session is lost before their
// answers came, the caller sends them again; at most Sessions × Window parts
// can be doubled that way (docs/DESIGN.md, "Delivery semantics").
//
// # Throttling
//
// ESME_RTHROTTLED and ESME_RMSGQFUL in an answer slow the whole pool, not
// the one message or session (the SMSC limits the account, and delaying one
// message reorders them, Jasmin#425; vumi treats the two alike): every
// submission pauses for a second (longer while the SMSC refuses everything
// sent after a pause) and the rate halves; then the rate climbs back
// gradually (AIMD), and the log says so once per storm.
// The caller still gets the throttled answer and puts that message back at
// the front of its queue without counting an attempt.
//
// # Receiving
//
// Options.Handler gets deliver_sm, data_sm and alert_notification from every
// receiver and transceiver session (§4.6, §4.7, §4.12): receipts and MO
// arrive on whichever bind the SMSC picks, minutes or days after the submit.
//
// # Closing
//
// Close unbinds every session (§4.2), reading until each unbind_resp so the
// answers still in flight reach their callers, stops the reconnect loops and
// waits for them.
package bindpool
