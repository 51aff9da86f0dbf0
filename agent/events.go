package agent

import (
	"context"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/inbox"
	"github.com/smsagent/smsagent/outbox"
)

// eventSource is the outbox as the inbox writer sees it: what it reports
// written is counted for the metrics and owes the event command's runs.
// The writer reads events, writes them, then reports them, on its one
// goroutine. What the reports need of an event read is kept by sequence
// until it is reported written: a page, or with NDJSON a batch, which
// may span several reads (so nothing is cleared at a read).
type eventSource struct {
	store *outbox.Store
	obs   Observer
	rates *rates         // counts the incoming SMS written, for the charts
	mo    map[uint64]int // complete incoming SMS read: seq → parts
	// reports are the reports read by seq, kept only for a ReportObserver
	// (reportObs not nil).
	reportObs ReportObserver
	reports   map[uint64]*smsagent.Report
	// hook is the event command; hooked the events read it runs for.
	hook   *eventHook
	hooked map[uint64]*smsagent.Event
	// forward, when set (store backend jetstream), sends the events that
	// belong in other nodes' inbox/ there and returns the others.
	forward func(ctx context.Context, evs []smsagent.Event) ([]smsagent.Event, error)
}

func (s *eventSource) Events(ctx context.Context, after uint64, max int) ([]smsagent.Event, error) {
	evs, err := s.store.Events(ctx, after, max)
	for err == nil && s.forward != nil && len(evs) > 0 {
		full, last := len(evs) == max, evs[len(evs)-1].Seq
		if evs, err = s.forward(ctx, evs); err != nil || len(evs) > 0 || !full {
			break
		}
		// A page of other nodes' events only: the next page, so the
		// writer does not wait for a wake-up with events pending.
		evs, err = s.store.Events(ctx, last, max)
	}
	for i := range evs {
		e := &evs[i]
		if s.hook.takes(e.Kind) {
			if s.hooked == nil {
				s.hooked = make(map[uint64]*smsagent.Event)
			}
			s.hooked[e.Seq] = e
		}
		if s.reportObs != nil && e.Kind == smsagent.EventReport && e.Report != nil {
			if s.reports == nil {
				s.reports = make(map[uint64]*smsagent.Report)
			}
			s.reports[e.Seq] = e.Report
		}
		if e.Kind == smsagent.EventMO && e.MO != nil && !e.MO.Incomplete {
			if s.mo == nil {
				s.mo = make(map[uint64]int)
			}
			s.mo[e.Seq] = e.MO.Parts
		}
	}
	return evs, err
}

func (s *eventSource) EventsWritten(ctx context.Context, seqs []uint64, files []string) error {
	var runs []outbox.HookRun
	for i, seq := range seqs {
		if e, ok := s.hooked[seq]; ok && files[i] != "" {
			runs = append(runs, s.hook.runFor(e, files[i]))
		}
	}
	if err := s.store.EventsWritten(ctx, seqs, runs...); err != nil {
		return err
	}
	s.obs.ReportsWritten(len(seqs))
	for _, seq := range seqs {
		delete(s.hooked, seq)
		if parts, ok := s.mo[seq]; ok {
			s.obs.MOReceived(parts)
			s.rates.mo.Add(1)
			delete(s.mo, seq)
		}
		if r, ok := s.reports[seq]; ok {
			s.reportObs.ReportWritten(r)
			delete(s.reports, seq)
		}
	}
	return nil
}

var _ inbox.Source = (*eventSource)(nil)
