package smsc_test

import (
	"errors"
	"io"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/smsagent/smsagent/smpp"
	"github.com/smsagent/smsagent/smpp/pdu"
	"github.com/smsagent/smsagent/smpp/smsc"
)

func waitEnd(t testing.TB, s *smpp.Session) error {
	t.Helper()
	select {
	case <-s.Done():
		return s.Err()
	case <-time.After(10 * time.Second):
		t.Fatal("session still running after 10s")
	}
	return nil
}

// clockedSubmitter is a server on a clock the test moves (advance) and a
// transmitter bound to it; submit sends one message and returns its status.
type clockedSubmitter struct {
	srv *smsc.Server
	s   *smpp.Session
	mu  sync.Mutex
	now time.Time
}

func newClockedSubmitter(t *testing.T) *clockedSubmitter {
	c := &clockedSubmitter{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	c.srv = startServer(t, smsc.Options{Clock: c.clock})
	c.s = bind(t, c.srv, smpp.Transmitter, smpp.SessionOptions{})
	return c
}

func (c *clockedSubmitter) clock() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clockedSubmitter) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func (c *clockedSubmitter) submit(t *testing.T) pdu.Status {
	t.Helper()
	_, err := c.s.Submit(ctx10(t), sm("358401234567", "x"))
	if re := (*smpp.RequestError)(nil); err != nil && !errors.As(err, &re) {
		t.Fatalf("submit: %v", err)
	}
	return refusal(err)
}

// Every Nth submission throttled, then a storm that throttles all until
// the clock passes its end.
func TestServer_SetFaults_throttle(t *testing.T) {
	c := newClockedSubmitter(t)
	srv := c.srv
	srv.SetFaults(smsc.Faults{ThrottleEvery: 3})
	var got []pdu.Status
	for range 6 {
		got = append(got, c.submit(t))
	}
	ok, th := pdu.StatusOK, pdu.StatusThrottled
	if want := []pdu.Status{ok, ok, th, ok, ok, th}; !slices.Equal(got, want) {
		t.Errorf("statuses %v, want %v", got, want)
	}
	srv.SetFaults(smsc.Faults{ThrottleUntil: c.clock().Add(time.Minute)})
	for range 3 {
		if st := c.submit(t); st != th {
			t.Errorf("in the storm: %v", st)
		}
	}
	c.advance(time.Minute)
	if st := c.submit(t); st != ok {
		t.Errorf("after the storm: %v", st)
	}
	if st := srv.Stats(); st.Throttled != 5 || st.Accepted != 5 {
		t.Errorf("stats %+v", st)
	}
}

// A rate the SMSC sells: at most ThrottleRate accepted in each second of
// its clock, the rest throttled, and a new second starts afresh.
func TestServer_SetFaults_throttleRate(t *testing.T) {
	c := newClockedSubmitter(t)
	c.srv.SetFaults(smsc.Faults{ThrottleRate: 2})
	ok, th := pdu.StatusOK, pdu.StatusThrottled
	var got []pdu.Status
	for range 4 {
		got = append(got, c.submit(t))
	}
	c.advance(999 * time.Millisecond)
	got = append(got, c.submit(t))
	c.advance(time.Millisecond)
	for range 3 {
		got = append(got, c.submit(t))
	}
	if want := []pdu.Status{ok, ok, th, th, th, ok, ok, th}; !slices.Equal(got, want) {
		t.Errorf("statuses %v, want %v", got, want)
	}
}

// generic_nack in place of every Nth response.
func TestServer_SetFaults_nack(t *testing.T) {
	srv := startServer(t, smsc.Options{})
	s := bind(t, srv, smpp.Transmitter, smpp.SessionOptions{})
	srv.SetFaults(smsc.Faults{NackEvery: 2})
	if _, err := s.Submit(ctx10(t), sm("358401234567", "x")); err != nil {
		t.Fatal(err)
	}
	_, err := s.Submit(ctx10(t), sm("358401234567", "x"))
	var re *smpp.RequestError
	if !errors.As(err, &re) || !re.Nack || re.Status != pdu.StatusSysErr {
		t.Errorf("second submit: %v, want generic_nack ESME_RSYSERR", err)
	}
}

// Delayed responses: the ESME's response timeout says Pending, then the
// late response arrives as the final result. With responses held back,
// the simulator sees exactly the ESME's window outstanding, never more.
func TestServer_SetFaults_delayAndWindow(t *testing.T) {
	srv := startServer(t, smsc.Options{})
	const window = 5
	s := bind(t, srv, smpp.Transmitter, smpp.SessionOptions{Window: window, ResponseTimeout: 20 * time.Millisecond, MaxUnanswered: 100})
	srv.SetFaults(smsc.Faults{Delay: 300 * time.Millisecond})
	res := make(chan smpp.Result, 100)
	const n = 20
	for range n {
		if err := s.Send(ctx10(t), sm("358401234567", "x"), func(r smpp.Result) { res <- r }); err != nil {
			t.Fatal(err)
		}
	}
	pending, final := 0, 0
	for final < n {
		select {
		case r := <-res:
			switch {
			case r.Pending:
				pending++
			case r.Err == nil && r.Header.Status == pdu.StatusOK:
				final++
			default:
				t.Fatalf("result %+v", r)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%d final results of %d", final, n)
		}
	}
	if pending != n {
		t.Errorf("%d Pending, want %d", pending, n)
	}
	if st := srv.Stats(); st.MaxOutstanding <= window {
		// A timed-out request frees its slot: more are outstanding at
		// the simulator than the window, which is the point of Pending.
		t.Errorf("max outstanding %d; timeouts did not free the window", st.MaxOutstanding)
	}

	srv2 := startServer(t, smsc.Options{})
	s2 := bind(t, srv2, smpp.Transmitter, smpp.SessionOptions{Window: window})
	srv2.SetFaults(smsc.Faults{Delay: 100 * time.Millisecond})
	var wg sync.WaitGroup
	for range 4 * window {
		wg.Add(1)
		if err := s2.Send(ctx10(t), sm("358401234567", "x"), func(r smpp.Result) { wg.Done() }); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	if st := srv2.Stats(); st.MaxOutstanding != window {
		t.Errorf("max outstanding at the simulator %d, want the window %d", st.MaxOutstanding, window)
	}
}

// A response that never comes: Pending, and the outcome stays unknown
// until the session ends; the message was accepted all the same.
func TestServer_SetFaults_drop(t *testing.T) {
	srv := startServer(t, smsc.Options{})
	s := bind(t, srv, smpp.Transmitter, smpp.SessionOptions{ResponseTimeout: 20 * time.Millisecond})
	srv.SetFaults(smsc.Faults{DropEvery: 2})
	if _, err := s.Submit(ctx10(t), sm("358401234567", "x")); err != nil {
		t.Fatal(err)
	}
	res := make(chan smpp.Result, 2)
	if err := s.Send(ctx10(t), sm("358401234567", "x"), func(r smpp.Result) { res <- r }); err != nil {
		t.Fatal(err)
	}
	if r := <-res; !r.Pending {
		t.Fatalf("first call %+v", r)
	}
	if err := s.Close(ctx10(t)); err != nil {
		t.Fatal(err)
	}
	if r := <-res; !errors.Is(r.Err, smpp.ErrClosed) {
		t.Errorf("final %+v", r)
	}
	if st, err := srv.WaitFor(ctx10(t), func(st smsc.Stats) bool {
		return st.Dropped == 1 && st.Accepted == 2 && st.ReceiptsQueued == 2
	}); err != nil {
		t.Errorf("stats %+v", st)
	}
}

// The connection dropped when the Nth submission arrives: with a FIN the
// ESME reads EOF, with a RST a reset; the submission in flight ends with
// that error, the earlier ones were answered.
func TestServer_SetFaults_disconnect(t *testing.T) {
	for _, rst := range []bool{false, true} {
		srv := startServer(t, smsc.Options{})
		s := bind(t, srv, smpp.Transmitter, smpp.SessionOptions{})
		srv.SetFaults(smsc.Faults{DisconnectAfter: 3, DisconnectRST: rst})
		for i := range 2 {
			if _, err := s.Submit(ctx10(t), sm("358401234567", "x")); err != nil {
				t.Fatalf("submit %d: %v", i+1, err)
			}
		}
		_, err := s.Submit(ctx10(t), sm("358401234567", "x"))
		want := error(io.EOF)
		if rst {
			want = errConnReset
		}
		if !errors.Is(err, want) || !errors.Is(waitEnd(t, s), want) {
			t.Errorf("rst=%v: submit %v, session %v; want %v", rst, err, s.Err(), want)
		}
		if st := srv.Stats(); st.Accepted != 2 {
			t.Errorf("rst=%v: %d accepted", rst, st.Accepted)
		}
	}
}

// The simulator ends the session itself with unbind (§4.2): the ESME
// answers and ends with ErrUnbound.
func TestServer_Unbind(t *testing.T) {
	srv := startServer(t, smsc.Options{})
	s := bind(t, srv, smpp.Transceiver, smpp.SessionOptions{})
	if err := srv.Unbind(ctx10(t), "agent"); err != nil {
		t.Fatalf("Unbind: %v", err)
	}
	if err := waitEnd(t, s); !errors.Is(err, smpp.ErrUnbound) {
		t.Errorf("ESME ended with %v", err)
	}
}

// Raw octets between two PDUs: a command_length the ESME will not buffer,
// or one shorter than a header. Framing is lost; the ESME says so with
// generic_nack ESME_RINVCMDLEN and closes.
func TestServer_Inject(t *testing.T) {
	for _, tc := range []struct {
		name string
		raw  []byte
		want pdu.FramingReason
	}{
		{"oversized command_length", []byte{0x7F, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 9}, pdu.FramingTooLong},
		{"garbage", []byte{0, 0, 0, 3, 0xDE, 0xAD, 0xBE, 0xEF}, pdu.FramingTooShort},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := startServer(t, smsc.Options{})
			s := bind(t, srv, smpp.Transceiver, smpp.SessionOptions{})
			srv.Inject("agent", tc.raw)
			var fe *pdu.FramingError
			if err := waitEnd(t, s); !errors.As(err, &fe) || fe.Reason != tc.want {
				t.Errorf("ESME ended with %v, want framing reason %d", err, tc.want)
			}
			if _, err := srv.WaitFor(ctx10(t), func(st smsc.Stats) bool { return st.Bound == 0 }); err != nil {
				t.Error("the simulator kept the session")
			}
		})
	}
}

// A half-open link: the simulator stops reading and writing without a
// FIN. Only the ESME's enquire_link finds out, within the interval plus
// the response deadline.
func TestServer_GoSilent(t *testing.T) {
	checkNoLeak(t)
	srv := startServer(t, smsc.Options{})
	const interval, deadline = 50 * time.Millisecond, 50 * time.Millisecond
	s := bind(t, srv, smpp.Transceiver, smpp.SessionOptions{EnquireLink: interval, EnquireLinkTimeout: deadline})
	// Quiet for several intervals: the answered enquire_links keep it up.
	res := make(chan smpp.Result, 1)
	if err := s.Send(ctx10(t), &pdu.EnquireLink{}, func(r smpp.Result) { res <- r }); err != nil {
		t.Fatal(err)
	}
	if r := <-res; r.Err != nil || r.Header.ID != pdu.EnquireLinkRespID {
		t.Fatalf("enquire_link: %+v", r)
	}
	srv.GoSilent("", time.Minute)
	start := time.Now()
	if err := waitEnd(t, s); !errors.Is(err, smpp.ErrLinkDead) {
		t.Fatalf("ESME ended with %v", err)
	}
	// The bound is interval + deadline from the last PDU received; allow
	// for a loaded machine, but not for a detector that never fires.
	if d := time.Since(start); d > interval+deadline+2*time.Second {
		t.Errorf("dead link found after %v", d)
	}
	srv.Drop("", false)
}

// Restart drops every session, like a crashed SMSC, and comes back with
// other id formats.
func TestServer_Restart(t *testing.T) {
	srv := startServer(t, smsc.Options{})
	s := bind(t, srv, smpp.Transmitter, smpp.SessionOptions{})
	if resp, err := s.Submit(ctx10(t), sm("358401234567", "x")); err != nil || resp.MessageID != "00000001" {
		t.Fatalf("before: %v %v", resp, err)
	}
	srv.Restart(smsc.DecimalID, nil)
	if err := waitEnd(t, s); !errors.Is(err, errConnReset) {
		t.Errorf("session ended with %v", err)
	}
	s = bind(t, srv, smpp.Transmitter, smpp.SessionOptions{})
	if resp, err := s.Submit(ctx10(t), sm("358401234567", "x")); err != nil || resp.MessageID != "2" {
		t.Fatalf("after: %v %v", resp, err)
	}
}
