package bench

import (
	"sync/atomic"
	"time"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/agent"
	"github.com/smsagent/smsagent/smpp/smsc"
)

// recorder is the run's agent.Observer and the simulator's OnAccept hook.
// Every method is called from a hot path of the agent or the simulator:
// atomics only, no locks, no allocation.
type recorder struct {
	agent.NopObserver // the events it does not time

	epoch time.Time
	// dropped[i] is when message i's file was renamed into outgoing/, in
	// nanoseconds since epoch; swapped to 0 by its first accepted part.
	dropped []atomic.Int64

	fileToSubmit histogram // rename → the simulator accepts the first part
	fromIntake   histogram // intake → the first part's response committed
	rtt          histogram
	toReport     histogram // committed submit_sm_resp → report durable in inbox/

	reports  atomic.Int64
	refused  atomic.Int64 // responses other than ESME_ROK
	timedOut atomic.Int64
	rejected atomic.Int64 // files moved to failed/
}

func newRecorder(n int) *recorder {
	return &recorder{epoch: time.Now(), dropped: make([]atomic.Int64, n)}
}

// since is the time since epoch, never 0 (0 marks a message not dropped
// or already seen).
func (r *recorder) since() int64 { return max(int64(time.Since(r.epoch)), 1) }

// drop marks messages [from, to) renamed in now.
func (r *recorder) drop(from, to int) {
	t := r.since()
	for i := from; i < to; i++ {
		r.dropped[i].Store(t)
	}
}

// accepted is the simulator's OnAccept.
func (r *recorder) accepted(sub *smsc.Submit) {
	i := messageIndex(sub.Dest.Addr)
	if i < 0 || i >= len(r.dropped) {
		return
	}
	if t := r.dropped[i].Swap(0); t > 0 {
		r.fileToSubmit.Record(time.Duration(r.since() - t))
	}
}

func (r *recorder) FileRejected() { r.rejected.Add(1) }
func (r *recorder) SubmitDone(_, status string, rtt time.Duration) {
	r.rtt.Record(rtt)
	if status != "ESME_ROK" {
		r.refused.Add(1)
	}
}
func (r *recorder) SubmitTimedOut()              { r.timedOut.Add(1) }
func (r *recorder) FileToSubmit(d time.Duration) { r.fromIntake.Record(d) }
func (r *recorder) ReportsWritten(n int)         { r.reports.Add(int64(n)) }

// ReportWritten times a report from its message's committed
// submit_sm_resp (Report.Submitted, the agent's clock, which is this
// process's) to its file being durable.
func (r *recorder) ReportWritten(rep *smsagent.Report) {
	if rep.Submitted != nil {
		r.toReport.Record(time.Since(*rep.Submitted))
	}
}

var _ agent.ReportObserver = (*recorder)(nil)
