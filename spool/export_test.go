package spool

import (
	"time"

	"github.com/fsnotify/fsnotify"
)

// Test seams for the black-box tests in package spool_test.

// OrderedEvents reports whether the barrier fast path exists on this
// platform.
const OrderedEvents = orderedEvents

// MaxPending is the cap on tracked files.
const MaxPending = maxPending

// FakeWatcher delivers only what a test sends.
type FakeWatcher struct {
	Ev  chan fsnotify.Event
	Err chan error
}

func NewFakeWatcher() *FakeWatcher {
	return &FakeWatcher{Ev: make(chan fsnotify.Event), Err: make(chan error)}
}

func (f *FakeWatcher) Add(string) error              { return nil }
func (f *FakeWatcher) Close() error                  { return nil }
func (f *FakeWatcher) Events() <-chan fsnotify.Event { return f.Ev }
func (f *FakeWatcher) Errors() <-chan error          { return f.Err }

// UseWatcher makes the intake watch with w instead of fsnotify.
func UseWatcher(o *Options, w *FakeWatcher) {
	o.newWatcher = func() (watcher, error) { return w, nil }
}

// SetAfterScan installs a hook that runs on the loop goroutine at the end of
// every full scan.
func SetAfterScan(o *Options, f func(added int)) { o.hooks.afterScan = f }

var (
	SkipName     = skipName
	OriginalName = originalName
	Numbered     = numbered
)

// NewClaimer returns a function making claim names as one run of the loop
// does.
func NewClaimer() func(now time.Time, name string) string { return newClaimer().next }
