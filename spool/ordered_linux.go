package spool

// orderedEvents is true where the watcher delivers the events of one watch in
// the order they happened, so that a barrier file's Create proves every
// earlier Write has been seen. inotify(7): "The events returned by reading
// from an inotify file descriptor form an ordered queue", and fsnotify reads
// that queue from one goroutine into an unbuffered channel.
const orderedEvents = true
