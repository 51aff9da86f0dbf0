//go:build !linux

package bench

import "github.com/smsagent/smsagent/internal/fsutil"

// syncGroup: without syncfs the inbox writer fsyncs every file.
const syncGroup = false

func syncFS(string) error { return nil }

func syncDir(dir string) error { return fsutil.SyncDir(dir) }
