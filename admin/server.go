package admin

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/internal/httpserve"
)

// Limits of the admin API beyond those of every listener (httpserve):
// only POST /api/v1/messages takes a body, bounded by
// Options.MaxRequestSize, and answers are at most a page of the queue.
const (
	maxBody       = 64 << 10
	statusTimeout = 5 * time.Second
)

// Options configure a Server.
type Options struct {
	// Listen is the host:port Start listens on (admin.listen).
	Listen string
	// Token is the configured bearer token (admin.token, or the content of
	// admin.token_file). When empty, the token is read from TokenFile, or
	// generated into it when the file does not exist.
	Token string
	// TokenFile is where the generated token lives (admin.token in the
	// state folder); used only when Token is empty.
	TokenFile string
	// Queue serves the queue endpoints; required.
	Queue Queue
	// Status serves /api/v1/status; required.
	Status StatusSource
	// TLSCert and TLSKey are PEM files of the certificate (with its chain)
	// and its private key (admin.tls_cert, admin.tls_key): with both the
	// API serves HTTPS only. Read once, by New.
	TLSCert, TLSKey string
	// Submit takes the messages of POST /api/v1/messages; nil answers 404.
	Submit Submitter
	// MaxRequestSize bounds that body (admin.max_request_size); zero is
	// DefaultMaxRequestSize. Every other call takes at most 64 KiB.
	MaxRequestSize int64
	// Series serves /api/v1/series, the status page's charts; nil answers
	// 404.
	Series SeriesSource
	// Metrics serves /metrics; nil answers 404.
	Metrics http.Handler
	// Ready says why the agent is not ready to work (/readyz); nil means
	// always ready.
	Ready func() error
	// Logger receives mutations (who retried what) and refused requests;
	// nil discards.
	Logger *slog.Logger
}

// Server is the admin HTTP API. New prepares it, Start or Serve runs it in
// the background, Close stops it.
type Server struct {
	opts   Options
	log    *slog.Logger
	local  Local
	digest [sha256.Size]byte // of the token
	// configured is true when the token came from the configuration rather
	// than a generated file: only then may the API listen beyond loopback.
	configured bool
	// https is set when the API serves TLS.
	https bool
	http  *httpserve.Server

	mu       sync.Mutex
	loopback bool // set by Serve before the first request
}

// New checks the options and prepares the token: the configured one, or the
// one in TokenFile, created with a random value when missing. It refuses a
// non-loopback Listen without a configured token.
func New(opts Options) (*Server, error) {
	if opts.Queue == nil || opts.Status == nil {
		return nil, errors.New("admin: Options.Queue and Options.Status are required")
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{opts: opts, log: log, local: Local{Queue: opts.Queue}, configured: opts.Token != ""}
	if opts.Listen != "" {
		if _, _, err := net.SplitHostPort(opts.Listen); err != nil {
			return nil, fmt.Errorf("admin: listen address %q: %w", opts.Listen, err)
		}
		if err := s.checkExposure(opts.Listen, isLoopbackHostPort(opts.Listen)); err != nil {
			return nil, err
		}
	}
	tok := opts.Token
	switch {
	case tok != "":
		if err := checkToken(tok); err != nil {
			return nil, fmt.Errorf("admin: token: %w", err)
		}
	case opts.TokenFile != "":
		var err error
		if tok, err = loadOrCreateToken(opts.TokenFile, log); err != nil {
			return nil, err
		}
	default:
		return nil, errors.New("admin: no token: set Options.Token or Options.TokenFile")
	}
	s.digest = sha256.Sum256([]byte(tok))
	tlsConfig, err := serverTLS(opts.TLSCert, opts.TLSKey)
	if err != nil {
		return nil, err
	}
	s.https = tlsConfig != nil
	s.http = httpserve.New("admin", s.routes(), tlsConfig, log)
	return s, nil
}

// serverTLS loads the certificate and key; nil without either.
func serverTLS(certFile, keyFile string) (*tls.Config, error) {
	if certFile == "" && keyFile == "" {
		return nil, nil
	}
	if certFile == "" || keyFile == "" {
		return nil, errors.New("admin: TLS needs both a certificate and a key (admin.tls_cert, admin.tls_key)")
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("admin: TLS certificate %s with key %s: %w", certFile, keyFile, err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// checkExposure refuses to serve beyond loopback with a token nobody chose:
// a generated token lives in the state folder, so exposing the API must be
// a decision the configuration records.
func (s *Server) checkExposure(addr string, loopback bool) error {
	if loopback || s.configured {
		return nil
	}
	return fmt.Errorf("admin: refusing to listen on %s without a configured token: the address is not loopback, "+
		"so every call must authenticate; set admin.token_file (or admin.token) in the configuration, "+
		"or listen on 127.0.0.1", addr)
}

// Start listens on Options.Listen and serves in the background. ctx bounds
// only the listen call.
func (s *Server) Start(ctx context.Context) error {
	if s.opts.Listen == "" {
		return errors.New("admin: no listen address")
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.opts.Listen)
	if err != nil {
		return fmt.Errorf("admin: %w", err)
	}
	if err := s.Serve(ln); err != nil {
		_ = ln.Close()
		return err
	}
	return nil
}

// Serve serves the API on ln in the background; the Server owns ln from
// then on and Close closes it. A listener that is not on a loopback address
// needs a configured token.
func (s *Server) Serve(ln net.Listener) error {
	loopback := false
	if a, ok := ln.Addr().(*net.TCPAddr); ok {
		loopback = a.IP.IsLoopback()
	}
	if err := s.checkExposure(ln.Addr().String(), loopback); err != nil {
		return err
	}
	if s.http.Addr() != nil {
		return errors.New("admin: already serving")
	}
	s.mu.Lock()
	s.loopback = loopback
	s.mu.Unlock()
	if err := s.http.Serve(ln); err != nil {
		return err
	}
	s.log.Info("admin: API listening", "addr", ln.Addr().String(), "tls", s.https)
	return nil
}

// Addr is the address the API listens on, nil before Start or Serve.
func (s *Server) Addr() net.Addr { return s.http.Addr() }

// Close stops accepting connections, lets requests in progress finish until
// ctx ends (then closes their connections) and waits for the serving
// goroutine. It returns the error that stopped serving, if any.
func (s *Server) Close(ctx context.Context) error { return s.http.Close(ctx) }

// handlerFunc is an endpoint; an error it returns becomes the JSON error
// answer.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// access says who may call an endpoint.
type access uint8

const (
	// open: anyone on a loopback listener (health, metrics, counters);
	// beyond loopback every call needs the token.
	open access = iota
	// detailed: like open, but the answer without the token leaves out
	// what may be personal data (status, readiness); with a valid token it
	// is whole, and a token presented must be valid.
	detailed
	// private: always the token. Message listings carry phone numbers and
	// texts (one-time codes among them), which only those who may read the
	// database should see.
	private
)

// authorizedKey marks, in a request's context, a request that presented
// the valid token.
type authorizedKey struct{}

// authorized reports whether the request presented the valid token.
func authorized(r *http.Request) bool {
	ok, _ := r.Context().Value(authorizedKey{}).(bool)
	return ok
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	get, post := http.MethodGet, http.MethodPost
	mux.Handle("/healthz", s.route(get, open, s.healthz))
	mux.Handle("/readyz", s.route(get, detailed, s.readyz))
	mux.Handle("/metrics", s.route(get, open, s.metrics))
	mux.Handle("/api/v1/status", s.route(get, detailed, s.status))
	mux.Handle("/api/v1/queue/stats", s.route(get, open, s.stats))
	mux.Handle("/api/v1/queue", s.route(get, private, s.list))
	mux.Handle("/api/v1/queue/{id}", s.route(get, private, s.show))
	mux.Handle("/api/v1/queue/{id}/retry", s.route(post, private, s.retry))
	mux.Handle("/api/v1/queue/{id}/cancel", s.route(post, private, s.cancel))
	mux.Handle("/api/v1/queue/retry-failed", s.route(post, private, s.retryFailed))
	mux.Handle(submitPath, s.routeBody(post, private, s.submit))
	mux.Handle("/api/v1/messages/{id}", s.route(get, private, s.messageState))
	mux.Handle("/api/v1/series", s.route(get, open, s.series))
	mux.Handle("/{$}", s.page("ui/index.html"))
	mux.Handle("/ui/{file}", s.page(""))
	mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such endpoint: "+r.URL.Path)
	}))
	return s.guard(mux)
}

// guard applies what every request gets: no caching, no sniffing, the Host
// check, and the body limit.
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		// A web page can make a browser send requests to 127.0.0.1, and
		// with DNS rebinding read the answers under its own host name.
		// Loopback listeners therefore answer only to loopback names.
		if s.isLoopback() && !isLoopbackHost(r.Host) {
			writeError(w, http.StatusForbidden, "host not allowed: use a loopback address")
			return
		}
		limit := int64(maxBody)
		if r.URL.Path == submitPath {
			limit = s.maxRequestSize()
		}
		if r.ContentLength > limit {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", limit))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		next.ServeHTTP(w, r)
	})
}

func (s *Server) isLoopback() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.loopback
}

// submitPath is the one call that takes a body.
const submitPath = "/api/v1/messages"

// route is an endpoint that takes no body.
func (s *Server) route(method string, who access, h handlerFunc) http.Handler {
	return s.endpoint(method, who, false, h)
}

// routeBody is an endpoint that reads its body itself.
func (s *Server) routeBody(method string, who access, h handlerFunc) http.Handler {
	return s.endpoint(method, who, true, h)
}

func (s *Server) endpoint(method string, who access, takesBody bool, h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != method && !(method == http.MethodGet && r.Method == http.MethodHead) {
			w.Header().Set("Allow", method)
			writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("%s is not allowed here; use %s", r.Method, method))
			return
		}
		needToken := who == private || method != http.MethodGet || !s.isLoopback() ||
			who == detailed && r.Header.Get("Authorization") != ""
		if needToken {
			if !s.authorize(w, r) {
				return
			}
			r = r.WithContext(context.WithValue(r.Context(), authorizedKey{}, true))
		}
		if method == http.MethodPost && !takesBody {
			// This call takes no body; reading it enforces the limit on
			// chunked uploads that announce no length.
			if _, err := io.Copy(io.Discard, r.Body); err != nil {
				var mbe *http.MaxBytesError
				if errors.As(err, &mbe) {
					writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", maxBody))
					return
				}
				writeError(w, http.StatusBadRequest, "cannot read the request body")
				return
			}
		}
		if err := h(w, r); err != nil {
			var e *Error
			if !errors.As(err, &e) {
				e = &Error{Status: http.StatusInternalServerError, Message: err.Error()}
			}
			if e.Status >= 500 {
				s.log.Error("admin: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
			}
			writeError(w, e.Status, e.Message)
		}
	})
}

// constantTimeCompare is subtle.ConstantTimeCompare; a variable so that a
// test can see it is the comparison used.
var constantTimeCompare = subtle.ConstantTimeCompare

// authorize checks the bearer token (RFC 6750 §2.1) and answers 401 when it
// is missing or wrong. Both sides are hashed first, so the comparison takes
// the same time whatever the length or the matching prefix of the guess.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) bool {
	scheme, cred, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	cred = strings.TrimSpace(cred)
	if strings.EqualFold(scheme, "Bearer") && cred != "" {
		d := sha256.Sum256([]byte(cred))
		if constantTimeCompare(d[:], s.digest[:]) == 1 {
			return true
		}
		// RFC 6750 §3: a presented but wrong token is "invalid_token".
		w.Header().Set("WWW-Authenticate", `Bearer realm="smsagent", error="invalid_token"`)
	} else {
		w.Header().Set("WWW-Authenticate", `Bearer realm="smsagent"`)
	}
	s.log.Info("admin: refused a request without a valid token", "method", r.Method, "path", r.URL.Path,
		"remote", r.RemoteAddr)
	writeError(w, http.StatusUnauthorized, "a valid bearer token is required")
	return false
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) error {
	writeText(w, http.StatusOK, "ok")
	return nil
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	if s.opts.Ready != nil {
		if err := s.opts.Ready(); err != nil {
			reason := err.Error()
			if !authorized(r) {
				reason = subject(reason)
			}
			writeText(w, http.StatusServiceUnavailable, "not ready: "+reason)
			return nil
		}
	}
	writeText(w, http.StatusOK, "ready")
	return nil
}

func (s *Server) metrics(w http.ResponseWriter, r *http.Request) error {
	if s.opts.Metrics == nil {
		return &Error{Status: http.StatusNotFound, Message: "metrics are not enabled"}
	}
	s.opts.Metrics.ServeHTTP(w, r)
	return nil
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), statusTimeout)
	defer cancel()
	st, err := s.opts.Status.Status(ctx)
	if err != nil {
		return &Error{Status: http.StatusServiceUnavailable, Message: "status: " + err.Error()}
	}
	// Scripts index these without checking for null.
	if st.Binds == nil {
		st.Binds = []smsagent.BindStatus{}
	}
	if st.Health == nil {
		st.Health = []string{}
	}
	if st.Queue.ByState == nil {
		st.Queue.ByState = map[string]int{}
	}
	if !authorized(r) {
		st = publicStatus(st)
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

func (s *Server) stats(w http.ResponseWriter, r *http.Request) error {
	st, err := s.local.Stats(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

// series answers the status page's charts: rates, no personal data.
func (s *Server) series(w http.ResponseWriter, r *http.Request) error {
	if s.opts.Series == nil {
		return &Error{Status: http.StatusNotFound, Message: "no series: this server has no agent's activity to show"}
	}
	writeJSON(w, http.StatusOK, s.opts.Series.Series())
	return nil
}

func (s *Server) list(w http.ResponseWriter, r *http.Request) error {
	p, err := parseListParams(r.URL.Query())
	if err != nil {
		return err
	}
	page, err := s.local.List(r.Context(), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

func (s *Server) show(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	m, err := s.local.Message(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, m)
	return nil
}

func (s *Server) retry(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	m, err := s.local.Retry(r.Context(), id)
	if err != nil {
		return err
	}
	s.log.Info("admin: message retried", "id", id, "state", m.State, "remote", r.RemoteAddr)
	writeJSON(w, http.StatusOK, m)
	return nil
}

func (s *Server) cancel(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	m, err := s.local.Cancel(r.Context(), id)
	if err != nil {
		return err
	}
	s.log.Info("admin: message canceled", "id", id, "remote", r.RemoteAddr)
	writeJSON(w, http.StatusOK, m)
	return nil
}

func (s *Server) retryFailed(w http.ResponseWriter, r *http.Request) error {
	n, err := s.local.RetryFailed(r.Context())
	if err != nil {
		return err
	}
	s.log.Info("admin: failed messages retried", "count", n, "remote", r.RemoteAddr)
	writeJSON(w, http.StatusOK, RetryResult{Retried: n})
	return nil
}

func pathID(r *http.Request) (smsagent.MessageID, error) {
	id, err := smsagent.ParseMessageID(r.PathValue("id"))
	if err != nil {
		return 0, badRequest("%v", err)
	}
	return id, nil
}

// parseListParams reads state, after and limit. Unknown parameters are
// refused so that a typo ("status=failed") does not list everything.
func parseListParams(q url.Values) (ListParams, error) {
	var p ListParams
	for k, vs := range q {
		if len(vs) != 1 {
			return p, badRequest("parameter %q given %d times", k, len(vs))
		}
		v := vs[0]
		switch k {
		case "state":
			st, err := smsagent.ParseState(v)
			if err != nil {
				return p, badRequest("state: %v", err)
			}
			p.State = st
		case "after":
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return p, badRequest("after: %q is not a message id", v)
			}
			p.After = smsagent.MessageID(n)
		case "limit":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > MaxListLimit {
				return p, badRequest("limit must be between 1 and %d, got %q", MaxListLimit, v)
			}
			p.Limit = n
		case "order":
			switch v {
			case "oldest":
			case "newest":
				p.Newest = true
			default:
				return p, badRequest("order: %q: want oldest (the default) or newest", v)
			}
		default:
			return p, badRequest("unknown parameter %q (want state, after, limit, order)", k)
		}
	}
	return p, nil
}

// errorBody is every error answer: {"error": "..."}.
type errorBody struct {
	Error string `json:"error"`
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, errorBody{Error: msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	// An encoding error here means the client went away; the status is
	// already sent.
	_ = json.NewEncoder(w).Encode(v)
}

func writeText(w http.ResponseWriter, code int, s string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	_, _ = io.WriteString(w, s+"\n")
}

// isLoopbackHostPort reports whether a listen address is on loopback only:
// "localhost" or a loopback IP. An empty host means every interface.
func isLoopbackHostPort(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	return err == nil && isLoopbackName(host)
}

// isLoopbackHost checks a request's Host header, with or without a port.
func isLoopbackHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return isLoopbackName(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
}

func isLoopbackName(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
