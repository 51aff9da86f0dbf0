package agent

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/config"
	"github.com/smsagent/smsagent/outbox"
)

// allowList is callbacks.allow: the networks and host names a callback may
// call, so that a message cannot make the agent call any host it names.
type allowList struct {
	nets  []netip.Prefix
	names map[string]bool
}

func newAllowList(entries []string) allowList {
	a := allowList{names: map[string]bool{}}
	for _, e := range entries {
		if p, err := netip.ParsePrefix(e); err == nil {
			a.nets = append(a.nets, p.Masked())
		} else if ip, err := netip.ParseAddr(e); err == nil {
			a.nets = append(a.nets, netip.PrefixFrom(ip, ip.BitLen()))
		} else {
			a.names[strings.ToLower(strings.TrimSuffix(e, "."))] = true
		}
	}
	return a
}

func (a allowList) allowsAddr(ip netip.Addr) bool {
	ip = ip.Unmap()
	for _, p := range a.nets {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// checkURL refuses, at intake, a callback URL whose host is neither a
// listed name nor an address in a listed network.
func (a allowList) checkURL(raw string) error {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("report_url: %w", err)
	}
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	if a.names[host] {
		return nil
	}
	if ip, err := netip.ParseAddr(host); err == nil && a.allowsAddr(ip) {
		return nil
	}
	return fmt.Errorf("report_url: host %q is not in callbacks.allow", u.Hostname())
}

// control refuses a connection to an address outside the allowed networks
// unless the URL named an allowed host (a name resolved at call time may
// point anywhere: rebinding to an internal address is what this stops).
func (a allowList) control(host string) func(network, address string, _ syscall.RawConn) error {
	named := a.names[strings.ToLower(strings.TrimSuffix(host, "."))]
	return func(_, address string, _ syscall.RawConn) error {
		if named {
			return nil
		}
		ap, err := netip.ParseAddrPort(address)
		if err != nil || !a.allowsAddr(ap.Addr()) {
			return fmt.Errorf("callback: %s is not in callbacks.allow", address)
		}
		return nil
	}
}

// callbacker makes the HTTP calls owed to report_url and dlr-url: due
// calls read from the outbox, made at most maxCalls at a time, and their
// outcomes committed in one group. A call that fails is retried with
// doubling backoff and jitter until callbacks.max_age, then given up. A
// stop ends the calls in flight; their callbacks are made again at the
// next start (at least once).
type callbacker struct {
	store    *outbox.Store
	allow    allowList
	cfg      config.Callbacks
	webhooks map[string]*webhook // by URL
	hook     *eventHook          // nil without hooks.command
	client   *http.Client
	clock    func() time.Time
	log      *slog.Logger
	obs      Observer
	agent    string // User-Agent
}

// maxCalls bounds the calls in flight, maxPerHost those to one host: a
// dead endpoint holds two of them for a timeout and delays no other
// report path.
const (
	maxCalls   = 8
	maxPerHost = 2
)

// callbackPoll is how often the worker looks for due calls when none is
// waiting: new ones are made by commits elsewhere.
const callbackPoll = time.Second

func newCallbacker(store *outbox.Store, cfg config.Callbacks, hooks []config.Webhook, hook *eventHook,
	clock func() time.Time, log *slog.Logger, obs Observer, version string) *callbacker {
	c := &callbacker{store: store, allow: newAllowList(cfg.Allow), cfg: cfg, clock: clock, log: log, obs: obs,
		agent: "smsagent/" + version, webhooks: make(map[string]*webhook, len(hooks)), hook: hook}
	longest := cfg.Timeout
	for _, h := range hooks {
		c.webhooks[h.URL] = &webhook{url: h.URL, secret: []byte(h.Secret().Reveal()), timeout: h.Timeout}
		longest = max(longest, h.Timeout)
	}
	tr := &http.Transport{
		Proxy:                 nil, // a proxy would hide the address the allow list checks
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       time.Minute,
		TLSHandshakeTimeout:   longest,
		ResponseHeaderTimeout: longest,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, _, _ := net.SplitHostPort(addr)
			d := net.Dialer{Timeout: cfg.Timeout, Control: c.allow.control(host)}
			return d.DialContext(ctx, network, addr)
		},
	}
	// Each call has its own deadline (callbacks.timeout, or the webhook's).
	c.client = &http.Client{Transport: tr,
		// A redirect could lead anywhere; the allow list would still
		// hold, but a callback is one call to the URL given.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return c
}

// run makes due calls until ctx ends. It owns the calls in flight: a due
// callback starts when fewer than maxCalls run and fewer than maxPerHost
// run to its host, and each outcome is committed as it comes (grouped with
// those that came meanwhile), so a host that does not answer holds its two
// places and nothing else.
func (c *callbacker) run(ctx context.Context) {
	defer c.client.CloseIdleConnections()
	type done struct {
		host string
		res  outbox.CallbackResult
	}
	finished := make(chan done, maxCalls+c.hookLimit()) // room for every call in flight: a stop never blocks one
	inFlight := map[string]bool{}                       // by key
	perHost := map[string]int{}
	var wg sync.WaitGroup
	defer wg.Wait() // calls cut short by ctx are made again at the next start
	wait := time.Duration(0)
	for {
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case d := <-finished:
			timer.Stop()
			batch := []outbox.CallbackResult{d.res}
			delete(inFlight, string(d.res.Key))
			perHost[d.host]--
			for more := true; more; {
				select {
				case d := <-finished:
					batch = append(batch, d.res)
					delete(inFlight, string(d.res.Key))
					perHost[d.host]--
				default:
					more = false
				}
			}
			if ctx.Err() != nil {
				return
			}
			if err := c.store.SettleCallbacks(ctx, batch); err != nil && ctx.Err() == nil {
				c.log.Error("agent: recording callbacks", "err", err)
			}
		case <-timer.C:
		}
		if len(inFlight)-perHost[hookHost] >= maxCalls && perHost[hookHost] >= c.hookLimit() {
			wait = callbackPoll
			continue
		}
		due, err := c.store.DueCallbacks(ctx, c.clock(), callbackPage)
		if err == nil && (c.hook != nil || len(due) < callbackPage) {
			// Runs are read apart from the calls: a backlog of one
			// never fills the other's page. Without a command, runs
			// left owed by an earlier configuration are read when the
			// calls leave room, and given up. Runs share one limit, so
			// those in flight and as many more as may start are all
			// that need reading: a long backlog is not decoded again
			// at every run's end.
			var runs []outbox.Callback
			runs, err = c.store.DueHookRuns(ctx, c.clock(), perHost[hookHost]+c.hookLimit())
			due = append(due, runs...)
		}
		if err != nil {
			if ctx.Err() == nil && !errors.Is(err, outbox.ErrClosed) {
				c.log.Error("agent: reading due callbacks", "err", err)
			}
			wait = callbackPoll
			continue
		}
		started := 0
		for i := range due {
			cb := due[i]
			host, limit := hostOf(cb.URL), maxPerHost
			if cb.Method == outbox.MethodHook {
				host, limit = hookHost, c.hookLimit()
			} else if len(inFlight)-perHost[hookHost] >= maxCalls {
				continue
			}
			if inFlight[string(cb.Key)] || perHost[host] >= limit {
				continue
			}
			inFlight[string(cb.Key)] = true
			perHost[host]++
			started++
			wg.Go(func() {
				err := c.call(ctx, &cb)
				if ctx.Err() != nil {
					return // stopping: owed still, made again at the next start; nothing to settle or count
				}
				finished <- done{host, c.settle(&cb, err)}
			})
		}
		wait = c.untilNext()
		if started == 0 && len(due) > 0 {
			// Everything due waits for calls in flight, whose ends wake
			// the loop: no need to look again soon.
			wait = callbackPoll
		}
	}
}

// callbackPage is how many due callbacks one look reads: those of a host
// already at maxPerHost are passed over, so up to this many waiting for
// one dead host still let the others through.
const callbackPage = 256

// hookLimit is how many runs of the event command may be made at once.
func (c *callbacker) hookLimit() int {
	if c.hook == nil {
		return 1 // runs owed from an earlier configuration fail at once
	}
	return c.hook.cfg.Concurrency
}

func hostOf(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return strings.ToLower(u.Host)
	}
	return ""
}

func (c *callbacker) untilNext() time.Duration {
	next, ok, err := c.store.NextCallback()
	if err != nil || !ok {
		return callbackPoll
	}
	return min(max(next.Sub(c.clock()), 10*time.Millisecond), callbackPoll)
}

// call makes one call; nil when the receiver took it.
func (c *callbacker) call(ctx context.Context, cb *outbox.Callback) error {
	if cb.Method == outbox.MethodHook {
		return c.runHook(ctx, cb)
	}
	var body io.Reader
	if cb.Method == http.MethodPost {
		body = bytes.NewReader(cb.Body)
	}
	timeout := c.cfg.Timeout
	var hook *webhook
	if cb.EventID != "" {
		if hook = c.webhooks[cb.URL]; hook == nil {
			return errWebhookGone
		}
		timeout = hook.timeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, cb.Method, cb.URL, body)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", c.agent)
	if cb.Method == http.MethodPost {
		req.Header.Set("Content-Type", "application/json")
	}
	if hook != nil {
		req.Header.Set("Smsagent-Event-Id", cb.EventID)
		req.Header.Set("Smsagent-Event-Type", cb.EventType)
		req.Header.Set("Smsagent-Signature", Signature(hook.secret, c.clock(), cb.Body))
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	ok := resp.StatusCode >= 200 && resp.StatusCode < 300
	if cb.Method == http.MethodGet {
		// Kannel counts only these as a delivered DLR.
		ok = resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusAccepted
	}
	if !ok {
		return fmt.Errorf("answered %s", resp.Status)
	}
	return nil
}

// settle decides what follows a call: done, another attempt after the
// backoff, or, past callbacks.max_age, give up.
func (c *callbacker) settle(cb *outbox.Callback, err error) outbox.CallbackResult {
	if cb.Method == outbox.MethodHook {
		return c.settleHook(cb, err)
	}
	if cb.EventID != "" {
		return c.settleWebhook(cb, err)
	}
	res := outbox.CallbackResult{Key: cb.Key}
	now := c.clock()
	switch {
	case err == nil:
		res.Outcome = outbox.CallbackDone
		c.obs.CallbackDone("delivered")
	case now.Sub(cb.Created) >= c.cfg.MaxAge:
		res.Outcome = outbox.CallbackGiveUp
		res.Error = err.Error()
		success := "2xx" // report_url
		if cb.Method == http.MethodGet {
			success = "200 or 202" // dlr-url: what Kannel counts as delivered
		}
		res.Reason = fmt.Sprintf("no %s answer within callbacks.max_age (%s): given up after %d attempts",
			success, config.FormatDuration(c.cfg.MaxAge), cb.Attempts+1)
		c.obs.CallbackDone("given_up")
		c.log.Warn("agent: callback given up", "id", cb.Message, "attempts", cb.Attempts+1,
			"since", cb.Created.Format(time.RFC3339), "err", err)
	default:
		res.Outcome = outbox.CallbackRetry
		res.Next = now.Add(c.backoff(cb.Attempts))
		c.obs.CallbackDone("retried")
		c.log.Info("agent: callback failed; trying again", "id", cb.Message, "attempt", cb.Attempts+1,
			"next", res.Next.Format(time.RFC3339), "err", err)
	}
	return res
}

// backoff is retry_initial doubled per attempt up to retry_max, between
// half of that and all of it.
func (c *callbacker) backoff(attempts int) time.Duration {
	d := c.cfg.RetryInitial
	for range attempts {
		if d >= c.cfg.RetryMax/2 {
			d = c.cfg.RetryMax
			break
		}
		d *= 2
	}
	d = min(d, c.cfg.RetryMax)
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

// errWebhookGone fails a webhook call whose URL the configuration no longer
// names: there is no secret to sign it with.
var errWebhookGone = errors.New("the webhook is no longer configured")

// webhook is one configured webhook and what became of its calls, for the
// status.
type webhook struct {
	url     string
	secret  []byte
	timeout time.Duration
	tally   callTally
}

// callTally is what became of a webhook's calls or the event command's
// runs since the start, for the status: written by the calls' goroutines,
// under mu.
type callTally struct {
	mu sync.Mutex
	tallied
}

// tallied are callTally's figures.
type tallied struct {
	done, retried, gaveUp uint64
	running               int
	failing               bool // the last call failed
	lastError             string
	lastErrorAt, lastAt   time.Time
}

// record counts one call's outcome; err is its failure, nil when it was
// taken.
func (t *callTally) record(o outbox.CallbackOutcome, err error, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch o {
	case outbox.CallbackDone:
		t.done++
	case outbox.CallbackRetry:
		t.retried++
	default:
		t.gaveUp++
	}
	t.failing, t.lastAt = err != nil, now
	if err != nil {
		t.lastError, t.lastErrorAt = err.Error(), now
	}
}

// started counts calls in flight: +1 when one starts, -1 when it ends.
func (t *callTally) started(n int) {
	t.mu.Lock()
	t.running += n
	t.mu.Unlock()
}

func (t *callTally) figures() tallied {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.tallied
}

// Signature is the Smsagent-Signature header of a webhook call made at
// now: "t=UNIX,v1=HEX", HEX the HMAC-SHA256 of "UNIX.body" with the secret.
// A receiver recomputes it and refuses an old t (a replay).
func Signature(secret []byte, now time.Time, body []byte) string {
	t := strconv.FormatInt(now.Unix(), 10)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(t))
	m.Write([]byte{'.'})
	m.Write(body)
	return "t=" + t + ",v1=" + hex.EncodeToString(m.Sum(nil))
}

// settleWebhook is settle for a webhook's call: given up, it is logged,
// counted and shown in the status; no note goes to inbox/ (the event's
// file is there).
func (c *callbacker) settleWebhook(cb *outbox.Callback, err error) outbox.CallbackResult {
	res := outbox.CallbackResult{Key: cb.Key}
	now := c.clock()
	h := c.webhooks[cb.URL]
	outcome := "delivered"
	switch {
	case err == nil:
		res.Outcome = outbox.CallbackDone
	case h == nil || now.Sub(cb.Created) >= c.cfg.MaxAge:
		res.Outcome, outcome = outbox.CallbackGiveUp, "given_up"
		c.log.Warn("agent: webhook call given up", "url", cb.URL, "event", cb.EventID, "attempts", cb.Attempts+1,
			"since", cb.Created.Format(time.RFC3339), "err", err)
	default:
		res.Outcome, outcome = outbox.CallbackRetry, "retried"
		res.Next = now.Add(c.backoff(cb.Attempts))
		c.log.Info("agent: webhook call failed; trying again", "url", cb.URL, "event", cb.EventID,
			"attempt", cb.Attempts+1, "next", res.Next.Format(time.RFC3339), "err", err)
	}
	c.obs.WebhookDone(outcome)
	if h != nil {
		h.tally.record(res.Outcome, err, now)
	}
	return res
}

// webhookStatus is the status of every webhook, in no set order.
func (c *callbacker) webhookStatus() []smsagent.WebhookStatus {
	out := make([]smsagent.WebhookStatus, 0, len(c.webhooks))
	for _, h := range c.webhooks {
		f := h.tally.figures()
		out = append(out, smsagent.WebhookStatus{URL: h.url, Delivered: f.done, Retried: f.retried,
			GivenUp: f.gaveUp, Failing: f.failing, LastError: f.lastError, LastErrorAt: f.lastErrorAt})
	}
	slices.SortFunc(out, func(a, b smsagent.WebhookStatus) int { return strings.Compare(a.URL, b.URL) })
	return out
}
