package main

import (
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/debug"
)

func init() {
	addCommand("version", "Print the version and build information.", func() any { return &versionCmd{} })
}

type versionCmd struct {
	JSON bool `help:"Print as a JSON object."`
}

// buildInfo says which build this is.
type buildInfo struct {
	Version  string `json:"version"`
	Commit   string `json:"commit,omitempty"`
	Date     string `json:"date,omitempty"`
	Go       string `json:"go"`
	Platform string `json:"platform"`
}

func (c *versionCmd) Run(a *app) error {
	bi, ok := debug.ReadBuildInfo()
	info := resolveBuildInfo(version, commit, date, bi, ok)
	if c.JSON {
		enc := json.NewEncoder(a.stdout)
		return enc.Encode(info)
	}
	_, err := fmt.Fprintln(a.stdout, info)
	return err
}

// String gives the one-line form: "smsagent 1.2.3 (commit abc1234, built
// 2026-01-02T03:04:05Z, go1.26.0 linux/amd64)".
func (b buildInfo) String() string {
	s := "smsagent " + b.Version + " ("
	if b.Commit != "" {
		s += "commit " + b.Commit + ", "
	}
	if b.Date != "" {
		s += "built " + b.Date + ", "
	}
	return s + b.Go + " " + b.Platform + ")"
}

// resolveBuildInfo prefers the values stamped with -ldflags -X and falls
// back to what the Go toolchain recorded: the module version for go install
// builds, the VCS revision and time for builds from a checkout.
func resolveBuildInfo(version, commit, date string, bi *debug.BuildInfo, ok bool) buildInfo {
	info := buildInfo{Version: version, Commit: commit, Date: date, Go: runtime.Version(),
		Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if ok {
		if info.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			info.Version = bi.Main.Version
		}
		modified := false
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if info.Commit == "" {
					info.Commit = s.Value
					if len(info.Commit) > 12 {
						info.Commit = info.Commit[:12]
					}
				}
			case "vcs.time":
				if info.Date == "" {
					info.Date = s.Value
				}
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
		if modified && commit == "" && info.Commit != "" {
			info.Commit += "-dirty"
		}
		if bi.GoVersion != "" {
			info.Go = bi.GoVersion
		}
	}
	if info.Version == "" {
		info.Version = "dev"
	}
	return info
}
