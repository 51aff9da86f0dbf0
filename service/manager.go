package service

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
)

// Errors of the install and uninstall commands, for errors.Is.
var (
	// ErrInstalledByPackage: the unit came with the .deb or .rpm; systemctl
	// manages it, and service install or uninstall would fight the package.
	ErrInstalledByPackage = errors.New("installed by a package")
	// ErrAlreadyInstalled: a unit or Windows service of this name exists.
	ErrAlreadyInstalled = errors.New("already installed")
	// ErrNotInstalled: there is no such service.
	ErrNotInstalled = errors.New("not installed")
)

// Status is what the service manager says about the service.
type Status int

const (
	StatusUnknown Status = iota
	StatusNotInstalled
	StatusStopped
	StatusRunning
	// StatusFailed: systemd holds the unit in the failed state (it exited
	// with an error and is not being restarted).
	StatusFailed
)

func (s Status) String() string {
	switch s {
	case StatusNotInstalled:
		return "not installed"
	case StatusStopped:
		return "stopped"
	case StatusRunning:
		return "running"
	case StatusFailed:
		return "failed"
	}
	return "unknown"
}

// Controller drives the system's service manager for one service. The
// default is kardianos/service (systemd on Linux, the SCM on Windows); tests
// pass a fake.
type Controller interface {
	Install() error
	Uninstall() error
	Start() error
	Stop() error
	Restart() error
	Status() (Status, error)
}

// Options configure a Manager.
type Options struct {
	// ConfigFile is the configuration the service runs with; made
	// absolute.
	ConfigFile string
	// Executable is the smsagent binary; "" means this program.
	Executable string
	// WritablePaths are folders the service writes besides its state
	// folder (Linux; see Unit.WritablePaths). Install creates the missing
	// ones: on Linux owned by the service user (mode 0750) below parents
	// it creates root-owned with mode 0755, on Windows restricted like
	// PrivateDirs. Folders that exist are left as the administrator made
	// them. On Linux, Install then checks that the service user can enter
	// every folder on the way and write in each of these.
	WritablePaths []string
	// ReadableFiles are files the service reads (the configuration and
	// the secret files it names); on Linux, Install checks that the
	// service user can reach and read each.
	ReadableFiles []string
	// PrivateDirs are folders Install (Windows) creates when missing and
	// always restricts to LocalSystem and the Administrators group, with
	// everything in them: the default %ProgramData%\smsagent, which holds
	// the configuration with the SMPP password, the queue and the spool.
	PrivateDirs []string
	// User is the account the Linux service runs as; "" means
	// DefaultUser.
	User string
	// Root is the folder the systemd unit folders and WritablePaths are
	// looked up under; "" means "/". Tests point it at a temporary folder.
	Root string
	// Controller replaces kardianos/service; tests pass a fake.
	Controller Controller
	// LookupUser resolves the service account to its ids and groups; nil
	// means os/user.Lookup.
	LookupUser func(name string) (Account, error)
	// RestrictDir sets a folder's access control list as PrivateDirs
	// describes (Windows); nil means the real one. Tests record the calls.
	RestrictDir func(dir string) error
}

// Manager installs, removes and controls the smsagent service: the
// implementation of "smsagent service install|uninstall|start|stop|restart|
// status".
type Manager struct {
	opts    Options
	goos    string
	unit    string // the rendered systemd unit (Linux)
	unitErr error  // why the unit could not be rendered; reported by Install
	ctl     Controller
}

// NewManager prepares a Manager. It fails when this system's service
// manager is not one smsagent supports (systemd, the Windows SCM).
func NewManager(opts Options) (*Manager, error) {
	return newManager(opts, runtime.GOOS)
}

func newManager(opts Options, goos string) (*Manager, error) {
	if opts.ConfigFile == "" {
		return nil, errors.New("service: no configuration file")
	}
	abs, err := filepath.Abs(opts.ConfigFile)
	if err != nil {
		return nil, fmt.Errorf("service: %w", err)
	}
	opts.ConfigFile = abs
	if opts.Executable == "" {
		if opts.Executable, err = executable(); err != nil {
			return nil, fmt.Errorf("service: cannot find this program's path: %w", err)
		}
	}
	if opts.User == "" {
		opts.User = DefaultUser
	}
	if opts.LookupUser == nil {
		opts.LookupUser = lookupUser
	}
	if opts.RestrictDir == nil {
		opts.RestrictDir = restrictDir
	}
	m := &Manager{opts: opts, goos: goos}
	if goos == "linux" {
		m.unit, m.unitErr = Unit{
			Exec:          opts.Executable,
			ConfigFile:    opts.ConfigFile,
			WritablePaths: opts.WritablePaths,
			User:          opts.User,
		}.Render()
	}
	m.ctl = opts.Controller
	if m.ctl == nil {
		if m.ctl, err = newController(m.kardianosConfig()); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// executable is this program's path with symbolic links resolved, so that a
// unit does not break when a link is repointed.
func executable() (string, error) {
	p, err := os.Executable()
	if err != nil {
		return "", err
	}
	return filepath.EvalSymlinks(p)
}

// Account is the Linux service user as the permission checks see it.
type Account struct {
	Name     string
	UID, GID int
	// Groups are the ids of every group the account is in, its primary
	// group included: systemd gives the service all of them (User=).
	Groups []int
}

func lookupUser(name string) (Account, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return Account{}, err
	}
	a := Account{Name: name}
	if a.UID, err = strconv.Atoi(u.Uid); err != nil {
		return Account{}, err
	}
	if a.GID, err = strconv.Atoi(u.Gid); err != nil {
		return Account{}, err
	}
	ids, err := u.GroupIds()
	if err != nil {
		return Account{}, fmt.Errorf("groups of %s: %w", name, err)
	}
	for _, id := range ids {
		if g, err := strconv.Atoi(id); err == nil {
			a.Groups = append(a.Groups, g)
		}
	}
	return a, nil
}

// Unit returns the systemd unit Install writes (Linux).
func (m *Manager) Unit() (string, error) { return m.unit, m.unitErr }

// Install registers the service to start at boot. It does not start it.
//
// On Linux it refuses when the package's unit exists (systemctl manages
// that one) or when an administrator's unit exists, checks the service user
// exists, creates the writable folders that are missing, owned by that
// user, and refuses when that user could not enter, write or read what the
// service needs (see Options.WritablePaths, Options.ReadableFiles). On
// Windows it keeps ordinary users out of the private folders and of the
// writable folders it creates, and sets the recovery actions.
func (m *Manager) Install() error {
	if m.goos == "windows" {
		if err := m.restrictFolders(); err != nil {
			return err
		}
	}
	if m.goos == "linux" {
		if m.unitErr != nil {
			return m.unitErr
		}
		if err := m.checkUnitFree(); err != nil {
			return err
		}
		acct, err := m.opts.LookupUser(m.opts.User)
		if err != nil {
			return fmt.Errorf("service: user %[1]s does not exist (%[2]v); create it first: "+
				"groupadd --system %[1]s && useradd --system --gid %[1]s --home-dir %[3]s --shell /usr/sbin/nologin %[1]s",
				m.opts.User, err, StateDir)
		}
		if acct.Name == "" {
			acct.Name = m.opts.User
		}
		if err := m.makeWritablePaths(acct); err != nil {
			return err
		}
		if err := m.checkReach(acct); err != nil {
			return err
		}
	}
	if err := m.ctl.Install(); err != nil {
		return fmt.Errorf("service: install: %w", err)
	}
	return nil
}

// checkUnitFree refuses to shadow a packaged unit or overwrite an existing
// one: /etc/systemd/system wins over /usr/lib/systemd/system, so a unit
// written there would silently replace the package's on every upgrade.
func (m *Manager) checkUnitFree() error {
	if m.exists(PackagedUnitPath) {
		return fmt.Errorf("service: %s is %w; use systemctl enable --now smsagent", PackagedUnitPath, ErrInstalledByPackage)
	}
	if m.exists(AdminUnitPath) {
		return fmt.Errorf("service: %s exists: %w; run smsagent service uninstall first, or edit it with systemctl edit --full smsagent",
			AdminUnitPath, ErrAlreadyInstalled)
	}
	return nil
}

func (m *Manager) exists(p string) bool {
	_, err := os.Lstat(m.rooted(p))
	return err == nil
}

func (m *Manager) rooted(p string) string {
	if m.opts.Root == "" {
		return p
	}
	return filepath.Join(m.opts.Root, p)
}

// restrictFolders gives the private folders, and the writable folders that
// do not exist yet, an access control list that only the service and
// administrators pass. A writable folder that exists may be shared with
// others (a spool on a data volume) and is left alone.
func (m *Manager) restrictFolders() error {
	var dirs []string
	for _, p := range m.opts.WritablePaths {
		if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
			dirs = append(dirs, p)
		} else if err != nil {
			return fmt.Errorf("service: %w", err)
		}
	}
	for _, p := range append(m.opts.PrivateDirs, dirs...) {
		if err := os.MkdirAll(p, 0o750); err != nil {
			return fmt.Errorf("service: %w", err)
		}
		if err := m.opts.RestrictDir(p); err != nil {
			return err
		}
	}
	return nil
}

// Modes of the folders Install creates on Linux: the writable folder is
// the service's; a parent it had to create leads there and to nothing
// else, so everyone may pass (as through /srv or /var/lib).
const (
	writableDirMode os.FileMode = 0o750
	parentDirMode   os.FileMode = 0o755
)

// makeWritablePaths creates the writable folders that do not exist yet:
// under ProtectSystem=strict the service itself cannot create them. Existing
// folders are left as the administrator made them. Shorter paths first, so
// that a writable folder inside another is not created as its parent.
//
// Modes are set with chmod after mkdir: the installer's umask (0027, 0077
// on hardened systems) would otherwise close the parents to the service.
func (m *Manager) makeWritablePaths(acct Account) error {
	paths := slices.Clone(m.opts.WritablePaths)
	slices.SortFunc(paths, func(a, b string) int { return len(a) - len(b) })
	for _, p := range paths {
		dir := m.rooted(filepath.Clean(p))
		if _, err := os.Stat(dir); err == nil {
			continue
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("service: %w", err)
		}
		if err := makeParents(filepath.Dir(dir)); err != nil {
			return err
		}
		if err := os.Mkdir(dir, writableDirMode); err != nil {
			return fmt.Errorf("service: %w", err)
		}
		if err := os.Chmod(dir, writableDirMode); err != nil {
			return fmt.Errorf("service: %w", err)
		}
		if err := os.Chown(dir, acct.UID, acct.GID); err != nil {
			return fmt.Errorf("service: %w", err)
		}
	}
	return nil
}

// makeParents creates dir and its missing parents with parentDirMode.
func makeParents(dir string) error {
	var missing []string
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil {
			break
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("service: %w", err)
		}
		missing = append(missing, d)
		if filepath.Dir(d) == d {
			break
		}
	}
	for i := len(missing) - 1; i >= 0; i-- {
		d := missing[i]
		if err := os.Mkdir(d, parentDirMode); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("service: %w", err)
		}
		if err := os.Chmod(d, parentDirMode); err != nil {
			return fmt.Errorf("service: %w", err)
		}
	}
	return nil
}

// checkReach makes sure the service user can do what the service will:
// enter every folder on the way to its writable folders and its files,
// create and remove files in the writable folders, read the files. A
// service installed without that would fail at its first start, with an
// error in the journal rather than here. Every problem is reported at once.
func (m *Manager) checkReach(acct Account) error {
	var errs []error
	check := func(p string, want access) {
		if err := reach(m.opts.Root, filepath.Clean(p), acct, want); err != nil {
			errs = append(errs, err)
		}
	}
	for _, p := range m.opts.WritablePaths {
		check(p, accessRead|accessWrite|accessSearch)
	}
	for _, p := range m.opts.ReadableFiles {
		if p != "" {
			check(p, accessRead)
		}
	}
	return errors.Join(errs...)
}

// Uninstall stops the service if it runs and removes it. On Linux it
// refuses to remove the package's unit.
func (m *Manager) Uninstall() error {
	if m.goos == "linux" && !m.exists(AdminUnitPath) {
		if m.exists(PackagedUnitPath) {
			return fmt.Errorf("service: %s is %w; remove the package instead (apt remove smsagent, dnf remove smsagent)",
				PackagedUnitPath, ErrInstalledByPackage)
		}
		return fmt.Errorf("service: %s: %w", AdminUnitPath, ErrNotInstalled)
	}
	if st, err := m.ctl.Status(); err == nil && st == StatusRunning {
		if err := m.ctl.Stop(); err != nil {
			return fmt.Errorf("service: stop before uninstall: %w", err)
		}
	}
	if err := m.ctl.Uninstall(); err != nil {
		return fmt.Errorf("service: uninstall: %w", err)
	}
	return nil
}

// Start asks the service manager to start the service.
func (m *Manager) Start() error { return wrap("start", m.ctl.Start()) }

// Stop asks the service manager to stop the service and waits, boundedly,
// until it has.
func (m *Manager) Stop() error { return wrap("stop", m.ctl.Stop()) }

// Restart stops and starts the service.
func (m *Manager) Restart() error { return wrap("restart", m.ctl.Restart()) }

// Status reports the service's state.
func (m *Manager) Status() (Status, error) {
	st, err := m.ctl.Status()
	if err != nil {
		return st, fmt.Errorf("service: status: %w", err)
	}
	return st, nil
}

func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("service: %s: %w", op, err)
}
