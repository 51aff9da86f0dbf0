// Package msgfile reads the message files users drop into the spool's
// outgoing/ folder and turns them into smsagent.Messages. It touches no file
// system: callers hand it a reader and the file's name, and the name's
// extension picks the format.
//
//   - .json: one message object, or an array of them (RFC 8259).
//   - .ndjson and .jsonl: one message object per line (the NDJSON / JSON
//     Lines convention: UTF-8, "\n" or "\r\n" line ends); blank lines are
//     allowed. ScanNDJSON streams such files one line at a time.
//   - .sms, .txt or no extension: the smstools3 text format (smstools 3.1.21
//     doc/fileformat.html): "Name: value" header lines, a blank line, the
//     body.
//
// # All or nothing
//
// A file is accepted whole or not at all. Every entry is parsed and
// validated even after the first problem, and a *FileError lists each
// problem with its line (and for a JSON array the entry's position) and the
// field or header at fault, so a person can fix the file in one go. The list
// is capped at MaxProblems; the rest are only counted. Any other error is a
// failure to read, not a verdict on the file.
//
// # JSON fields
//
// Field names are exact and case-sensitive; an unknown or repeated field is
// an error. "to" (a number, or an array of numbers: one message per
// recipient, all carrying the same "id") and "text" are required. Optional:
// "from", "id", "report" (default true), "encoding" (auto, gsm7, ucs2,
// latin1), "flash", "validity" (a Go duration with an extra leading "d"
// unit for days: "90m", "2d", "1d12h"), "send_at" (RFC 3339 with a zone),
// "priority" ("high" or "normal") and "meta" (a JSON object kept byte for
// byte). null counts as absent. Strings must be valid UTF-8 without lone
// UTF-16 surrogate escapes: encoding/json would silently turn both into
// U+FFFD, so they are rejected here instead.
//
// # smstools3 compatibility
//
// Header names are case-sensitive as in smstools (Options.FoldHeaderCase
// relaxes this), values are trimmed of blanks and control characters, the
// last of a repeated header wins, CRLF line ends are accepted, a UTF-8 byte
// order mark is skipped (the input is never rewritten), trailing 0x1A bytes
// are dropped and trailing white space is trimmed from the body unless that
// would empty it. Booleans are true when the value starts with 1, y, Y, t or
// T, or is on/On.
//
// To: follows smstools: a leading + or 00 is dropped, spaces and dashes are
// removed, a number is international unless it starts with a single 0 (no
// country code does) or with "s" (a short number), and To_TOA: overrides
// that. Where smstools is silently lenient, msgfile refuses: any other
// character in To: is an error (smstools ends the number there), and so is
// an invalid Validity: (smstools ignores it). Validity: takes the relative
// validity-period octet of 3GPP TS 23.040 §9.2.3.12.1 (0-255) or
// "<n> min|hour|day|week|month|year". Headers that would change what is
// sent if ignored (Binary, Hex, Text_is_pdu, Voicecall, Ping, System_message
// when true; Include, Macro and DCS_hex always) are refused with a reason;
// other known headers that have no meaning over SMPP are ignored with a
// warning, and unknown headers are ignored with a warning naming the file
// and the header. Unlike smstools, a file without a Report: header asks for a
// delivery receipt, as a JSON message does.
//
// A body's CRLF line ends become LF, so a file saved on Windows sends the
// same SMS as one saved on Linux. Bodies are UTF-8 unless Alphabet: says
// otherwise (ISO/Latin/ANSI: ISO-8859-15, sent as GSM 7-bit when it fits;
// UCS/Unicode/Chinese: UTF-16BE, sent as UCS-2; GSM: the GSM 7-bit default
// alphabet of 3GPP TS 23.038 §6.2.1, one septet per byte with 0x1B escapes,
// sent as GSM 7-bit)
// or Options.SMSToolsCharset makes ISO-8859-15 the default, as it is in
// smstools.
package msgfile
