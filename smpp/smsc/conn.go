package smsc

import (
	"errors"
	"net"
	"os"
	"sync"
	"time"
)

// faultConn is the connection under a simulator session. It lets the
// simulator go silent (stop reading and writing without closing: a
// half-open link), write raw octets between two PDUs (garbage, an
// oversized command_length), and drop the link with a FIN or a RST.
type faultConn struct {
	net.Conn
	// wmu serialises the session's writes and injected octets, so an
	// injection lands between two PDUs, never inside one (the session
	// writes whole PDUs per call).
	wmu sync.Mutex

	mu     sync.Mutex
	resume chan struct{} // non-nil while silent; closed when silence ends
	timer  *time.Timer

	closeOnce sync.Once
	closed    chan struct{}
}

func newFaultConn(c net.Conn) *faultConn {
	return &faultConn{Conn: c, closed: make(chan struct{})}
}

// Read blocks while the connection is silent. What the peer sends
// meanwhile stays in the kernel and is read afterwards, if the peer has
// not given up by then.
func (c *faultConn) Read(b []byte) (int, error) {
	for {
		if ch := c.silence(); ch != nil {
			select {
			case <-ch:
			case <-c.closed:
				return 0, net.ErrClosed
			}
		}
		n, err := c.Conn.Read(b)
		// The session never sets a read deadline: a timeout is silence
		// interrupting a blocked read. Go round and wait it out.
		if n == 0 && errors.Is(err, os.ErrDeadlineExceeded) {
			continue
		}
		return n, err
	}
}

// Write discards while silent, as a link that lost its packets would.
func (c *faultConn) Write(b []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.silence() != nil {
		return len(b), nil
	}
	return c.Conn.Write(b)
}

func (c *faultConn) silence() chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.resume
}

// goSilent stops reading and writing for d (extending a silence under
// way).
func (c *faultConn) goSilent(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.resume == nil {
		c.resume = make(chan struct{})
		// Interrupt a read blocked in the kernel; Read waits the rest.
		_ = c.Conn.SetReadDeadline(time.Unix(1, 0))
	} else {
		c.timer.Stop()
	}
	c.timer = time.AfterFunc(d, c.speak)
}

func (c *faultConn) speak() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.resume != nil {
		_ = c.Conn.SetReadDeadline(time.Time{})
		close(c.resume)
		c.resume = nil
	}
}

// inject writes raw octets between two PDUs.
func (c *faultConn) inject(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_, err := c.Conn.Write(b)
	return err
}

// drop closes the connection: with a RST when rst is set (SO_LINGER 0, as
// a crashed host or a firewall does), else with a FIN.
func (c *faultConn) drop(rst bool) {
	if tc, ok := c.Conn.(*net.TCPConn); ok && rst {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}

func (c *faultConn) Close() error {
	err := net.ErrClosed
	c.closeOnce.Do(func() {
		close(c.closed)
		c.mu.Lock()
		if c.timer != nil {
			c.timer.Stop()
		}
		c.mu.Unlock()
		err = c.Conn.Close()
	})
	return err
}
