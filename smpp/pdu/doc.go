// Package pdu is the SMPP 3.4 wire format: the PDU header, command ids,
// command_status values with their retry classes, every 3.4 PDU as a Go
// type, TLVs, stream framing and the SMPP time format. It imports only the
// standard library and knows nothing of sessions, windows or timers; the
// smpp package builds the ESME session on it and smpp/smsc the simulator.
//
// Section numbers refer to the Short Message Peer to Peer Protocol
// Specification v3.4, Issue 1.2 (12 October 1999):
//
//   - §3.1, §3.2: C-Octet Strings (their sizes include the NUL), the header
//     (Header, ParseHeader) and the TLV part.
//   - §4.1-§4.12: the PDUs, request and response: Bind and BindResp (the
//     three bind modes share one type each), Outbind, Unbind, UnbindResp,
//     GenericNack, SubmitSM, SubmitSMResp, SubmitMulti, SubmitMultiResp,
//     DeliverSM, DeliverSMResp, DataSM, DataSMResp, QuerySM, QuerySMResp,
//     CancelSM, CancelSMResp, ReplaceSM, ReplaceSMResp, EnquireLink,
//     EnquireLinkResp, AlertNotification. Fields follow the spec's tables in
//     order, with the spec's maximum sizes.
//   - §5.1.2.1 command ids (CommandID), §5.1.3 command_status (Status,
//     Class), §5.2 field values (TON, NPI, ESMClass, RegisteredDelivery,
//     DataCoding, MessageState with SMPP 5.0's SCHEDULED and SKIPPED).
//   - §5.3: TLVs (TLV, TLVs, Tag): every 3.4 tag by name with its length
//     rule, typed accessors for the tags the agent uses, unknown and vendor
//     tags (0x1400-0x3FFF) kept in order and sent back unchanged.
//   - §7.1.1: absolute and relative times (ParseTime, FormatTime,
//     FormatDuration).
//
// # Encoding
//
// Append(dst, p, status, seq) appends a whole PDU to a caller's buffer and
// fills in command_length; with a reused buffer it does not allocate.
// Values the spec does not allow are refused with an *EncodeError that
// names the field: a string over its maximum, a NUL inside a C-Octet
// String, a time that is not 16 characters, short_message over 254 octets,
// a known TLV of the wrong length. Nothing is ever cut to fit. An error
// response with an empty body (NewResponse(req) with a non-zero status) is
// sent as the bare 16-octet header (§4.1.2, §4.4.2).
//
// # Reading and decoding
//
// A Reader cuts a stream into frames. It checks command_length against 16
// and a maximum (DefaultMaxLength: a full message_payload fits) before it
// allocates, recognises a peer that speaks HTTP or TLS, and reuses its
// buffer. ParseHeader reads a frame's header without touching the body;
// DecodeBody (or Decode, for a whole frame) turns the body into the type
// for its command id.
//
// Decoding copies: strings always, byte slices (short_message, TLV values)
// unless Decoder.AliasBytes is set, so a decoded PDU outlives the Reader's
// buffer. The copies are made in bulk (one string for all of a PDU's
// C-Octet Strings, one buffer for its octet fields), which keeps a
// submit_sm decode at three allocations (the struct, its strings, its
// octets) and one more for a TLV list. With AliasBytes the byte slices
// point into the frame: cheaper, and only safe when the caller is done
// with the PDU before reading the next frame.
//
// # What is accepted beyond 3.4
//
// Decoding is as strict as the spec, except where SMSCs commonly deviate
// and nothing is lost by listening: a response that may go without a body
// decodes from an empty one whatever its status; submit_sm_resp,
// submit_multi_resp, deliver_sm_resp and replace_sm may carry TLVs (SMPP
// 5.0); C-Octet String TLVs such as receipted_message_id are read with or
// without their NUL; message_state 0 and 9, congestion_state and the 5.0
// sizes of alert_on_message_delivery and ms_validity are known. Anything
// else outside 3.4 is an error carrying the status to answer it with.
//
// # Errors and how to answer them
//
// A read or decode failure says how the session should answer (Action,
// AppendReply), following §4.3 and the rules other implementations learnt
// the hard way:
//
//   - *FramingError (command_length below 16 or above the maximum, HTTP,
//     TLS): framing is lost. Send generic_nack ESME_RINVCMDLEN with sequence
//     0 and close (ActionClose).
//   - *DecodeError for an unknown command_id: generic_nack ESME_RINVCMDID
//     with the same sequence number, and carry on (ActionGenericNack).
//   - *DecodeError for a malformed body of a known request: that request's
//     response with the most specific status (ESME_RINVSRCADR for
//     source_addr, ESME_RINVMSGLEN for sm_length, ESME_RINVOPTPARSTREAM or
//     ESME_RINVPARLEN for TLVs, ...), header only (ActionRespond).
//   - *DecodeError for a response, outbind or alert_notification: send
//     nothing, log it (ActionDrop). Its Header is still valid.
//
// Every *DecodeError carries the header as read.
//
// A session's reading loop, in short (ExampleReader has it in full):
//
//	r := pdu.NewReader(conn, 0)
//	for {
//		frame, err := r.ReadFrame() // a *FramingError: send its reply, close
//		...
//		h, p, err := pdu.Decode(frame)
//		var de *pdu.DecodeError
//		if errors.As(err, &de) {
//			if reply, ok := de.AppendReply(out[:0]); ok { ... write reply ... }
//			continue
//		}
//		switch p := p.(type) {
//		case *pdu.EnquireLink:
//			out, _ = pdu.Append(out[:0], &pdu.EnquireLinkResp{}, pdu.StatusOK, h.Sequence)
//		...
//		}
//	}
//
// Sequence numbers are the session's business; this package writes and
// reads any 32-bit value, 0 and values over 0x7FFFFFFF included, because
// peers send them.
package pdu
