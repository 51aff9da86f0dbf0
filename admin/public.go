package admin

import (
	"strings"

	"github.com/smsagent/smsagent"
)

// publicStatus is the snapshot as a caller without the token sees it: the
// same shape with counts, states and times, but none of the free texts,
// which quote phone numbers, message texts and producers' file names
// (a rejected file's reason, a storage error on a claimed file, an SMSC's
// answer). Health lines keep their subject, so a monitor still sees which
// part needs attention. Every text field is classified in statusText
// (public_internal_test.go).
func publicStatus(st smsagent.Status) smsagent.Status {
	p := st
	p.Binds = make([]smsagent.BindStatus, len(st.Binds))
	for i, b := range st.Binds {
		b.LastError = ""
		p.Binds[i] = b
	}
	if st.Webhooks != nil {
		p.Webhooks = make([]smsagent.WebhookStatus, len(st.Webhooks))
	}
	for i, w := range st.Webhooks {
		w.URL, w.LastError = "", ""
		p.Webhooks[i] = w
	}
	if st.Hooks != nil {
		h := *st.Hooks
		h.Command, h.LastError = "", ""
		p.Hooks = &h
	}
	if st.Cluster != nil {
		c := *st.Cluster
		c.Nodes = make([]smsagent.ClusterNode, len(st.Cluster.Nodes))
		for i, n := range st.Cluster.Nodes {
			n.Binds = make([]smsagent.BindStatus, len(n.Binds))
			for j, b := range st.Cluster.Nodes[i].Binds {
				b.LastError = ""
				n.Binds[j] = b
			}
			c.Nodes[i] = n
		}
		p.Cluster = &c
	}
	p.Intake.LastError = ""
	p.Inbox.LastError = ""
	p.Health = make([]string, len(st.Health))
	for i, h := range st.Health {
		p.Health[i] = subject(h)
	}
	p.Redacted = true
	return p
}

// subject is the part of a health line or a readiness reason before the
// first ": ", by convention free of personal data (see smsagent.Status).
func subject(line string) string {
	s, _, _ := strings.Cut(line, ": ")
	return s
}
