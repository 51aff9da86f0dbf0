package agent

import (
	"context"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/inbox"
	"github.com/smsagent/smsagent/outbox"
)

// eventSource is the outbox as the inbox writer sees it: what it reports
// written is counted for the metrics. The writer reads a page, writes it,
// then reports it, one page at a time, on its one goroutine.
type eventSource struct {
	store *outbox.Store
	obs   Observer
	mo    map[uint64]int // complete incoming SMS of the page: seq → parts
	// reports are the page's reports by seq, kept only for a
	// ReportObserver (reportObs not nil).
	reportObs ReportObserver
	reports   map[uint64]*smsagent.Report
}

func (s *eventSource) Events(ctx context.Context, after uint64, max int) ([]smsagent.Event, error) {
	evs, err := s.store.Events(ctx, after, max)
	clear(s.mo)
	clear(s.reports)
	for _, e := range evs {
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

func (s *eventSource) EventsWritten(ctx context.Context, seqs []uint64) error {
	if err := s.store.EventsWritten(ctx, seqs); err != nil {
		return err
	}
	s.obs.ReportsWritten(len(seqs))
	for _, seq := range seqs {
		if parts, ok := s.mo[seq]; ok {
			s.obs.MOReceived(parts)
		}
		if r, ok := s.reports[seq]; ok {
			s.reportObs.ReportWritten(r)
		}
	}
	return nil
}

var _ inbox.Source = (*eventSource)(nil)
