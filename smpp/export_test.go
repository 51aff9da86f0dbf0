package smpp

// SetNextSequence makes the next request go out with seq (tests of the
// wrap at 0x7FFFFFFF).
func (s *Session) SetNextSequence(seq uint32) {
	s.mu.Lock()
	s.seq = seq - 1
	s.mu.Unlock()
}

// SetMaxBacklog lowers the write backlog limit for a test; the returned
// function restores it.
func SetMaxBacklog(n int) (restore func()) {
	old := maxBacklog
	maxBacklog = n
	return func() { maxBacklog = old }
}
