// Package smpp is an SMPP 3.4 session over a net.Conn: the ESME side the
// agent uses to bind, submit messages and receive deliver_sm, and the SMSC
// side the simulator (smpp/smsc) is built on. The wire format is
// smpp/pdu's; this package adds the protocol's state and timing. Dial
// opens the connection (TCP keep-alive, optional TLS); NewSession takes it
// from there, so tests can hand it a net.Pipe.
//
// Section numbers refer to the SMPP 3.4 specification (Issue 1.2):
//
//   - §2.2-§2.3: binding and the bind states. Bind sends bind_transmitter,
//     bind_receiver or bind_transceiver and waits for the answer within a
//     timeout; nothing else is sent before it succeeds. A refusal, a
//     generic_nack included, is a *BindError carrying the status, whose
//     Class tells a busy slot from bad credentials. Requests the bind mode
//     does not allow are refused before they reach the wire, and the peer's
//     are answered ESME_RINVBNDSTS.
//   - §2.4-§2.9, §3.2: sequence numbers and the request/response exchange.
//     We number requests 1 to 0x7FFFFFFF, wrap to 1, and skip numbers
//     still waiting; any number from the peer is accepted and echoed.
//     A response is matched by sequence number and command id (the
//     request's response id, or generic_nack).
//   - §4.1-§4.12: bind, unbind (answered, then the session ends with
//     ErrUnbound), generic_nack (sent for unknown command ids and, with
//     sequence 0 before closing, for a lost framing; a received one with
//     sequence 0 ends the session), submit_sm and the other requests via
//     Send, deliver_sm/data_sm/alert_notification to the Handler, and
//     enquire_link (answered with the peer's sequence number, and sent
//     when the link is quiet).
//
// # Requests
//
// Send is asynchronous and windowed: it blocks only while Window requests
// are outstanding, registers the request before writing it, and calls
// done once with the response. A response timeout is not a failure: done
// hears Result{Pending: true} (outcome unknown, window slot free) and
// later the late response or the session's end, so a message is never
// sent twice because a response was slow (jsmpp#63). Requests share one
// timeout and expire from the front of a list in send order: no timer per
// request. Requests still waiting when the session ends get its cause;
// those that never left the write buffer are also marked ErrNotSent.
//
// # The peer's requests
//
// The reader never runs user code and never blocks: responses go straight
// to their done, and the peer's requests are queued for the Handler, which
// runs on its own goroutine in arrival order and answers each Request with
// Ack or Respond whenever it likes. At most InboundWindow requests may be
// queued or unanswered; beyond that the session answers ESME_RTHROTTLED
// itself, as jsmpp does, so a slow Handler slows the peer down instead of
// stalling our own traffic.
//
// # The link
//
// Once bound, enquire_link is sent whenever nothing has been received for
// the EnquireLink interval, and must be answered within its timeout (else
// ErrLinkDead); nothing received at all for IdleTimeout gives ErrIdle. A
// half-open connection thus ends within EnquireLink + EnquireLinkTimeout.
//
// # Writing
//
// One writer goroutine owns the socket. Senders append whole PDUs to a
// shared buffer; the writer swaps it for a spare and writes it in one
// call, so under load a window's worth of PDUs goes out in a few system
// calls, and nothing is allocated per PDU.
//
// # Ending
//
// Close sends unbind and keeps reading until unbind_resp (or its
// deadline), so responses in flight still reach their callers, as Kannel
// does to avoid duplicates; then it closes the connection and ends what is
// still waiting with ErrClosed. Done and Err say when and why a session
// ended: ErrClosed, ErrUnbound, ErrLinkDead, ErrIdle, ErrUnanswered, a
// *BindError, a *pdu.FramingError (the peer is not speaking SMPP: an HTTP
// server, a TLS port), ErrNotReading or the network's error.
//
// # A hostile peer
//
// Nothing the peer sends can make the session panic, block its reader or
// grow its memory without bound: frames are capped (MaxPDULength), the
// peer's requests by InboundWindow, late responses by MaxUnanswered and
// MaxPendingAge, the answers the session queues on its own by a backlog limit
// (ErrNotReading), and warnings about protocol oddities by a rate limit.
// FuzzSession_peer feeds it arbitrary streams.
package smpp
