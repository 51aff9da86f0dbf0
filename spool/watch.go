package spool

import "github.com/fsnotify/fsnotify"

// watcher is the part of *fsnotify.Watcher the loop uses. Tests substitute
// one that delivers only what they send, to drive the overflow and error
// paths deterministically.
type watcher interface {
	Add(path string) error
	Close() error
	Events() <-chan fsnotify.Event
	Errors() <-chan error
}

type fsWatcher struct{ w *fsnotify.Watcher }

func newFSWatcher() (watcher, error) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, err
	}
	return fsWatcher{w}, nil
}

func (f fsWatcher) Add(path string) error         { return f.w.Add(path) }
func (f fsWatcher) Close() error                  { return f.w.Close() }
func (f fsWatcher) Events() <-chan fsnotify.Event { return f.w.Events }
func (f fsWatcher) Errors() <-chan error          { return f.w.Errors }
