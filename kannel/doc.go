// Package kannel serves Kannel's sendsms HTTP interface (Kannel 1.4.5 user
// guide, "Sending SMS via HTTP"; smsbox's answers as Kannel 1.4.5's
// gw/smsbox.c gives them) in front of the agent's intake, so that a program
// written for Kannel sends through smsagent with only the host and port
// changed, and gets smsagent's durability: a 202 is answered only after the
// messages are committed.
//
// # Requests
//
// GET (or HEAD) /cgi-bin/sendsms reads the query string; POST reads the
// body as the text (Content-Type text/plain, its charset parameter naming
// the text's charset) with the other fields in X-Kannel-* headers, and
// ignores the query string, as smsbox does. Honoured: username (user),
// password (pass), to (several numbers separated by spaces, each made of
// "0123456789 +-"), from (or the user's default_from), text, charset
// (UTF-8, ISO-8859-1, UTF-16BE), coding (0: GSM 7-bit, 2: UCS-2; absent:
// whatever the text needs), udh (URL-encoded, its first octet the length of
// the rest, with coding given), mclass 0 (a flash SMS), validity and
// deferred (minutes), priority (0 normal, 1-3 high), dlr-mask and dlr-url
// (a GET of the URL with Kannel's escapes for each event the mask selects,
// made durably by the agent: outbox.KannelURL). Every message asks
// the SMSC for a delivery receipt, as message files do by default, and its
// final report is written to inbox/ like every other.
//
// Refused with Kannel's error form rather than ignored, because smsagent
// cannot honour them: coding 1 (8-bit data), mclass 1-3, a dlr-mask
// without a dlr-url (users have no dlr-url of their own), smsc, mwi, compress,
// alt-dcs, rpi, pid, account, binfo, meta-data, and POST bodies in XML
// (415) or of any other type (400).
//
// # Answers
//
// As smsbox, in text/html with no trailing line end: 202 "0: Accepted for
// delivery" (one line per recipient), 403 "Authorization failed for
// sendsms", 400 with Kannel's wording for a missing or bad field (and, for
// a message the agent's checks refuse, their reason followed by
// ", rejected"), 503 "Temporal failure, try again later." while the agent
// stops or its database refuses the commit. smsbox returns no message id,
// and neither does this.
package kannel
