package spool

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/internal/fsutil"
)

// maxProblems bounds the problems listed in one report; a file of a million
// bad lines must not produce a report of a million entries.
const maxProblems = 100

// take runs on a worker: it processes one claimed file from .work/ to its
// end (stored, quarantined, or finished after a crash) or says why it must
// wait. Each step's crash story follows DESIGN.md "Intake crash story".
func (in *Intake) take(ctx context.Context, j *job) result {
	path := filepath.Join(in.opts.Layout.Work, j.claim)
	if j.recovered {
		// Step 4 after a crash: a claim with a taken-record was stored;
		// only its removal or archiving was lost.
		taken, err := in.opts.Store.Taken(ctx, j.claim)
		if err != nil {
			return in.storeFailed(ctx, j, fmt.Errorf("spool: ask the outbox about %s: %w", j.claim, err))
		}
		if taken {
			return in.finish(j, path)
		}
		j.recovered = false
		if j.interrupted {
			return in.reject(j, path, "the agent stopped while it was taking this file (killed, crashed or out of "+
				"memory; a file too large for this machine's memory does this at every start), so it was "+
				"quarantined instead of taken again; nothing of it was queued. Drop it again to retry, split "+
				"into smaller files if it is large (see spool.max_messages)", nil)
		}
	}

	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		in.log.Warn("claimed file vanished from .work/", "file", j.name, "claim", j.claim)
		return result{job: j, out: outGone}
	}
	if err != nil {
		return in.fileBusy(j, fmt.Errorf("spool: stat %s: %w", path, err))
	}
	if why := irregular(fi.Mode()); why != "" {
		return in.reject(j, path, why, nil)
	}
	if fi.Size() > in.opts.MaxFileSize {
		return in.reject(j, path, in.tooLarge(fi.Size()), nil)
	}

	f, err := fsutil.OpenRegular(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return result{job: j, out: outGone}
	case err != nil && fsutil.IsTransient(err):
		// Windows: a scanner or indexer holds it; fsutil retried for a
		// while already.
		return in.fileBusy(j, fmt.Errorf("spool: open %s: %w", path, err))
	case err != nil:
		return in.reject(j, path, "cannot read the file: "+err.Error(), nil)
	}
	defer in.unmarkTaking(in.markTaking(j, fi.Size()))
	msgs, rejectWhy, problems, changed := in.read(f, j)
	if cerr := f.Close(); cerr != nil && rejectWhy == "" && !changed {
		return in.fileBusy(j, fmt.Errorf("spool: close %s: %w", path, cerr))
	}
	if changed {
		// Still being written by a writer that ignored the contract (or
		// whose last write was in flight when the fast path looked). It
		// is claimed already; take it once its mtime is older than Settle.
		j.restat = true
		return result{job: j, out: outRetryFile}
	}
	if rejectWhy != "" {
		return in.reject(j, path, rejectWhy, problems)
	}

	// Step 3: one transaction stores every message and the taken-record.
	now := in.now()
	for i := range msgs {
		if msgs[i].File == "" {
			msgs[i].File = j.name
		}
		if msgs[i].ReceivedAt.IsZero() {
			msgs[i].ReceivedAt = now
		}
	}
	res, err := in.opts.Store.Enqueue(ctx, smsagent.Batch{Claim: j.claim, File: j.name, Messages: msgs})
	if err != nil {
		// The file stays in .work/: a crash or a retry finds it there, and
		// without a taken-record it is processed again.
		return in.storeFailed(ctx, j, fmt.Errorf("spool: store %s: %w", j.name, err))
	}
	in.taken.Add(1)
	in.bytes.Add(uint64(j.size))
	if res.AlreadyTaken {
		in.log.Info("file was stored by an earlier run", "file", j.name, "claim", j.claim)
	} else {
		in.messages.Add(uint64(len(msgs) - len(res.Duplicates)))
		in.duplicates.Add(uint64(len(res.Duplicates)))
	}
	in.log.Debug("took file", "file", j.name, "claim", j.claim, "messages", len(msgs), "duplicates", len(res.Duplicates))
	return in.finish(j, path)
}

// takingPrefix names the marker in .work/ of a file being taken:
// .taking-<claim>.
const takingPrefix = ".taking-"

// markAbove is the size from which a file being taken is marked. Smaller
// files cannot exhaust memory, and a parser panic is recovered (parse), so
// they need no marker, and the many small files of a busy spool cost no
// extra file operations.
const markAbove = 256 << 10

// markTaking leaves a marker in .work/ while a large file is taken, and
// returns its path ("" when none was made). A marker found at start means
// the agent died while taking that file (recoverWork), and the file is
// quarantined rather than taken again: a file that needs more memory than
// the machine has would otherwise kill the agent at every start.
//
// Crash story: the marker is created without an fsync. A process that
// dies (a kill, the OOM killer) leaves it in the page cache, which is what
// matters; a power cut may lose it, and then the file is taken again, as
// before markers.
func (in *Intake) markTaking(j *job, size int64) string {
	if size < markAbove {
		return ""
	}
	path := filepath.Join(in.opts.Layout.Work, takingPrefix+j.claim)
	f, err := fsutil.CreateExclusive(path, fileMode)
	if err != nil {
		in.log.Warn("cannot mark a file being taken; a crash while taking it would take it again", "claim", j.claim, "err", err)
		return ""
	}
	_ = f.Close()
	return path
}

func (in *Intake) unmarkTaking(path string) {
	if path != "" {
		_ = fsutil.Remove(path)
	}
}

// read checks the open file, parses it and checks every message. It returns
// either the messages, or the reason to reject the file, or changed when the
// file is not the one the claim decision saw (or changed while being read).
func (in *Intake) read(f *os.File, j *job) (msgs []smsagent.Message, rejectWhy string, problems []Problem, changed bool) {
	st, err := f.Stat()
	if err != nil {
		return nil, "cannot stat the file: " + err.Error(), nil, false
	}
	if why := irregular(st.Mode()); why != "" {
		return nil, why, nil, false
	}
	if st.Size() > in.opts.MaxFileSize {
		return nil, in.tooLarge(st.Size()), nil, false
	}
	if stChanged(st, j) || (j.restat && in.now().Sub(st.ModTime()) < in.opts.Settle) {
		j.size, j.mtime, j.known = st.Size(), st.ModTime(), true
		return nil, "", nil, true
	}
	j.size, j.mtime, j.known = st.Size(), st.ModTime(), true

	lr := &limitReader{r: f, n: in.opts.MaxFileSize}
	msgs, perr := in.parse(lr, j.name)
	if lr.exceeded {
		return nil, fmt.Sprintf("file grew past the limit of %d bytes (spool max file size) while being read", in.opts.MaxFileSize), nil, false
	}
	if after, err := f.Stat(); err == nil && stChanged(after, j) {
		j.size, j.mtime = after.Size(), after.ModTime()
		return nil, "", nil, true
	}
	if perr != nil {
		var pe ProblemError
		if errors.As(perr, &pe) {
			problems = pe.Problems()
		}
		return nil, perr.Error(), capProblems(problems), false
	}
	if len(msgs) == 0 {
		return nil, "the file holds no messages", nil, false
	}
	for i := range msgs {
		m := &msgs[i]
		err := m.Validate()
		if err == nil && in.opts.Check != nil {
			err = in.opts.Check(m)
		}
		if err != nil {
			problems = append(problems, Problem{Index: i + 1, Message: err.Error()})
		}
	}
	if len(problems) == 0 {
		return msgs, "", nil, false
	}
	why := fmt.Sprintf("message %d of %d: %s", problems[0].Index, len(msgs), problems[0].Message)
	if len(problems) > 1 {
		why += fmt.Sprintf(" (and %d more problems)", len(problems)-1)
	}
	return nil, why + "; no message of the file was queued", capProblems(problems), false
}

// parse runs Options.Parse and turns a panic into a rejection: a parser bug
// triggered by one hostile file must not stop the agent.
func (in *Intake) parse(r io.Reader, name string) (msgs []smsagent.Message, err error) {
	defer func() {
		if p := recover(); p != nil {
			in.log.Error("message parser panicked", "file", name, "panic", p, "stack", string(debug.Stack()))
			msgs, err = nil, fmt.Errorf("the message parser failed on this file (%v); please report it", p)
		}
	}()
	return in.opts.Parse(r, name)
}

func stChanged(st fs.FileInfo, j *job) bool {
	return j.known && (st.Size() != j.size || !st.ModTime().Equal(j.mtime))
}

func capProblems(ps []Problem) []Problem {
	if len(ps) <= maxProblems {
		return ps
	}
	rest := len(ps) - maxProblems
	ps = append(ps[:maxProblems:maxProblems], Problem{Message: fmt.Sprintf("%d more problems not listed", rest)})
	return ps
}

func (in *Intake) tooLarge(size int64) string {
	return fmt.Sprintf("file is %d bytes, over the limit of %d bytes (spool max file size); split it into smaller files",
		size, in.opts.MaxFileSize)
}

// irregular names what a non-regular entry is, or returns "" for a regular
// file. Such entries are moved with rename, which acts on the entry itself:
// a symlink is not followed, a FIFO is not opened (opening it would block
// until a writer came), a folder moves whole.
func irregular(mode fs.FileMode) string {
	switch {
	case mode.IsRegular():
		return ""
	case mode&fs.ModeSymlink != 0:
		return "symlink: the link was not followed; put the file itself into outgoing/"
	case mode.IsDir():
		return "folder: a folder is not a message file; put files into outgoing/ directly"
	case mode&fs.ModeNamedPipe != 0:
		return "named pipe (FIFO): not a regular file; it was not opened"
	case mode&fs.ModeSocket != 0:
		return "socket: not a regular file"
	case mode&fs.ModeDevice != 0:
		return "device: not a regular file"
	}
	return "not a regular file (" + mode.Type().String() + ")"
}

// finish removes a stored file from .work/, or archives it to sent/.
//
// Crash story (step 4): the taken-record is committed, so a crash before or
// during this step leaves a claim the next run finishes without storing it
// again. Hence no fsync: an undone remove or rename is redone.
func (in *Intake) finish(j *job, path string) result {
	var err error
	if in.opts.Archive {
		_, err = in.moveFree(path, in.opts.Layout.Sent, j.name)
	} else {
		err = fsutil.Remove(path)
	}
	if err != nil {
		in.log.Error("cannot remove or archive a stored file; it stays in .work/", "file", j.name, "claim", j.claim, "err", err)
		in.noteError(fmt.Errorf("spool: finish %s: %w", j.name, err))
		// Its taken-record exists: the retry only finishes it.
		j.recovered = true
		return result{job: j, out: outRetryFile}
	}
	return result{job: j, out: outDone}
}

// moveFree renames path into dir under name, or under the first numbered
// variant of name that is free: nothing there is ever overwritten, and an
// entry that is not a regular file (a link, a folder, a FIFO someone
// placed) only makes the name taken.
func (in *Intake) moveFree(path, dir, name string) (string, error) {
	for n := 0; ; n++ {
		if n == maxNameTries {
			return "", fmt.Errorf("no free name for %s in %s after %d tries", name, dir, n)
		}
		target := filepath.Join(dir, numbered(name, n, ""))
		if !in.reserve(target) {
			continue
		}
		free, err := absent(target)
		if err == nil && free {
			if err = fsutil.RenameNoReplace(path, target); nameTaken(err) {
				free, err = false, nil
			}
		}
		in.unreserve(target)
		if err != nil || free {
			return target, err
		}
	}
}

// maxNameTries bounds the numbered names tried for one file: past it
// something is wrong with the folder itself (a file where it should be,
// names that always fail), and the file waits in .work/ with intake
// stalled and saying why, rather than a worker trying names for ever.
const maxNameTries = 1000

// reserve claims names in failed/ or sent/ for one worker while it checks
// and uses them, so that two workers finishing files never pick the same
// free slot; it reserves all of paths or none. Only the map is locked: the
// file I/O that follows runs outside the lock, so one slow or hanging file
// system call stalls one worker, never the others.
func (in *Intake) reserve(paths ...string) bool {
	in.names.Lock()
	defer in.names.Unlock()
	for _, p := range paths {
		if in.reserved[reservationKey(p)] {
			return false
		}
	}
	if in.reserved == nil {
		in.reserved = make(map[string]bool)
	}
	for _, p := range paths {
		in.reserved[reservationKey(p)] = true
	}
	return true
}

func (in *Intake) unreserve(paths ...string) {
	in.names.Lock()
	for _, p := range paths {
		delete(in.reserved, reservationKey(p))
	}
	in.names.Unlock()
}

// reservationKey folds case: where the file system ignores it (NTFS, APFS,
// vfat and CIFS mounts, ext4 casefold folders), "A.json" and "a.json" are
// one name, and two workers holding one each would both find it free and
// the second rename would replace the first file. Folding everywhere costs
// a case-sensitive file system only a numbered name for a file whose case
// twin is being finished at the same moment.
func reservationKey(path string) string { return strings.ToUpper(path) }

// absent reports whether nothing at all is at path (Lstat: a link counts
// as there, whatever it points to).
func absent(path string) (bool, error) {
	_, err := os.Lstat(path)
	switch {
	case err == nil:
		return false, nil
	case errors.Is(err, fs.ErrNotExist):
		return true, nil
	}
	return false, err
}

// failureReport is failed/NAME.error.json.
type failureReport struct {
	// File is the name the file had in outgoing/.
	File string `json:"file"`
	// FailedAs is its name in failed/: File, or a numbered or shortened
	// variant when that name is taken or too long to carry the report's
	// suffix.
	FailedAs string    `json:"failed_as"`
	Error    string    `json:"error"`
	Problems []Problem `json:"problems"`
	FailedAt time.Time `json:"failed_at"`
	// Claim ties the report to one claim, so that a failure repeated after
	// a crash reuses its own names instead of taking new ones.
	Claim string `json:"claim"`
}

// reject quarantines a claimed file: failed/NAME.error.json first, then the
// file as failed/NAME. The agent goes on with the next file.
func (in *Intake) reject(j *job, path, why string, problems []Problem) result {
	if problems == nil {
		problems = []Problem{}
	}
	rep := failureReport{File: j.name, Error: why, Problems: problems, FailedAt: in.now().UTC(), Claim: j.claim}
	name, err := in.quarantine(path, j, rep)
	if err != nil {
		return result{job: j, out: outStall, err: fmt.Errorf("spool: quarantine %s: %w", j.name, err)}
	}
	in.rejected.Add(1)
	in.noteError(fmt.Errorf("spool: rejected %s: %s", j.name, why))
	in.log.Warn("rejected file", "file", j.name, "moved_to", name, "reason", why)
	return result{job: j, out: outDone}
}

// quarantine picks a free name pair in failed/ and moves the file there.
//
// Crash story (step 5): the report is written durably before the file moves.
// A crash between the two leaves the claim in .work/ and a report naming it;
// the next run fails the file again, finds that report is its own, and
// reuses the same names. A name is free when nothing is at failed/NAME and
// failed/NAME.error.json is absent or a regular file written for this
// claim. Every name tried fits with its report suffix (numbered), so a long
// name never turns into an error that would stop intake.
func (in *Intake) quarantine(path string, j *job, rep failureReport) (string, error) {
	dir := in.opts.Layout.Failed
	for n := 0; ; n++ {
		if n == maxNameTries {
			return "", fmt.Errorf("no free name for %s in %s after %d tries", j.name, dir, n)
		}
		name := numbered(j.name, n, reportSuffix)
		target := filepath.Join(dir, name)
		// The report's name is reserved too: it is also the name a file
		// called "NAME.error.json" would be quarantined under.
		report := target + reportSuffix
		if !in.reserve(target, report) {
			continue
		}
		done, err := in.quarantineAs(path, target, report, j.claim, rep)
		in.unreserve(target, report)
		if err != nil || done {
			return name, err
		}
	}
}

// quarantineAs moves the file to target with its report, or says the name
// is taken (false, nil). The caller holds the reservation of both names.
func (in *Intake) quarantineAs(path, target, report, claim string, rep failureReport) (bool, error) {
	if free, err := absent(target); err != nil || !free {
		return false, err
	}
	if free, err := absent(report); err != nil {
		return false, err
	} else if !free && !reportOf(report, claim) {
		return false, nil
	}
	rep.FailedAs = filepath.Base(target)
	data, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return false, err
	}
	// The temporary file goes to .work/ under a hidden name, which the
	// next start removes if a crash leaves it there; the rename replaces
	// an old report of this claim, never writes through it.
	if err := fsutil.WriteFile(report, append(data, '\n'), fileMode, in.opts.Layout.Work); err != nil {
		if nameTaken(err) {
			// A neighbour put a folder there since the check.
			return false, nil
		}
		return false, err
	}
	// Never over what a neighbour created at target since the check: the
	// next name instead, and the report just written goes.
	if err := fsutil.RenameNoReplace(path, target); err != nil {
		if nameTaken(err) {
			_ = fsutil.Remove(report)
			return false, nil
		}
		return false, err
	}
	return true, fsutil.SyncDir(filepath.Dir(target))
}

// nameTaken reports whether err says that something stands at the target
// name of a rename (a file, a folder), which makes the next name the one
// to try rather than a reason to stop intake.
func nameTaken(err error) bool {
	return errors.Is(err, fs.ErrExist) || errors.Is(err, syscall.EISDIR) || errors.Is(err, syscall.ENOTDIR) ||
		errors.Is(err, syscall.ENOTEMPTY)
}

// reportOf reports whether the report at path is a regular file written
// for claim. Anything else there (a FIFO, a device, a link) is never
// opened for reading: fsutil.OpenRegular refuses it without blocking.
func reportOf(path, claim string) bool {
	f, err := fsutil.OpenRegular(path)
	if err != nil {
		return false
	}
	defer f.Close()
	var rep struct {
		Claim string `json:"claim"`
	}
	if err := json.NewDecoder(io.LimitReader(f, 1<<20)).Decode(&rep); err != nil {
		return false
	}
	return rep.Claim == claim
}

// storeFailed classifies a failure of the outbox: the end of the run, or a
// stall that stops intake until the outbox takes batches again.
func (in *Intake) storeFailed(ctx context.Context, j *job, err error) result {
	if ctx.Err() != nil {
		return result{job: j, out: outStopped}
	}
	return result{job: j, out: outStall, err: err}
}

func (in *Intake) fileBusy(j *job, err error) result {
	in.log.Warn("file busy; trying again later", "file", j.name, "claim", j.claim, "err", err)
	in.noteError(err)
	return result{job: j, out: outRetryFile, err: err}
}

// limitReader reads at most n bytes and notes whether the source had more,
// so a file that grew past MaxFileSize after its size was checked is never
// read whole.
type limitReader struct {
	r        io.Reader
	n        int64
	exceeded bool
}

var errTooLarge = errors.New("file exceeds the maximum size")

func (l *limitReader) Read(p []byte) (int, error) {
	if l.exceeded {
		return 0, errTooLarge
	}
	if l.n <= 0 {
		var one [1]byte
		n, err := l.r.Read(one[:])
		if n > 0 {
			l.exceeded = true
			return 0, errTooLarge
		}
		return 0, err
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}
