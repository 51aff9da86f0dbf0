package admin

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/smsagent/smsagent"
)

// ErrUnreachable says that nothing answered at the API's address: the agent
// is not running, or runs with another admin.listen.
var ErrUnreachable = errors.New("admin: API not reachable")

// maxAnswer bounds an answer read by the Client: a full page of long
// concatenated messages stays well below it.
const maxAnswer = 64 << 20

// ClientOptions configure a Client.
type ClientOptions struct {
	// Listen is the API's address as configured (admin.listen). A wildcard
	// host ("", 0.0.0.0, ::) is reached on loopback.
	Listen string
	// Token is sent as a bearer token when not empty.
	Token string
	// Timeout bounds each call (default 30 s).
	Timeout time.Duration
	// TLSCert is the API's certificate file (admin.tls_cert): when set the
	// client speaks HTTPS and accepts only a server presenting the first
	// certificate in that file, whatever names it holds, so the CLI needs
	// no CA and reaches a wildcard listener on loopback.
	TLSCert string
}

// CertificateError is an API that presented another certificate than the
// one the client trusts.
type CertificateError struct {
	Addr, File string
}

func (e *CertificateError) Error() string {
	return fmt.Sprintf("admin: the API at %s presented a certificate that is not the certificate in %s "+
		"(replaced without restarting the agent, or another program on that port?)", e.Addr, e.File)
}

// Client calls a running agent's admin API: the CLI's way to the queue while
// the agent holds the database. Its methods mirror Local's, with the same
// results and the same *Error values.
type Client struct {
	base  string
	addr  string
	token string
	hc    *http.Client
}

// NewClient prepares a client; it does not connect.
func NewClient(opts ClientOptions) (*Client, error) {
	host, port, err := net.SplitHostPort(opts.Listen)
	if err != nil {
		return nil, fmt.Errorf("admin: listen address %q: %w", opts.Listen, err)
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	addr := net.JoinHostPort(host, port)
	// No proxy: the bearer token must go to the agent and nowhere else,
	// whatever HTTP_PROXY says.
	tr := &http.Transport{Proxy: nil, DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext}
	scheme := "http://"
	if opts.TLSCert != "" {
		pinned, err := readPinnedCert(opts.TLSCert)
		if err != nil {
			return nil, err
		}
		scheme = "https://"
		tr.TLSClientConfig = &tls.Config{
			MinVersion: tls.VersionTLS12,
			// The chain is not verified against roots: the one certificate
			// the configuration names is the trust anchor, checked below.
			InsecureSkipVerify: true,
			VerifyConnection: func(cs tls.ConnectionState) error {
				if len(cs.PeerCertificates) == 0 || !bytes.Equal(cs.PeerCertificates[0].Raw, pinned) {
					return &CertificateError{Addr: addr, File: opts.TLSCert}
				}
				return nil
			},
		}
	}
	return &Client{
		base:  scheme + addr,
		addr:  addr,
		token: opts.Token,
		hc: &http.Client{
			Timeout:   timeout,
			Transport: tr,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		},
	}, nil
}

// readPinnedCert returns the DER of the first certificate in a PEM file.
func readPinnedCert(file string) ([]byte, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("admin: TLS certificate: %w", err)
	}
	for len(data) > 0 {
		var b *pem.Block
		if b, data = pem.Decode(data); b == nil {
			break
		}
		if b.Type == "CERTIFICATE" {
			if _, err := x509.ParseCertificate(b.Bytes); err != nil {
				return nil, fmt.Errorf("admin: TLS certificate %s: %w", file, err)
			}
			return b.Bytes, nil
		}
	}
	return nil, fmt.Errorf("admin: TLS certificate %s: no certificate (PEM \"CERTIFICATE\" block) in it", file)
}

// Addr is the host:port the client calls.
func (c *Client) Addr() string { return c.addr }

// Status returns the agent's snapshot.
func (c *Client) Status(ctx context.Context) (smsagent.Status, error) {
	var st smsagent.Status
	return st, c.call(ctx, http.MethodGet, "/api/v1/status", nil, &st)
}

// Stats counts the messages by state.
func (c *Client) Stats(ctx context.Context) (Stats, error) {
	var st Stats
	return st, c.call(ctx, http.MethodGet, "/api/v1/queue/stats", nil, &st)
}

// List returns one page of messages.
func (c *Client) List(ctx context.Context, p ListParams) (Page, error) {
	q := url.Values{}
	if p.State != smsagent.StateUnknown {
		q.Set("state", p.State.String())
	}
	if p.After != 0 {
		q.Set("after", p.After.String())
	}
	if p.Limit != 0 {
		q.Set("limit", strconv.Itoa(p.Limit))
	}
	var page Page
	return page, c.call(ctx, http.MethodGet, "/api/v1/queue", q, &page)
}

// Message returns one message.
func (c *Client) Message(ctx context.Context, id smsagent.MessageID) (Message, error) {
	var m Message
	return m, c.call(ctx, http.MethodGet, "/api/v1/queue/"+id.String(), nil, &m)
}

// Retry makes a message due now or sends a failed one again.
func (c *Client) Retry(ctx context.Context, id smsagent.MessageID) (Message, error) {
	var m Message
	return m, c.call(ctx, http.MethodPost, "/api/v1/queue/"+id.String()+"/retry", nil, &m)
}

// RetryFailed sends every failed message again and returns how many.
func (c *Client) RetryFailed(ctx context.Context) (int, error) {
	var r RetryResult
	err := c.call(ctx, http.MethodPost, "/api/v1/queue/retry-failed", nil, &r)
	return r.Retried, err
}

// Cancel cancels a message that is not final.
func (c *Client) Cancel(ctx context.Context, id smsagent.MessageID) (Message, error) {
	var m Message
	return m, c.call(ctx, http.MethodPost, "/api/v1/queue/"+id.String()+"/cancel", nil, &m)
}

// Submit posts messages (SubmitAnswer once they are stored): body is one
// message object or an array of them with contentType application/json,
// or NDJSON with application/x-ndjson. A refusal is an *Error whose Message
// names the first problem.
func (c *Client) Submit(ctx context.Context, contentType string, body []byte) (SubmitAnswer, error) {
	var a SubmitAnswer
	return a, c.send(ctx, http.MethodPost, submitPath, nil, &requestBody{contentType, body}, http.StatusAccepted, &a)
}

// requestBody is a call's body and its type.
type requestBody struct {
	contentType string
	data        []byte
}

func (c *Client) call(ctx context.Context, method, path string, q url.Values, out any) error {
	return c.send(ctx, method, path, q, nil, http.StatusOK, out)
}

// send makes one call and decodes its answer into out when the status is
// want.
func (c *Client) send(ctx context.Context, method, path string, q url.Values, in *requestBody, want int, out any) error {
	u := c.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var reqBody io.Reader
	if in != nil {
		reqBody = bytes.NewReader(in.data)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, reqBody)
	if err != nil {
		return fmt.Errorf("admin: %w", err)
	}
	if in != nil {
		req.Header.Set("Content-Type", in.contentType)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		var ce *CertificateError
		if errors.As(err, &ce) {
			return ce
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return fmt.Errorf("admin: %s %s: no answer from %s within %s", method, path, c.addr, c.hc.Timeout)
		}
		return fmt.Errorf("%w at %s: %v", ErrUnreachable, c.addr, unwrapURLError(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil {
		return fmt.Errorf("admin: %s %s: read the answer: %w", method, path, err)
	}
	if len(body) > maxAnswer {
		return fmt.Errorf("admin: %s %s: answer larger than %d bytes", method, path, maxAnswer)
	}
	if resp.StatusCode != want {
		var eb errorBody
		if json.Unmarshal(body, &eb) != nil || eb.Error == "" {
			eb.Error = fmt.Sprintf("%s %s: %s", method, path, resp.Status)
		}
		return &Error{Status: resp.StatusCode, Message: eb.Error}
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("admin: %s %s: bad answer: %w", method, path, err)
	}
	return nil
}

// unwrapURLError drops the "Get \"http://…\":" prefix a *url.Error adds,
// which repeats what the caller's message already says.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		return errors.New(strings.TrimPrefix(oe.Err.Error(), "connect: "))
	}
	return err
}
