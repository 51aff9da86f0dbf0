package spool

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
)

// maxPending bounds the files the loop tracks in outgoing/ at once, so that a
// backlog of a million files costs a scan's transient listing, not a million
// long-lived entries. When a scan or an event finds more, the loop scans
// again once the tracked files have drained to half.
const maxPending = 1 << 14

const barrierPrefix = ".smsagent-barrier-"

// candState is where a file in outgoing/ stands on its way to a claim.
type candState uint8

const (
	// stSettle: waiting until size and mtime have held still for Settle.
	stSettle candState = iota
	// stBarrier: seen by its Create event with content; waiting for the
	// barrier's event to learn whether any Write came first.
	stBarrier
	// stReady: complete; waiting for a claim round.
	stReady
)

// candidate is a file in outgoing/ that the pickup rules keep. Owned by the
// loop goroutine.
type candidate struct {
	name  string
	size  int64
	mtime time.Time
	state candState
	// since is when size or mtime were last seen to change, or when the file
	// was first seen; the settle rule counts from here.
	since time.Time
	// scanned: found by a scan and no Write seen since, so an mtime older
	// than Settle proves the file stable.
	scanned bool
	// written: a Write event arrived after the Create that started the
	// fast path.
	written bool
	inHeap  bool
}

// readyHeap orders ready files oldest mtime first, then by name (the
// smstools3 order without its Priority pass). It may hold candidates that
// left the ready state; claimRound skips those.
type readyHeap []*candidate

func (h readyHeap) Len() int { return len(h) }
func (h readyHeap) Less(i, j int) bool {
	if !h[i].mtime.Equal(h[j].mtime) {
		return h[i].mtime.Before(h[j].mtime)
	}
	return h[i].name < h[j].name
}
func (h readyHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *readyHeap) Push(x any)   { *h = append(*h, x.(*candidate)) }
func (h *readyHeap) Pop() any {
	old := *h
	c := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return c
}

type loop struct {
	in     *Intake
	opts   *Options
	now    func() time.Time
	claims *claimer

	w         watcher
	fast      bool // the barrier fast path is in use
	watchLost bool // outgoing/ was removed or renamed: watch again at the next scan

	pending map[string]*candidate
	ready   readyHeap
	more    bool // files were left out because pending was full

	barrierSeq  uint64
	barrierName string       // in flight; "" when none
	barrierSet  []*candidate // served by the barrier in flight
	awaiting    []*candidate // waiting for the next barrier

	unsynced  []*job // claimed; no fsync of the folders started after the rename
	syncing   []*job // claimed; the syncer is fsyncing the folders
	queue     []*job // ready for a worker
	retry     []*job // waiting for notBefore or for the stall to clear
	busy      int    // jobs at workers
	busyBytes int64
	inflight  int // every claimed job not finished

	stall     error
	stallSync bool // the stall is a failed fsync of the claim folders
	backoff   time.Duration

	jobs     chan *job
	results  chan result
	syncReq  chan struct{}
	syncDone chan error

	settleAlarm, retryAlarm, barrierAlarm alarm
	lastSettleCheck                       time.Time
	lastScanErr                           string
}

func newLoop(in *Intake) (*loop, error) {
	l := &loop{
		in:      in,
		opts:    &in.opts,
		now:     in.now,
		claims:  newClaimer(),
		pending: make(map[string]*candidate),
		jobs:    make(chan *job),
		results: make(chan result),
		// One fsync pair is in flight at a time, so neither channel
		// ever holds more than one value.
		syncReq:  make(chan struct{}, 1),
		syncDone: make(chan error, 1),
	}
	for _, dir := range []string{l.opts.Layout.Outgoing, l.opts.Layout.Work, l.opts.Layout.Failed} {
		fi, err := os.Stat(dir)
		if err != nil {
			return nil, fmt.Errorf("spool: %w", err)
		}
		if !fi.IsDir() {
			return nil, fmt.Errorf("spool: %s: %w", dir, ErrNotFolder)
		}
	}
	return l, nil
}

// Claim rounds start when at most lowWater files are in flight and fill up
// to highWater. The margin covers the two folder fsyncs of a round (a few
// milliseconds each on a busy disk) at the rate the workers drain files, so
// they do not wait for the next round.
func (l *loop) lowWater() int  { return 4 * l.opts.Workers }
func (l *loop) highWater() int { return 16 * l.opts.Workers }

func (l *loop) run(ctx context.Context) {
	var wg sync.WaitGroup
	for k := range l.opts.Workers {
		wg.Go(func() { l.work(ctx, &l.in.busySince[k]) })
	}
	wg.Go(l.syncer)
	defer func() {
		close(l.jobs)
		close(l.syncReq)
		if l.w != nil {
			_ = l.w.Close()
		}
		wg.Wait()
		l.publish()
	}()

	l.watch()
	l.recoverWork()
	l.removeBarriers()
	l.scan()

	var events <-chan fsnotify.Event
	var errs <-chan error
	if l.w != nil {
		events, errs = l.w.Events(), l.w.Errors()
	}
	rescan := time.NewTicker(l.opts.RescanInterval)
	defer rescan.Stop()
	for {
		l.pump()
		l.publish()
		var jobs chan<- *job
		next := l.nextDispatch()
		if next != nil {
			jobs = l.jobs
			// The worker owns the job once it is sent; the loop keeps
			// its own note of the bytes it counts against the budget.
			next.budget = next.size
		}
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-events:
			if !ok {
				events, errs = nil, nil
				l.watcherGone(errors.New("watcher closed its event channel"))
				continue
			}
			l.onEvent(ev)
		case err, ok := <-errs:
			if !ok {
				events, errs = nil, nil
				l.watcherGone(errors.New("watcher closed its error channel"))
				continue
			}
			l.onWatchError(err)
		case jobs <- next:
			l.queue = l.queue[1:]
			l.busy++
			l.busyBytes += next.budget
		case r := <-l.results:
			l.onResult(r)
		case err := <-l.syncDone:
			l.onSynced(err)
		case <-l.settleAlarm.C():
			l.settleAlarm.fired()
			l.checkSettled()
		case <-l.retryAlarm.C():
			l.retryAlarm.fired()
			l.retryDue()
		case <-l.barrierAlarm.C():
			l.barrierAlarm.fired()
			l.barrierLost()
		case <-rescan.C:
			l.scan()
		}
	}
}

// publish copies the loop's gauges into the Intake's Stats.
func (l *loop) publish() {
	l.in.pending.Store(int64(len(l.pending)))
	l.in.inFlight.Store(int64(l.inflight))
}

// watch adds the watch on outgoing/ before the first scan, so that a file
// arriving during the scan is seen by one or the other. Without a watcher
// (inotify instance limits, an unsupported platform) intake still works,
// found by the periodic scans only.
func (l *loop) watch() {
	w, err := l.opts.newWatcher()
	if err == nil {
		err = w.Add(l.opts.Layout.Outgoing)
		if err != nil {
			_ = w.Close()
		}
	}
	if err != nil {
		l.in.log.Warn("cannot watch outgoing/; finding files by periodic scans only",
			"folder", l.opts.Layout.Outgoing, "every", l.opts.RescanInterval, "err", err)
		l.in.noteError(fmt.Errorf("spool: watch %s: %w", l.opts.Layout.Outgoing, err))
		return
	}
	l.w = w
	// Only a real inotify watcher gives the ordering the barrier relies on.
	_, isFS := w.(fsWatcher)
	l.fast = orderedEvents && isFS
}

func (l *loop) watcherGone(err error) {
	l.in.log.Error("watcher stopped; finding files by periodic scans only", "err", err)
	l.in.noteError(fmt.Errorf("spool: %w", err))
	l.fast = false
	l.demoteAll()
	l.scan()
}

// onWatchError handles an error from the watcher. Events were lost (an
// overflow says so; any other error may mean it), so every fast-path
// decision is void: demote to the settle rule and scan everything.
func (l *loop) onWatchError(err error) {
	l.in.overflows.Add(1)
	if errors.Is(err, fsnotify.ErrEventOverflow) {
		l.in.log.Warn("watcher lost events; rescanning outgoing/ (raise fs.inotify.max_queued_events if this repeats)", "err", err)
	} else {
		l.in.log.Warn("watcher error; rescanning outgoing/", "err", err)
	}
	l.demoteAll()
	l.scan()
}

func (l *loop) onEvent(ev fsnotify.Event) {
	if filepath.Clean(ev.Name) == filepath.Clean(l.opts.Layout.Outgoing) {
		if ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename) {
			l.watchLost = true
			l.in.log.Error("outgoing/ was removed or renamed; watching it again when it is back", "folder", ev.Name)
			l.in.noteError(fmt.Errorf("spool: %s was removed or renamed", ev.Name))
		}
		return
	}
	name := filepath.Base(ev.Name)
	if l.barrierName != "" && name == l.barrierName {
		if ev.Has(fsnotify.Create) {
			l.barrierArrived()
		}
		return
	}
	if skipName(name) {
		if target, ok := lockedBy(name); ok && (ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename)) {
			l.unlocked(target)
		}
		return
	}
	switch {
	case ev.Has(fsnotify.Create):
		l.onCreate(name)
	case ev.Has(fsnotify.Write):
		l.onWrite(name)
	case ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename):
		// The name is gone (our own claim renames land here too).
		delete(l.pending, name)
	}
}

// onCreate starts tracking a name that appeared. On the fast path a regular
// file that already has content waits for a barrier; anything else settles.
func (l *loop) onCreate(name string) {
	fi, err := os.Lstat(filepath.Join(l.opts.Layout.Outgoing, name))
	if err != nil {
		delete(l.pending, name)
		return
	}
	if _, ok := l.pending[name]; !ok && len(l.pending) >= maxPending {
		l.more = true
		return
	}
	now := l.now()
	c := &candidate{name: name, size: fi.Size(), mtime: fi.ModTime(), since: now}
	l.pending[name] = c
	if l.fast && fi.Mode().IsRegular() && fi.Size() > 0 {
		c.state = stBarrier
		l.awaiting = append(l.awaiting, c)
		l.sendBarrier()
		return
	}
	c.state = stSettle
	l.armSettle(c.since.Add(l.opts.Settle))
}

// onWrite notes that a file is being written in place: it can only be taken
// by the settle rule, counted from now.
func (l *loop) onWrite(name string) {
	c := l.pending[name]
	if c == nil {
		l.track(name, false)
		if c = l.pending[name]; c != nil {
			c.written = true
		}
		return
	}
	c.written = true
	if c.state != stBarrier {
		l.toSettle(c, l.now())
	}
}

// unlocked re-examines X after its X.LOCK went away: the writer says it is
// done, so an mtime older than Settle is enough.
func (l *loop) unlocked(name string) {
	if c := l.pending[name]; c != nil {
		return // already tracked; the claim round checks the lock again
	}
	l.track(name, true)
}

// track starts the settle rule for a name not tracked yet.
func (l *loop) track(name string, scanned bool) {
	if skipName(name) || len(l.pending) >= maxPending {
		if len(l.pending) >= maxPending {
			l.more = true
		}
		return
	}
	fi, err := os.Lstat(filepath.Join(l.opts.Layout.Outgoing, name))
	if err != nil {
		return
	}
	now := l.now()
	c := &candidate{name: name, size: fi.Size(), mtime: fi.ModTime(), since: now, scanned: scanned}
	l.pending[name] = c
	if scanned && now.Sub(c.mtime) >= l.opts.Settle {
		l.markReady(c)
		return
	}
	l.armSettle(c.since.Add(l.opts.Settle))
}

func (l *loop) toSettle(c *candidate, now time.Time) {
	c.state = stSettle
	c.since = now
	c.scanned = false
	l.armSettle(now.Add(l.opts.Settle))
}

func (l *loop) markReady(c *candidate) {
	c.state = stReady
	if !c.inHeap {
		c.inHeap = true
		heap.Push(&l.ready, c)
	}
	if l.ready.Len() > 2*len(l.pending)+64 {
		l.compactReady()
	}
}

// compactReady drops stale entries from the ready heap. They are otherwise
// dropped when popped, but no claim round pops while intake is stalled.
func (l *loop) compactReady() {
	live := l.ready[:0]
	for _, c := range l.ready {
		if l.pending[c.name] == c && c.state == stReady {
			live = append(live, c)
		} else {
			c.inHeap = false
		}
	}
	clear(l.ready[len(live):])
	l.ready = live
	heap.Init(&l.ready)
}

// sendBarrier creates and at once removes a hidden file in outgoing/ when
// candidates wait for one and none is in flight. Its Create event comes after
// every event of anything that happened before it, so it closes the window
// of the candidates collected so far. One barrier serves all of them;
// candidates arriving meanwhile wait for the next one.
func (l *loop) sendBarrier() {
	if l.barrierName != "" || len(l.awaiting) == 0 {
		return
	}
	l.barrierSeq++
	name := barrierPrefix + l.claims.run + "-" + fmt.Sprint(l.barrierSeq)
	path := filepath.Join(l.opts.Layout.Outgoing, name)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fileMode)
	if err != nil {
		l.in.log.Warn("cannot create barrier file; using the settle rule", "err", err)
		now := l.now()
		for _, c := range l.awaiting {
			if l.pending[c.name] == c && c.state == stBarrier {
				l.toSettle(c, now)
			}
		}
		l.awaiting = nil
		return
	}
	_ = f.Close()
	_ = os.Remove(path)
	l.barrierName = name
	l.barrierSet, l.awaiting = l.awaiting, l.barrierSet[:0]
	l.barrierAlarm.set(l.now().Add(l.opts.Settle), l.now())
}

// barrierArrived decides the candidates the barrier served: no Write between
// a file's Create and the barrier means its content came with its name (a
// rename or a hard link), so it is complete now.
func (l *loop) barrierArrived() {
	now := l.now()
	for _, c := range l.barrierSet {
		if l.pending[c.name] != c || c.state != stBarrier {
			continue
		}
		if c.written {
			l.toSettle(c, now)
		} else {
			l.markReady(c)
		}
	}
	clear(l.barrierSet)
	l.barrierSet = l.barrierSet[:0]
	l.barrierName = ""
	l.barrierAlarm.stop()
	l.sendBarrier()
}

// barrierLost handles a barrier whose event never came (lost in an overflow
// that was not reported): no fast-path decision can be made.
func (l *loop) barrierLost() {
	l.in.log.Warn("barrier event did not arrive; using the settle rule")
	l.demoteAll()
}

// demoteAll voids every fast-path decision not yet acted on.
func (l *loop) demoteAll() {
	now := l.now()
	for _, c := range l.pending {
		if c.state != stSettle {
			l.toSettle(c, now)
		}
	}
	clear(l.barrierSet)
	l.barrierSet = l.barrierSet[:0]
	l.awaiting = nil
	l.barrierName = ""
	l.barrierAlarm.stop()
}

func (l *loop) armSettle(at time.Time) {
	// Checks visit every pending file; spacing them by a tenth of Settle
	// keeps a burst of writes from making that quadratic.
	if earliest := l.lastSettleCheck.Add(l.opts.Settle / 10); at.Before(earliest) {
		at = earliest
	}
	l.settleAlarm.setEarlier(at, l.now())
}

// checkSettled applies the settle rule to every file waiting on it.
func (l *loop) checkSettled() {
	now := l.now()
	l.lastSettleCheck = now
	var next time.Time
	for _, c := range l.pending {
		if c.state != stSettle {
			continue
		}
		due := c.since.Add(l.opts.Settle)
		if now.Before(due) && !(c.scanned && now.Sub(c.mtime) >= l.opts.Settle) {
			next = earlier(next, due)
			continue
		}
		fi, err := os.Lstat(filepath.Join(l.opts.Layout.Outgoing, c.name))
		if err != nil {
			delete(l.pending, c.name)
			continue
		}
		if fi.Size() != c.size || !fi.ModTime().Equal(c.mtime) {
			if c.inHeap {
				// The heap orders it by the old mtime; a changed key
				// would break the heap, so that entry goes stale and a
				// copy carries on.
				cp := *c
				cp.inHeap = false
				c = &cp
				l.pending[c.name] = c
			}
			c.size, c.mtime = fi.Size(), fi.ModTime()
			c.since, c.scanned = now, false
			next = earlier(next, now.Add(l.opts.Settle))
			continue
		}
		l.markReady(c)
	}
	if !next.IsZero() {
		l.armSettle(next)
	}
}

// scan lists outgoing/ and tracks every name the pickup rules keep. Files
// whose mtime is older than Settle are ready at once; the rest settle.
func (l *loop) scan() {
	l.in.rescans.Add(1)
	if l.watchLost && l.w != nil {
		if err := l.w.Add(l.opts.Layout.Outgoing); err == nil {
			l.watchLost = false
			l.in.log.Info("watching outgoing/ again", "folder", l.opts.Layout.Outgoing)
		}
	}
	names, err := readNames(l.opts.Layout.Outgoing)
	if err != nil {
		if msg := err.Error(); msg != l.lastScanErr {
			l.lastScanErr = msg
			l.in.log.Error("cannot list outgoing/", "err", err)
		}
		l.in.noteError(fmt.Errorf("spool: scan: %w", err))
		return
	}
	l.lastScanErr = ""
	locked := make(map[string]bool)
	for _, name := range names {
		if target, ok := lockedBy(name); ok {
			locked[target] = true
		}
	}
	type found struct {
		name string
		fi   fs.FileInfo
	}
	var fresh []found
	for _, name := range names {
		if skipName(name) || locked[name] {
			continue
		}
		if _, ok := l.pending[name]; ok {
			continue
		}
		fi, err := os.Lstat(filepath.Join(l.opts.Layout.Outgoing, name))
		if err != nil {
			continue
		}
		fresh = append(fresh, found{name, fi})
	}
	if room := maxPending - len(l.pending); len(fresh) > room {
		sort.Slice(fresh, func(i, j int) bool { return fresh[i].fi.ModTime().Before(fresh[j].fi.ModTime()) })
		fresh = fresh[:max(room, 0)]
		l.more = true
	}
	now := l.now()
	for _, f := range fresh {
		c := &candidate{name: f.name, size: f.fi.Size(), mtime: f.fi.ModTime(), since: now, scanned: true}
		l.pending[f.name] = c
		if now.Sub(c.mtime) >= l.opts.Settle {
			l.markReady(c)
		} else {
			l.armSettle(now.Add(l.opts.Settle))
		}
	}
	if l.opts.hooks.afterScan != nil {
		l.opts.hooks.afterScan(len(fresh))
	}
}
