package config

import (
	"os"
	"runtime"
	"strings"
)

// Paths are the default locations of the configuration file, the spool and
// the database on one operating system.
type Paths struct {
	File  string // the configuration file
	Spool string // spool.dir
	Store string // store.path
}

// DefaultPaths gives the default locations on this system: the FHS layout
// the Linux packages install (/etc/smsagent, /var/spool/smsagent,
// /var/lib/smsagent), or %ProgramData%\smsagent on Windows.
func DefaultPaths() Paths { return PathsFor(runtime.GOOS, os.Getenv) }

// DefaultFile is the configuration file used when none is named.
func DefaultFile() string { return DefaultPaths().File }

// PathsFor gives the default locations for the operating system goos,
// reading environment variables through getenv. It is separate from
// DefaultPaths so that the Windows layout can be checked on any system.
func PathsFor(goos string, getenv func(string) string) Paths {
	if goos == "windows" {
		// ProgramData is set on every Windows since Vista; the fallback
		// only matters for a service started with a scrubbed environment.
		base := strings.TrimRight(getenv("ProgramData"), `\`)
		if base == "" {
			base = `C:\ProgramData`
		}
		base += `\smsagent`
		return Paths{
			File:  base + `\smsagent.yaml`,
			Spool: base + `\spool`,
			Store: base + `\data\outbox.db`,
		}
	}
	return Paths{
		File:  "/etc/smsagent/smsagent.yaml",
		Spool: "/var/spool/smsagent",
		Store: "/var/lib/smsagent/outbox.db",
	}
}
