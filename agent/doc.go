// Package agent wires smsagent together: spool intake into the outbox, the
// dispatcher from the outbox through the bind pool to the SMSC, receipts and
// incoming SMS from the pool back into the outbox, and the inbox writer.
// `smsagent run`, the service, the demo and the benchmark all start the same
// Agent.
package agent
