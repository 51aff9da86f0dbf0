package smsagent

import "time"

// Status is a snapshot of a running agent: what `smsagent status` prints and
// what /metrics exports as gauges. The agent builds it; the admin API
// serves it.
type Status struct {
	Version string       `json:"version"`
	Started time.Time    `json:"started_at"`
	Binds   []BindStatus `json:"binds"`
	SMSC    SMSCStatus   `json:"smsc"`
	// SMSCs lists the accounts with their failover state, in
	// configuration order; Binds names the account of each slot.
	SMSCs  []AccountStatus `json:"smscs"`
	Queue  QueueStatus     `json:"queue"`
	Intake IntakeStatus    `json:"intake"`
	Inbox  InboxStatus     `json:"inbox"`
	// Webhooks lists the configured webhooks and their calls.
	Webhooks []WebhookStatus `json:"webhooks"`
	// Hooks is the event command's runs; nil without hooks.command.
	Hooks *HookStatus `json:"hooks,omitempty"`
	// Cluster is this node's part of a cluster (store backend
	// jetstream); nil with bbolt.
	Cluster *ClusterStatus `json:"cluster,omitempty"`
	Rates   Rates          `json:"rates"`
	// Health lists conditions an operator must act on, one readable line
	// each ("smsc: bad credentials, not reconnecting", "intake stalled: no
	// space left on device"). Empty when all is well. A line is
	// "subject: detail": the subject, before the first ": ", is shown to
	// callers without the admin token and must name no number, text or
	// file; the detail may.
	Health []string `json:"health"`
	// Redacted is set on the view served without the admin token: counts,
	// states and times only, without the last errors and with each health
	// line cut to its subject.
	Redacted bool `json:"redacted,omitempty"`
}

// SMSCStatus describes the SMSC account as a whole.
type SMSCStatus struct {
	// CredentialsRefused is set while the SMSC refuses the account's
	// credentials; RefusedSince is when that began, Refusals the binds it
	// refused since. CredentialRefusals counts every bind refused for the
	// credentials since the agent started.
	CredentialsRefused bool      `json:"credentials_refused"`
	RefusedSince       time.Time `json:"credentials_refused_since,omitzero"`
	Refusals           uint64    `json:"refused_binds,omitempty"`
	CredentialRefusals uint64    `json:"credential_refusals"`
}

// WebhookStatus is one webhook: its calls since the start, and the last
// failure. Failing is set while its last call failed.
type WebhookStatus struct {
	URL         string    `json:"url"`
	Delivered   uint64    `json:"delivered"`
	Retried     uint64    `json:"retried"`
	GivenUp     uint64    `json:"given_up"`
	Failing     bool      `json:"failing"`
	LastError   string    `json:"last_error,omitempty"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
}

// HookStatus is the event command (hooks.command): its runs since the
// start and the last failure. Failing is set while its last run failed.
type HookStatus struct {
	Command     string    `json:"command"` // the program
	Running     int       `json:"running"`
	Ran         uint64    `json:"ran"`
	Retried     uint64    `json:"retried"`
	GivenUp     uint64    `json:"given_up"`
	Failing     bool      `json:"failing"`
	LastRunAt   time.Time `json:"last_run_at,omitzero"`
	LastError   string    `json:"last_error,omitempty"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
}

// AccountStatus is one SMSC account: up (messages routed to it go to it)
// or down (no session bound for failover.after: they go to the next
// account of their route, FailingOverTo).
type AccountStatus struct {
	Name  string    `json:"name"`
	State string    `json:"state"` // up | down
	Since time.Time `json:"since"`
	// Bound is the number of its sessions bound right now.
	Bound              int    `json:"bound"`
	FailingOverTo      string `json:"failing_over_to,omitempty"`
	CredentialsRefused bool   `json:"credentials_refused,omitempty"`
	// StalledSince is set while the account takes no message (its windows
	// full and nothing answered): its messages wait in the queue, the
	// other accounts' go out. It stays up meanwhile.
	StalledSince time.Time `json:"stalled_since,omitzero"`
}

// BindStatus describes one SMPP session slot of the bind pool.
type BindStatus struct {
	SMSC        string    `json:"smsc"` // the account
	Slot        int       `json:"slot"`
	Mode        string    `json:"mode"`  // transceiver | transmitter | receiver
	State       string    `json:"state"` // connecting | bound | backoff | auth-failed | closed
	Since       time.Time `json:"since"`
	LastError   string    `json:"last_error,omitempty"`
	Outstanding int       `json:"outstanding"`
	Submitted   uint64    `json:"submitted"`
	Reconnects  uint64    `json:"reconnects"`
	Throttled   uint64    `json:"throttled"`
}

// QueueStatus counts messages by state word (see State.String) and the part
// of "sent" still waiting for a receipt.
type QueueStatus struct {
	ByState  map[string]int `json:"by_state"`
	Awaiting int            `json:"awaiting_receipt"`
}

// IntakeStatus describes the spool intake.
type IntakeStatus struct {
	FilesTaken    uint64 `json:"files_taken"`
	FilesRejected uint64 `json:"files_rejected"`
	Messages      uint64 `json:"messages"`
	Duplicates    uint64 `json:"duplicates"`
	Pending       int    `json:"pending"`
	Stalled       bool   `json:"stalled"`
	// StuckWorkers counts the workers on one file for over a minute.
	StuckWorkers int    `json:"stuck_workers"`
	LastError    string `json:"last_error,omitempty"`
}

// InboxStatus describes the inbox writer.
type InboxStatus struct {
	Backlog   int    `json:"backlog"` // events not yet written
	Written   uint64 `json:"written"`
	LastError string `json:"last_error,omitempty"`
}

// Rates are per-second averages over the last minute.
type Rates struct {
	FilesPerSec    float64 `json:"files_per_sec"`
	SubmitsPerSec  float64 `json:"submits_per_sec"`
	ReceiptsPerSec float64 `json:"receipts_per_sec"`
}

// Series is the agent's recent activity, for the status page's charts:
// per-second rates over consecutive steps of the last hour, oldest first,
// kept in memory (not across restarts). Times are the ends of the steps;
// the last point is the step in progress.
type Series struct {
	StepSeconds int         `json:"step_seconds"`
	Times       []time.Time `json:"times"`
	Submits     []float64   `json:"submits_per_sec"`
	Receipts    []float64   `json:"receipts_per_sec"`
	MO          []float64   `json:"mo_per_sec"`
	Files       []float64   `json:"files_per_sec"`
}

// ClusterStatus is a node's view of the cluster it shares a queue with.
type ClusterStatus struct {
	Node  string `json:"node"`
	Ready bool   `json:"ready"`
	// Queued is the messages in the shared queue that no node holds yet
	// (-1 when the cluster did not answer).
	Queued int64 `json:"queued"`
	// Held is the messages this node took and has not finished; Taken and
	// Released count since the start (released: given back for another
	// node).
	Held      int       `json:"held"`
	Taken     uint64    `json:"taken"`
	Released  uint64    `json:"released"`
	LastRenew time.Time `json:"last_renew,omitzero"`
	// What crossed between this node and the others since it started:
	// receipts that arrived here for messages another node holds (out) and
	// from other nodes (in); reports and incoming SMS sent to another
	// node's inbox/ (out) and received for this one (in).
	ReceiptsOut uint64 `json:"receipts_out"`
	ReceiptsIn  uint64 `json:"receipts_in"`
	EventsOut   uint64 `json:"events_out"`
	EventsIn    uint64 `json:"events_in"`
	// Nodes are the nodes as they announced themselves last (every 5 s),
	// this one included.
	Nodes []ClusterNode `json:"nodes"`
}

// ClusterNode is what a node of a cluster tells the others about itself.
type ClusterNode struct {
	Node    string    `json:"node"`
	Version string    `json:"version"`
	Seen    time.Time `json:"seen"`
	// Bound is the node's SMSC sessions bound, Sessions those configured.
	Bound    int `json:"bound"`
	Sessions int `json:"sessions"`
	// Held, Taken and Released are as in ClusterStatus.
	Held     int    `json:"held"`
	Taken    uint64 `json:"taken"`
	Released uint64 `json:"released"`
	// Outbox is its local outbox by state.
	Outbox map[string]int `json:"outbox"`
	// Binds are its SMSC sessions.
	Binds []BindStatus `json:"binds"`
}
