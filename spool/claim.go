package spool

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/smsagent/smsagent/internal/fsutil"
)

// Backoff of retries while intake is stalled (the outbox refuses batches,
// failed/ cannot be written, a folder cannot be fsynced).
const (
	firstBackoff = time.Second
	maxBackoff   = time.Minute
)

// job is one claimed file, from the claim to the end of its processing. The
// loop owns it except while a worker holds it; the jobs and results channels
// hand it over.
type job struct {
	claim string // name in .work/
	name  string // name it had in outgoing/
	// size and mtime are the last stat seen; known says that the decision to
	// claim rested on them, so a different stat at open means the file was
	// still being written.
	size  int64
	mtime time.Time
	known bool
	// recovered: found in .work/ at start, or its taken-record may exist;
	// ask Store.Taken before processing.
	recovered bool
	// interrupted: found in .work/ at start with its taking marker: the
	// agent died while taking it (markTaking).
	interrupted bool
	// restat: the file changed while being taken; take it only after its
	// mtime is older than Settle.
	restat    bool
	attempts  int
	notBefore time.Time
	budget    int64 // bytes counted against the parse budget; loop only
	waitStall bool  // held back until the stall clears
	probe     bool  // dispatched alone to test whether a stall has cleared
}

type outcome uint8

const (
	outDone      outcome = iota // stored, quarantined, or finished after a crash
	outGone                     // the claimed file vanished; nothing was done
	outStopped                  // the run is ending; the file stays in .work/
	outStall                    // the outbox or failed/ refused: stall and retry with backoff
	outRetryFile                // file busy or still changing: retry later, intake goes on
)

type result struct {
	job *job
	out outcome
	err error
}

// pump claims ready files when the workers run low. Waiting for the low
// water mark lets the two folder fsyncs of one claim round serve many files.
func (l *loop) pump() {
	if l.more && len(l.pending) <= maxPending/2 {
		l.more = false
		l.scan()
	}
	if l.stall != nil || l.ready.Len() == 0 || l.inflight > l.lowWater() {
		return
	}
	l.claimRound(l.highWater() - l.inflight)
}

// claimRound renames up to room ready files into .work/ and makes the
// renames durable before any of them is processed.
//
// Crash story: a crash before a rename leaves the file in outgoing/; after
// it, in .work/, where the next run finds it. The folders are fsynced before
// Enqueue can commit the claim's taken-record: were the rename lost in a
// power cut after that commit, the file would come back in outgoing/ and be
// stored again under a new claim.
func (l *loop) claimRound(room int) {
	now := l.now()
	var claimed []*job
	for room > 0 && l.ready.Len() > 0 {
		c := heap.Pop(&l.ready).(*candidate)
		c.inHeap = false
		if l.pending[c.name] != c || c.state != stReady {
			continue
		}
		if l.isLocked(c.name) {
			l.toSettle(c, now)
			continue
		}
		delete(l.pending, c.name)
		claim := l.claims.next(now, c.name)
		err := os.Rename(filepath.Join(l.opts.Layout.Outgoing, c.name), filepath.Join(l.opts.Layout.Work, claim))
		switch {
		case err == nil:
			claimed = append(claimed, &job{claim: claim, name: c.name, size: c.size, mtime: c.mtime, known: true})
			room--
		case errors.Is(err, fs.ErrNotExist):
			// Removed or renamed by its writer since it was seen.
		case fsutil.IsTransient(err):
			// Windows: its writer (or a scanner) still holds it open
			// without FILE_SHARE_DELETE. Treat it as still being written;
			// one try per round keeps the loop from blocking on it.
			l.pending[c.name] = c
			l.toSettle(c, now)
		default:
			l.in.log.Warn("cannot claim file; trying again at the next scan", "file", c.name, "err", err)
			l.in.noteError(fmt.Errorf("spool: claim %s: %w", c.name, err))
		}
	}
	if len(claimed) == 0 {
		return
	}
	l.inflight += len(claimed)
	l.unsynced = append(l.unsynced, claimed...)
	l.startSync()
}

func (l *loop) isLocked(name string) bool {
	_, err := os.Lstat(filepath.Join(l.opts.Layout.Outgoing, name+lockSuffix))
	return err == nil
}

// startSync asks the syncer to fsync .work/ and outgoing/ for the files
// claimed so far, unless an fsync is in flight already; the next one then
// covers them. The loop goes on dispatching while the disk works.
func (l *loop) startSync() {
	if len(l.syncing) > 0 || len(l.unsynced) == 0 {
		return
	}
	l.syncing, l.unsynced = l.unsynced, l.syncing[:0]
	l.syncReq <- struct{}{}
}

// onSynced releases the jobs an fsync made durable to the workers. On
// failure they wait, and intake stalls until an fsync succeeds.
func (l *loop) onSynced(err error) {
	if err != nil {
		l.unsynced = append(l.syncing, l.unsynced...)
		l.syncing = nil
		l.stallOn(fmt.Errorf("spool: make claims durable: %w", err), true)
		l.armRetry()
		return
	}
	l.queue = append(l.queue, l.syncing...)
	clear(l.syncing)
	l.syncing = l.syncing[:0]
	if l.stall != nil && l.stallSync {
		l.clearStall()
	}
	l.startSync()
}

// syncer runs the folder fsyncs of claim rounds. The fsync must start after
// the renames it covers, which startSync guarantees by sending the request
// only after them.
func (l *loop) syncer() {
	for range l.syncReq {
		err := fsutil.SyncDir(l.opts.Layout.Work)
		if err == nil {
			err = fsutil.SyncDir(l.opts.Layout.Outgoing)
		}
		l.syncDone <- err
	}
}

// nextDispatch is the job to hand to a worker, or nil. While stalled, one
// job at a time probes whether the cause went away. The bytes of files being
// parsed at once stay within ParseBudget (one file may exceed it alone), so
// memory does not grow with the number of workers.
func (l *loop) nextDispatch() *job {
	if len(l.queue) == 0 || (l.stall != nil && !l.stallSync && l.busy > 0) {
		return nil
	}
	j := l.queue[0]
	if l.busy > 0 && l.busyBytes+j.size > l.opts.ParseBudget {
		return nil
	}
	return j
}

func (l *loop) onResult(r result) {
	j := r.job
	l.busy--
	l.busyBytes -= j.budget
	switch r.out {
	case outDone, outGone:
		l.inflight--
		if r.out == outDone && l.stall != nil && !l.stallSync {
			l.clearStall()
		}
	case outStopped:
		// The run is ending; the file stays in .work/ for the next one.
		l.inflight--
	case outStall:
		if l.stall == nil || j.probe {
			l.backoff = min(max(2*l.backoff, firstBackoff), maxBackoff)
		}
		j.probe = false
		j.attempts++
		l.stallOn(r.err, false)
		// A file that fails on its own (its report cannot be written)
		// backs off by its own count too, so that the stall it causes
		// after every recovery comes less and less often.
		j.waitStall = true
		j.notBefore = l.now().Add(max(l.backoff, retryDelay(firstBackoff, j.attempts)))
		l.retry = append(l.retry, j)
		// Everything queued would fail the same way: hold it back and let
		// one probe at a time find out when the cause is gone.
		for _, q := range l.queue {
			q.waitStall = true
			q.notBefore = j.notBefore
		}
		l.retry = append(l.retry, l.queue...)
		l.queue = l.queue[:0]
		l.armRetry()
	case outRetryFile:
		j.attempts++
		j.notBefore = l.now().Add(retryDelay(l.opts.Settle, j.attempts))
		l.retry = append(l.retry, j)
		l.armRetry()
	}
}

// retryDelay doubles base for every attempt after the first, up to
// maxBackoff.
func retryDelay(base time.Duration, attempts int) time.Duration {
	return min(base<<min(max(attempts-1, 0), 6), maxBackoff)
}

func (l *loop) stallOn(err error, sync bool) {
	l.stall, l.stallSync = err, sync
	l.in.setStalled(err)
}

func (l *loop) clearStall() {
	l.stall, l.stallSync, l.backoff = nil, false, 0
	l.in.setStalled(nil)
	for _, j := range l.retry {
		j.waitStall = false
	}
	l.retryDue()
}

// retryDue makes due retries ready for the workers: all of them normally,
// a single probe while stalled.
func (l *loop) retryDue() {
	l.startSync()
	now := l.now()
	if l.stall != nil {
		if l.stallSync {
			l.armRetry()
			return
		}
		if l.busy > 0 || len(l.queue) > 0 {
			// A probe is out; its result re-arms the alarm.
			l.retryAlarm.stop()
			return
		}
		best := -1
		for i, j := range l.retry {
			if !now.Before(j.notBefore) && (best < 0 || j.notBefore.Before(l.retry[best].notBefore)) {
				best = i
			}
		}
		if best >= 0 {
			j := l.retry[best]
			l.retry = slices.Delete(l.retry, best, best+1)
			j.probe = true
			l.queue = append(l.queue, j)
		}
		l.armRetry()
		return
	}
	keep := l.retry[:0]
	for _, j := range l.retry {
		if now.Before(j.notBefore) {
			keep = append(keep, j)
			continue
		}
		l.queue = append(l.queue, j)
	}
	clear(l.retry[len(keep):])
	l.retry = keep
	l.armRetry()
}

func (l *loop) armRetry() {
	now := l.now()
	var next time.Time
	if l.stallSync && len(l.unsynced) > 0 {
		next = now.Add(max(l.backoff, firstBackoff))
	}
	for _, j := range l.retry {
		next = earlier(next, j.notBefore)
	}
	if next.IsZero() {
		l.retryAlarm.stop()
		return
	}
	l.retryAlarm.set(next, now)
}

// recoverWork queues every claim left in .work/ by an earlier run, oldest
// first; workers ask the outbox whether each was stored. Hidden names are
// temporary files of an interrupted quarantine report and are removed.
func (l *loop) recoverWork() {
	names, err := readNames(l.opts.Layout.Work)
	if err != nil {
		l.in.log.Error("cannot list .work/; files claimed by an earlier run wait for the next start", "err", err)
		l.in.noteError(fmt.Errorf("spool: recover: %w", err))
		return
	}
	sort.Strings(names)
	interrupted := make(map[string]bool)
	for _, name := range names {
		if claim, ok := strings.CutPrefix(name, takingPrefix); ok {
			interrupted[claim] = true
		}
	}
	var jobs []*job
	for _, name := range names {
		path := filepath.Join(l.opts.Layout.Work, name)
		if strings.HasPrefix(name, ".") {
			_ = os.Remove(path)
			continue
		}
		fi, err := os.Lstat(path)
		if err != nil {
			continue
		}
		jobs = append(jobs, &job{claim: name, name: originalName(name), size: fi.Size(), mtime: fi.ModTime(), recovered: true,
			interrupted: interrupted[name]})
	}
	if len(jobs) == 0 {
		return
	}
	l.in.recovered.Add(uint64(len(jobs)))
	l.in.log.Info("finishing files claimed by an earlier run", "files", len(jobs))
	l.inflight += len(jobs)
	l.unsynced = append(l.unsynced, jobs...)
	l.startSync()
}

// removeBarriers deletes barrier files a crash left behind; they are hidden,
// so nothing else would.
func (l *loop) removeBarriers() {
	names, err := readNames(l.opts.Layout.Outgoing)
	if err != nil {
		return
	}
	for _, name := range names {
		if strings.HasPrefix(name, barrierPrefix) {
			_ = os.Remove(filepath.Join(l.opts.Layout.Outgoing, name))
		}
	}
}

// work takes the files the loop hands out; busy holds when it began the
// current one (Intake.stuck).
func (l *loop) work(ctx context.Context, busy *atomic.Int64) {
	for j := range l.jobs {
		busy.Store(max(l.in.now().UnixNano(), 1))
		r := l.in.take(ctx, j)
		busy.Store(0)
		select {
		case l.results <- r:
		case <-ctx.Done():
			// The loop has stopped reading results; the file stays in
			// .work/ unless it was finished.
		}
	}
}
