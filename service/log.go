package service

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
)

// Event ids of the records the agent writes to the Windows event log. The
// source is registered with EventCreate.exe's message file (by service
// install, through kardianos/service), which only carries ids 1 to 1000.
const (
	eventInfo    = 1
	eventWarning = 2
	eventError   = 3
)

// eventWriter is what eventHandler needs of a Windows event log;
// *eventlog.Log from golang.org/x/sys/windows/svc/eventlog has it.
type eventWriter interface {
	Info(eid uint32, msg string) error
	Warning(eid uint32, msg string) error
	Error(eid uint32, msg string) error
}

// eventHandler writes each log record as one event: the record's message and
// attributes in slog's text form, without the time (every event has one),
// at the event type of its level.
type eventHandler struct {
	w    eventWriter
	mu   *sync.Mutex   // guards buf, shared with derived handlers
	buf  *bytes.Buffer // text's output for the record being handled
	text slog.Handler
}

var _ slog.Handler = (*eventHandler)(nil)

func newEventHandler(w eventWriter, level slog.Leveler) *eventHandler {
	buf := new(bytes.Buffer)
	return &eventHandler{
		w:   w,
		mu:  new(sync.Mutex),
		buf: buf,
		text: slog.NewTextHandler(buf, &slog.HandlerOptions{
			Level: level,
			ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
				if len(groups) == 0 && a.Key == slog.TimeKey {
					return slog.Attr{}
				}
				return a
			},
		}),
	}
}

func (h *eventHandler) Enabled(ctx context.Context, l slog.Level) bool { return h.text.Enabled(ctx, l) }

func (h *eventHandler) Handle(ctx context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.buf.Reset()
	if err := h.text.Handle(ctx, r); err != nil {
		return err
	}
	msg := strings.TrimSuffix(h.buf.String(), "\n")
	switch {
	case r.Level >= slog.LevelError:
		return h.w.Error(eventError, msg)
	case r.Level >= slog.LevelWarn:
		return h.w.Warning(eventWarning, msg)
	}
	return h.w.Info(eventInfo, msg)
}

func (h *eventHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.text = h.text.WithAttrs(attrs)
	return &c
}

func (h *eventHandler) WithGroup(name string) slog.Handler {
	c := *h
	c.text = h.text.WithGroup(name)
	return &c
}
