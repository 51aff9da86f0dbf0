// Package bench measures what one smsagent can push: it runs the agent and
// the SMSC simulator (package smpp/smsc) in one process on loopback, with a
// spool and a database in a temporary folder, drops a workload of message
// files into outgoing/ and times every step a user can see.
//
// What is measured, and from where:
//
//   - End to end: from the first file renamed into outgoing/ to the last
//     message whose submit_sm (SMPP 3.4 §4.4.1) was acknowledged with
//     ESME_ROK (§4.4.2) and whose SMSC id the outbox committed.
//   - Reports: from the same start to the last report file made durable in
//     inbox/ (one per message: its delivery receipt, SMPP 3.4 Appendix B,
//     or the final "sent" report when none was asked for).
//   - Latencies: file->submit from the rename of a message's file to the
//     simulator accepting its first part (Options.OnAccept of the
//     simulator; against another SMSC, from intake to the committed
//     response, agent.Observer.FileToSubmit); submit->response, the round
//     trip the session measured (smpp.Result.RTT); submit->report, from
//     the committed response to the report durable in inbox/
//     (agent.ReportObserver).
//   - Cost: CPU seconds (user + system, getrusage(2); GetProcessTimes on
//     Windows) and the peak resident set (the peak working set on
//     Windows) of the whole process, the simulator included, and the
//     database file's size at the end.
//   - The raw ceiling: the same simulator driven by bare smpp sessions
//     (same sessions and window, receipts acknowledged at once, nothing
//     stored), so that the end-to-end figure can be read against what the
//     SMPP engine and the machine allow.
//
// Every message is durable when it is counted: the agent runs with its
// production settings (group commits with fsync, durable inbox writes).
package bench
