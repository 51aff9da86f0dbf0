package spool

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/smsagent/smsagent/internal/fsutil"
)

// Folder modes from DESIGN.md "Spool folders". Prepare applies dirMode only
// to folders it creates: an administrator who granted a writers' group
// access to outgoing/ keeps that grant.
const (
	dirMode  os.FileMode = 0o750
	fileMode os.FileMode = 0o640
)

// Layout names the folders of one spool. Use Prepare to get one whose
// folders exist and are usable.
type Layout struct {
	Root     string
	Outgoing string // users drop message files here
	Inbox    string // reports and incoming SMS
	Failed   string // rejected files, each with NAME.error.json
	Sent     string // accepted files when archiving is on
	// The private folders: under the root, which producers may not write,
	// so that no producer can rename them or swap them for a link; mode
	// 0700 and checked at every start (fsutil.PrivateDir).
	Work     string // claimed files being taken
	InboxTmp string // temporary files of the inbox writer
}

// NewLayout names the folders under root without touching the disk.
func NewLayout(root string) Layout {
	return Layout{
		Root:     root,
		Outgoing: filepath.Join(root, "outgoing"),
		Inbox:    filepath.Join(root, "inbox"),
		InboxTmp: filepath.Join(root, ".inbox-tmp"),
		Failed:   filepath.Join(root, "failed"),
		Sent:     filepath.Join(root, "sent"),
		Work:     filepath.Join(root, ".work"),
	}
}

// FolderError says which spool folder is unusable, what failed and how a
// person fixes it.
type FolderError struct {
	Folder string
	Op     string // "create", "check", "write", "rename", "remove", "move"
	Err    error
	Fix    string
}

func (e *FolderError) Error() string {
	return fmt.Sprintf("spool: folder %s: %s: %v; %s", e.Folder, e.Op, e.Err, e.Fix)
}

func (e *FolderError) Unwrap() error { return e.Err }

// ErrNotFolder is the cause of a FolderError when a spool path exists but is
// not a folder.
var ErrNotFolder = errors.New("not a folder")

const probePrefix = ".smsagent-probe-"

// Prepare creates the spool folders under root (mode 0750; the private
// folders .work/ and .inbox-tmp/ 0700, refused unless they are the agent's
// own, see fsutil.PrivateDir) and checks that
// the agent can create, rename and delete files in each, and rename files
// between the folders it moves files across (they must share one file
// system, or a claim would be a copy). It checks at start what would
// otherwise fail days later on the first file (prior art P24: smstools3
// checks every folder at startup). The error is a *FolderError naming the
// folder and the fix.
func Prepare(root string) (Layout, error) {
	l := NewLayout(root)
	if err := os.MkdirAll(root, dirMode); err != nil {
		return Layout{}, &FolderError{Folder: root, Op: "create", Err: err,
			Fix: "create it, or give the agent's user write permission on its parent folder"}
	}
	for _, dir := range []string{l.Work, l.InboxTmp} {
		if err := fsutil.PrivateDir(dir); err != nil {
			var pe *fsutil.PrivateDirError
			if errors.As(err, &pe) {
				return Layout{}, &FolderError{Folder: dir, Op: "check", Err: fmt.Errorf("%w: %s", fsutil.ErrNotPrivate, pe.Reason),
					Fix: "the agent keeps this folder to itself and touched nothing in it"}
			}
			return Layout{}, &FolderError{Folder: dir, Op: "create", Err: err,
				Fix: "give the agent's user write permission on the spool folder"}
		}
	}
	for _, dir := range []string{l.Outgoing, l.Inbox, l.Failed, l.Sent, l.Work, l.InboxTmp} {
		if err := prepareFolder(dir); err != nil {
			return Layout{}, err
		}
	}
	removeLegacyInboxTmp(l.Inbox)
	// Every move the agent makes: outgoing → .work (claim), .work → failed,
	// .work → sent, and the inbox writer's .tmp → inbox.
	moves := [][]string{
		{l.Outgoing, l.Work, l.Failed, l.Sent},
		{l.InboxTmp, l.Inbox},
	}
	for _, chain := range moves {
		if err := probeMoves(chain); err != nil {
			return Layout{}, err
		}
	}
	return l, nil
}

func prepareFolder(dir string) error {
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return &FolderError{Folder: dir, Op: "create", Err: err,
			Fix: "create it, or give the agent's user write permission on its parent folder"}
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return &FolderError{Folder: dir, Op: "check", Err: err,
			Fix: "give the agent's user permission to open the spool folders"}
	}
	if !fi.IsDir() {
		return &FolderError{Folder: dir, Op: "check", Err: ErrNotFolder,
			Fix: "remove or rename what is there so the agent can create the folder"}
	}
	removeStaleProbes(dir)
	const fix = "give the agent's user permission to create, rename and delete files in it (owner or group write, e.g. chown the folder to the agent's user)"
	path, err := createProbe(dir)
	if err != nil {
		return &FolderError{Folder: dir, Op: "write", Err: err, Fix: fix}
	}
	renamed := path + "-renamed"
	if err := os.Rename(path, renamed); err != nil {
		_ = os.Remove(path)
		return &FolderError{Folder: dir, Op: "rename", Err: err, Fix: fix}
	}
	if err := os.Remove(renamed); err != nil {
		return &FolderError{Folder: dir, Op: "remove", Err: err, Fix: fix}
	}
	return nil
}

// removeLegacyInboxTmp removes inbox/.tmp, where earlier versions kept the
// inbox writer's temporary files: inside the producers' inbox/ it was
// theirs to replace. It is removed only when it is a folder of the agent's
// own; whatever else stands there (a link, a producer's folder) is left
// alone, since nothing reads it any more.
func removeLegacyInboxTmp(inbox string) {
	legacy := filepath.Join(inbox, ".tmp")
	if fsutil.ClearPrivateDir(legacy) == nil {
		_ = os.Remove(legacy)
	}
}

// probeMoves walks one probe file through the folders of chain in order and
// removes it at the end.
func probeMoves(chain []string) error {
	path, err := createProbe(chain[0])
	if err != nil {
		return &FolderError{Folder: chain[0], Op: "write", Err: err,
			Fix: "give the agent's user permission to create files in it"}
	}
	base := filepath.Base(path)
	for _, dir := range chain[1:] {
		next := filepath.Join(dir, base)
		if err := os.Rename(path, next); err != nil {
			_ = os.Remove(path)
			return &FolderError{Folder: dir, Op: "move", Err: fmt.Errorf("rename from %s: %w", filepath.Dir(path), err),
				Fix: "keep all spool folders on one file system (a symlink to another disk or a separate mount breaks atomic renames)"}
		}
		path = next
	}
	if err := os.Remove(path); err != nil {
		return &FolderError{Folder: filepath.Dir(path), Op: "remove", Err: err,
			Fix: "give the agent's user permission to delete files in it"}
	}
	return nil
}

func createProbe(dir string) (string, error) {
	for i := 0; ; i++ {
		path := filepath.Join(dir, probePrefix+strconv.Itoa(os.Getpid())+"-"+strconv.Itoa(i))
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fileMode)
		if errors.Is(err, os.ErrExist) && i < 100 {
			continue
		}
		if err != nil {
			return "", err
		}
		return path, f.Close()
	}
}

// removeStaleProbes deletes probe files left by an agent that died inside
// Prepare. They are hidden, so nothing else would ever remove them.
func removeStaleProbes(dir string) {
	names, err := readNames(dir)
	if err != nil {
		return
	}
	for _, name := range names {
		if strings.HasPrefix(name, probePrefix) {
			_ = os.Remove(filepath.Join(dir, name))
		}
	}
}

// readNames lists a folder without stat-ing its entries: a scan Lstat-s only
// the names the pickup rules keep.
func readNames(dir string) ([]string, error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	names, err := d.Readdirnames(-1)
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return names, err
}
