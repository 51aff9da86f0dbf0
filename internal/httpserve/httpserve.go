// Package httpserve runs one of the agent's HTTP listeners (the admin API,
// Kannel's sendsms) in the background: the timeouts and the header limit
// every listener has (RFC 9110 leaves them to the server), one goroutine
// serving, and a Close that lets requests in progress finish until its
// context ends and then waits for that goroutine.
package httpserve

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// Limits of every listener: requests are small and answers quick, so these
// only bound what a slow or hostile client can hold.
const (
	maxHeader         = 16 << 10
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = 60 * time.Second
	idleTimeout       = 2 * time.Minute
)

// Server is an http.Server served by one goroutine.
type Server struct {
	name string // the prefix of its errors and log lines: "admin", "kannel"
	log  *slog.Logger
	srv  *http.Server

	mu       sync.Mutex
	ln       net.Listener
	done     chan struct{} // closed when the serving goroutine returns
	serveErr error         // read after done is closed
}

// New prepares a server of h; with tlsConfig (its certificates set) it
// serves HTTPS only.
func New(name string, h http.Handler, tlsConfig *tls.Config, log *slog.Logger) *Server {
	return &Server{name: name, log: log, srv: &http.Server{
		Handler:           h,
		TLSConfig:         tlsConfig,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeader,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}}
}

// Serve serves on ln in the background; the Server owns ln from then on.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done != nil {
		return fmt.Errorf("%s: already serving", s.name)
	}
	s.ln, s.done = ln, make(chan struct{})
	go func() {
		defer close(s.done)
		serve := s.srv.Serve
		if s.srv.TLSConfig != nil {
			// The certificate is in TLSConfig already.
			serve = func(ln net.Listener) error { return s.srv.ServeTLS(ln, "", "") }
		}
		if err := serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error(s.name+": serving stopped", "err", err)
			s.serveErr = fmt.Errorf("%s: serve: %w", s.name, err)
		}
	}()
	return nil
}

// Addr is the address served, nil before Serve.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// Close stops accepting connections, lets requests in progress finish until
// ctx ends (then closes their connections) and waits for the serving
// goroutine. It returns the error that stopped serving, if any.
func (s *Server) Close(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if err != nil {
		err = errors.Join(fmt.Errorf("%s: shutdown: %w", s.name, err), s.srv.Close())
	}
	s.mu.Lock()
	done := s.done
	s.mu.Unlock()
	if done == nil {
		return err
	}
	<-done // Shutdown or Close has closed the listener: Serve returns promptly.
	return errors.Join(err, s.serveErr)
}
