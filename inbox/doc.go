// Package inbox writes the agent's events (final delivery reports, incoming
// SMS, duplicate notices) as files into the spool's inbox/ folder, one file
// per event, durably and exactly once per name.
//
// Render turns one smsagent.Event into a file name and content. The default
// format is JSON (RFC 8259): the Report, MO or Duplicate struct indented by
// two spaces, with every string escaped by encoding/json, so control
// characters and invalid UTF-8 sent by an SMSC come out as \u escapes or
// U+FFFD and never raw. FormatSMSTools writes the smstools3 text layout for
// drop-in migrations (smstools 3.1.21 doc/fileformat.html, "Status report"
// and "Received message"): a header block, a blank line, and for reports the
// lines "SMS STATUS REPORT", "Message_id:", "Discharge_timestamp:" and
// "Status: <code>,<text>", where the code is the TP-Status of 3GPP TS 23.040
// §9.2.3.15 mapped from the agent's status and the receipt's stat word
// (SMPP 3.4 Appendix B). Times in that layout are UTC in smstools' default
// "yy-mm-dd HH:MM:SS" form.
//
// File names come only from Event.FileName (our timestamp, our id, the
// event's kind), never from a string an SMSC or a submitter chose, and are
// checked against the rules of every file system we run on (no Windows
// device names, none of <>:"/\|?*, no trailing dot or space).
//
// Writer drains an event Source page by page. Each page is written as one
// batch: temporary files in Options.TmpDir (a private folder outside the
// inbox, which producers may write) are written and fsynced by a small
// fixed pool of workers, renamed into inbox/, and inbox/ is fsynced once;
// only then does the Source hear that the events are written. A crash at any
// point before that leaves the events in the Source, and the next run writes
// them again under the same names with the same content, replacing whatever
// part of the batch had already arrived. TmpDir is emptied at start,
// without following links, after it is checked to be the agent's own.
package inbox
