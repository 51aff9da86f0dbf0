// Package dlr reads SMPP delivery receipts and correlates them with the
// messages they report on.
//
// # Recognising a receipt
//
// A deliver_sm or data_sm is a receipt when bits 5-2 of its esm_class (SMPP
// 3.4 §5.2.12, mask 0x3C) say SMSC delivery receipt (0x04), SME delivery
// acknowledgement (0x08), SME manual/user acknowledgement (0x10) or
// intermediate delivery notification (0x20). IsReceipt and KindOf test the
// bits by mask: the other bits vary (0x44 is a receipt with a header).
//
// # Reading it
//
// The receipt text has no standard; SMPP 3.4 Appendix B gives an example
// that SMSCs vary freely:
//
//	id:IIIIIIIIII sub:SSS dlvrd:DDD submit date:YYMMDDhhmm done date:YYMMDDhhmm stat:DDDDDDD err:E Text:...
//
// ParseText reads it field by field: labels in any letter case and any
// order, every field optional except id, values padded or not ("sub:1
// err:0"), dates of 10, 12 or 14 digits, err kept as the string sent
// ("000", "0000", "0"), "text:" taking the rest. The id must be 1 to 65
// characters of [0-9A-Za-z_.:-].
//
// Parse adds what the PDU says besides the text, and the TLVs win:
// receipted_message_id (§5.3.2.12, trailing NUL stripped) over the text's
// id, message_state (§5.3.2.35, values 1-9) over the stat word;
// network_error_code (§5.3.2.31) is rendered like "GSM:0x0001" and kept raw.
// The text is read as ASCII/Latin-1 first and as UCS-2 only when that finds
// no id, because SMSCs send ASCII receipts labelled data_coding 8. A receipt
// with TLVs only and an empty short_message is a receipt all the same.
//
// # Status
//
// The stat word (any letter case) and the message_state value map to a
// Status; the raw stat and err are always kept in Receipt.Fields.
//
//	stat word                                  message_state     status           final
//	DELIVRD, DELIVERED                         2 DELIVERED       delivered        yes
//	UNDELIV, UNDELIVERABLE                     5 UNDELIVERABLE   undeliverable    yes
//	EXPIRED                                    3 EXPIRED         expired          yes
//	REJECTD, REJECTED                          8 REJECTED        rejected         yes
//	DELETED, UNKNOWN, FAILED, SKIPPED          4, 7, 9           failed           yes
//	ACCEPTD, ACCEPTED, ENROUTE, ACKED,         1 ENROUTE,        intermediate     no
//	BUFFRED, BUFFERD, BUFFERED, SCHEDULED      6 ACCEPTED
//	any other word                             -                 failed           yes
//
// An unrecognised word is final "failed" with a Reason that names it, as
// Kannel does: waiting forever for a word nobody can read helps no one. A
// valid message_state overrides it. A message_state outside 1-9 is ignored
// and the text decides: SMPP 5.0's SCHEDULED (0) is not taken, lest a zero
// filler hide a DELIVRD. A receipt with neither stat nor message_state is
// intermediate for an intermediate notification, delivered for an SME
// acknowledgement (the recipient itself answered) and failed otherwise.
// ACCEPTD, final in SMPP 3.4 ("read on behalf of the subscriber"), is
// intermediate here as in Kannel, because SMSCs send it when they took the
// message, before the final receipt.
//
// The final status words are the names of the smsagent domain states; an
// intermediate receipt leaves a part in state "sent" and records the stat.
//
// # Correlation
//
// SMSCs write one id differently in submit_sm_resp and in the receipt:
// hexadecimal in one and decimal in the other, with or without leading
// zeros, in either letter case, and beyond 64 bits. Key is the canonical
// form the agent stores a submit_sm_resp id under; Candidates lists the keys
// to look a receipt id up by, in order, under a Rule chosen per SMSC.
//
// The package imports only the standard library; it does not depend on the
// PDU codec: the agent passes the few values it needs in Input.
package dlr
