// Package admin is smsagent's local HTTP API: health and readiness probes,
// the Prometheus /metrics endpoint, the agent's status snapshot and the queue
// commands (list, show, retry, cancel) that `smsagent queue` and `smsagent
// status` use while the agent runs, and the status page, a client of the same
// API embedded in the binary (page.go, ui/). HTTP semantics follow RFC 9110; answers
// are JSON (RFC 8259) with times in RFC 3339; authentication is a bearer
// token (RFC 6750 §2.1).
//
// # Endpoints
//
//	GET  /                            the status page (HTML; ui/app.js, ui/app.css)
//	GET  /healthz                     200 "ok" while the process serves
//	GET  /readyz                      200 "ready", or 503 "not ready: <reason>"
//	GET  /metrics                     Prometheus text exposition
//	GET  /api/v1/status               smsagent.Status (without the token: redacted)
//	GET  /api/v1/series               smsagent.Series: the last hour's rates
//	GET  /api/v1/queue/stats          Stats
//	GET  /api/v1/queue?state=S&after=ID&limit=N&order=O    Page (limit 1..1000, default 100; order oldest|newest)
//	GET  /api/v1/queue/{id}           Message
//	POST /api/v1/queue/{id}/retry     Message, as it is after the retry
//	POST /api/v1/queue/{id}/cancel    Message, as it is after the cancel
//	POST /api/v1/queue/retry-failed   {"retried": N}
//	POST /api/v1/messages             202 SubmitAnswer once stored; 400 Refusal
//	GET  /api/v1/messages/{id}        MessageState (with the report once final)
//
// POST /api/v1/messages takes one message object or an array of them
// (Content-Type application/json) or NDJSON (application/x-ndjson), the
// fields and rules of message files; all of a request is stored in one
// commit or none of it. 415 for another type, 413 past
// Options.MaxRequestSize, 503 with Retry-After while the agent stops or
// its database refuses the commit.
//
// Every error is {"error": "a sentence"} with its status: 400 for bad input
// (an id that is not a positive number, an unknown state or parameter), 401
// without a valid token, 403 for a Host that is not loopback on a loopback
// listener, 404 for an unknown message or endpoint, 405 for the wrong method
// (with Allow), 409 when the message's state does not allow the command, 413
// for a body over 64 KiB (over Options.MaxRequestSize for the one call that
// takes a body), 503 while the agent cannot answer. The JSON shapes (Message, Stats, Page) are the CLI's --json output
// too: Local produces them from the store on either side.
//
// # Who may call
//
// The token is admin.token (or admin.token_file) from the configuration;
// without one, New reads admin.token in the state folder, or writes a new
// random one there (256 bits, mode 0600, durably) when it does not exist.
// Calls that change the queue and calls that show messages (numbers and
// texts) always need "Authorization: Bearer <token>". On a loopback
// listener health, readiness, metrics, status and queue counters are open
// to every local account, so what they serve without the token holds no
// personal data: counts, states and times. The status without the token is
// the same shape with every free text left out (the last errors, which
// quote rejected files' names, numbers and texts) and each health line cut
// to its subject (the text before the first ": "), marked "redacted": true;
// the readiness reason is cut the same way. With the token, presented
// to either, the answer is whole; a wrong token is refused (401) rather
// than answered with less. Metric labels are state and status words and
// slot numbers, never SMSC or file text. On a listener that is not loopback
// every call needs the token, and New and Serve refuse such a listener
// unless the token is configured rather than generated. Tokens are compared
// as SHA-256 digests with crypto/subtle.ConstantTimeCompare, so neither the
// length nor a matching prefix shows in the timing. A loopback listener
// answers only requests whose Host is a loopback name, which defeats DNS
// rebinding from a web page.
//
// # TLS
//
// With Options.TLSCert and TLSKey (admin.tls_cert, admin.tls_key) the API
// serves HTTPS only (TLS 1.2 and later). The Client given
// ClientOptions.TLSCert, as the CLI is on the agent's machine, accepts only
// a server presenting the first certificate of that file: the pin needs no
// CA and no name matching the address dialled, and a replaced certificate
// fails with a *CertificateError until the agent restarts with it. Other
// clients verify the certificate as usual (curl --cacert).
//
// Nothing served carries a secret: the status snapshot has none, the token
// is never echoed, and answers are marked Cache-Control: no-store.
package admin
