package smpp

import "fmt"

// maxKeptBuffer is the largest write buffer kept for reuse; a bigger one
// (a burst of message_payload PDUs) is dropped after use.
const maxKeptBuffer = 256 << 10

// writeLoop is the session's only writer. Senders append whole PDUs to
// wbuf under mu and wake it; it swaps wbuf for its spare buffer and writes
// everything in one call. While one write is in the kernel the next batch
// gathers, so a full window goes out in a few system calls and nothing is
// allocated in the steady state.
func (s *Session) writeLoop() {
	defer s.aux.Done()
	spare := make([]byte, 0, 4096)
	for {
		select {
		case <-s.wake:
		case <-s.quit:
			if s.flush {
				s.mu.Lock()
				buf := s.wbuf
				s.wbuf = nil
				s.handed = s.appended
				s.mu.Unlock()
				if len(buf) > 0 {
					_, _ = s.conn.Write(buf) // bounded by the deadline fail set
				}
			}
			_ = s.conn.Close()
			return
		}
		s.mu.Lock()
		buf := s.wbuf
		s.wbuf = spare[:0]
		s.handed = s.appended
		s.mu.Unlock()
		if len(buf) > 0 {
			if _, err := s.conn.Write(buf); err != nil {
				s.fail(fmt.Errorf("smpp: write: %w", err), false)
				_ = s.conn.Close()
				return
			}
		}
		if cap(buf) > maxKeptBuffer {
			buf = make([]byte, 0, 4096)
		}
		spare = buf
	}
}
