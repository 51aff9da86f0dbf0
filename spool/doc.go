// Package spool is the file side of intake: it prepares the spool folders,
// watches outgoing/ for message files, claims each file, and stores all of
// its messages in the outbox or none of them, quarantining a bad file in
// failed/ with a reason a person can act on.
//
// It implements the contract of docs/DESIGN.md, sections "Spool folders" and
// "Intake crash story". Files are parsed by Options.Parse (package msgfile)
// and stored through Store (package outbox); this package does neither.
//
// # Folders
//
// Prepare creates outgoing/, inbox/, failed/, sent/ (mode 0750) and the
// private .work/ and .inbox-tmp/ (0700, refused when they are links, not
// the agent's own or writable by others) and proves with a probe file that the agent can create, rename
// and delete in each, and rename between the folders it moves files across,
// which must share one file system.
//
// # Writer contract and pickup rules
//
// A writer should create the file elsewhere on the same volume, or in
// outgoing/ under a name the rules skip, and rename it into place when it
// is complete (the Maildir protocol, qmail maildir(5)). The rules, after
// smstools3 3.1.21 src/extras.c getfile():
//
//   - names starting with "." or "LOCKED", and names ending in ".tmp",
//     ".part" or ".LOCK" (suffixes in any case) are never taken;
//   - X is not taken while X.LOCK exists (smstools3 locking), so a writer may
//     create X.LOCK, write X in place and remove X.LOCK;
//   - only regular files are read. A symlink, folder, FIFO, socket or device
//     with a message name is moved to failed/ by rename, which acts on the
//     entry itself: a symlink is not followed, a FIFO is never opened (an
//     open would block until a writer came), a folder moves whole;
//   - a file larger than MaxFileSize goes to failed/ without being read;
//   - among ready files the oldest modification time goes first, then the
//     name.
//
// # Never half a file
//
// A file written in place is taken only after its size and modification
// time have held still for Settle (1 s). A file a writer renamed (or
// hard-linked) into place is complete the moment it appears and does not
// wait. The two are told apart where the platform allows:
//
// On Linux, inotify delivers the events of one instance as an ordered queue
// (inotify(7)), and fsnotify hands them over in that order. A rename into the
// folder (IN_MOVED_TO) or a link arrives as a single Create with the content
// already there; a writer in place causes Create, then Write events. So on a
// Create the loop stats the file (it must have content), then creates and
// removes a hidden barrier file in outgoing/ and waits for the barrier's own
// Create. Every Write to the file that happened before the stat is queued
// before that event. If none came between the file's Create and the barrier's
// event, the content came with the name: the file is taken at once. Otherwise
// the settle rule applies. One barrier serves every file waiting at the
// moment it is made. After a watcher overflow or error, or for a file found
// by a scan, only the settle rule applies; a file found by a scan whose
// modification time is already older than Settle is stable.
//
// The kernel queues a Write event when a write(2) returns, after the new
// size is visible. A file whose first write is still inside the kernel (an
// O_SYNC write waiting for the disk) can therefore look complete to the
// fast path. Two checks bound that case: the file's size and modification
// time when it is opened must equal those the decision saw, and must not
// change while it is read; otherwise it stays claimed and is taken once its
// modification time is older than Settle.
//
// On Windows and macOS no such ordering is known to hold, so every file
// settles. On Windows a rename fails with a sharing violation while any
// process holds the file open without FILE_SHARE_DELETE, as writers do; the
// claim treats that as "still being written" and tries again later.
//
// A writer that pauses longer than Settle while writing in place, or keeps
// writing after renaming a file in, can have a partial file taken; that is
// what the writer contract excludes.
//
// # Watching
//
// The watcher is only a wake-up. The watch is added before the first scan;
// outgoing/ is scanned whole at start, after ErrEventOverflow, after any
// watcher error, and every RescanInterval (10 s), which also covers network
// file systems that send no events (fsnotify #9, #398). One goroutine owns
// the map of pending files and every timer; workers only process claimed
// files.
//
// # Claims and the crash story
//
// A file is claimed by renaming outgoing/X to .work/<claim>, where the claim
// <unix-nanos>-<run>-<seq>-X is unique across runs. Renames are batched into
// rounds and both folders are fsynced once per round, before any claimed file
// is processed. A worker then opens the file, parses it, runs
// smsagent.Message.Validate and Options.Check on every message, and either
//
//   - stores everything with one Store.Enqueue(Batch{Claim, File, Messages})
//     and then removes .work/<claim>, or with Archive renames it to
//     sent/X (sent/X.1 and so on when taken); or
//   - writes failed/X.error.json durably and then renames the file to
//     failed/X, with the same numbered suffix on both when X is taken.
//
// The report holds {"file", "error", "problems": [{"line", "index", "field",
// "message"}], "failed_at", "claim"}. A parse error that implements
// ProblemError contributes its problems.
//
// A crash before the claim leaves X in outgoing/; after it, the file is in
// .work/. At start every file in .work/ is looked up with Store.Taken: a
// stored claim is only finished (removed or archived), any other is
// processed again. So a file is never lost and never stored twice. A crash
// between the report and the move repeats the failure on restart with the
// same names, because the report records its claim.
//
// When Enqueue fails (disk full, store closed) or failed/ cannot be written,
// the file stays in .work/, intake stops claiming new files, reports the
// cause through Options.OnHealth and Stats.Stalled, and retries one file at
// a time with backoff (1 s doubling to 1 min) until it succeeds.
//
// # Throughput
//
// Workers (16) process files concurrently so that their Enqueue calls share
// the outbox's group commits. Claim rounds start when at most 4×Workers files
// are in flight and fill up to 16×Workers, so one pair of folder fsyncs
// serves hundreds of files; a separate goroutine runs those fsyncs while the
// loop keeps the workers fed. The bytes of files parsed at once stay within
// MaxFileSize, and at most 16384 pending files are tracked; a larger backlog
// is picked up by further scans as it drains.
package spool
