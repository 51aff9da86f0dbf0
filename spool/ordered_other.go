//go:build !linux

package spool

// orderedEvents is false where no ordering of directory events is known to
// hold: Windows ReadDirectoryChangesW reports size and write changes lazily
// and coalesces them, and kqueue (macOS, BSD) reports no writes to files in a
// watched folder at all. There the settle rule decides alone.
const orderedEvents = false
