package smpp

import (
	"context"
	"log/slog"

	"github.com/smsagent/smsagent/smpp/pdu"
)

// trace reports one PDU to OnPDU and, at debug level, to the log. Bind
// passwords never reach the log.
func (s *Session) trace(dir Direction, h pdu.Header, p pdu.PDU) {
	if s.opts.OnPDU != nil {
		s.opts.OnPDU(dir, h)
	}
	if !s.log.Enabled(context.Background(), slog.LevelDebug) {
		return
	}
	attrs := []slog.Attr{
		slog.String("dir", dir.String()),
		slog.String("cmd", h.ID.String()),
		slog.Uint64("seq", uint64(h.Sequence)),
		slog.String("status", h.Status.String()),
		slog.Uint64("len", uint64(h.Length)),
	}
	if p != nil {
		if b, ok := p.(*pdu.Bind); ok {
			redacted := *b
			if redacted.Password != "" {
				redacted.Password = "********"
			}
			p = &redacted
		}
		attrs = append(attrs, slog.Any("body", p))
	}
	s.log.LogAttrs(context.Background(), slog.LevelDebug, "smpp pdu", attrs...)
}

// traceLocked is trace called with mu held, which keeps the log in wire
// order; it takes no lock of its own.
func (s *Session) traceLocked(dir Direction, h pdu.Header, p pdu.PDU) { s.trace(dir, h, p) }
