package smpp

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"time"
)

// tcpKeepAlive is the keep-alive probe interval on dialled connections:
// a second line of defence behind enquire_link against half-open
// connections, and it keeps idle NAT entries alive.
const tcpKeepAlive = 30 * time.Second

// Dial connects to an SMSC: TCP with keep-alive, then, when tlsConfig is
// not nil, a TLS handshake bounded by ctx. An empty tlsConfig.ServerName is
// set from addr's host, so the certificate is checked against the name
// dialled. The connection is ready for NewSession.
func Dial(ctx context.Context, network, addr string, tlsConfig *tls.Config) (net.Conn, error) {
	// Count -1 keeps the system's probe count: Windows before 10 1709
	// cannot change it.
	d := net.Dialer{KeepAliveConfig: net.KeepAliveConfig{Enable: true, Idle: tcpKeepAlive, Interval: tcpKeepAlive, Count: -1}}
	conn, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, fmt.Errorf("smpp: dial %s: %w", addr, err)
	}
	if tlsConfig == nil {
		return conn, nil
	}
	cfg := tlsConfig.Clone()
	if cfg.ServerName == "" {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			host = addr
		}
		cfg.ServerName = host
	}
	tc := tls.Client(conn, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("smpp: tls handshake with %s: %w", addr, err)
	}
	return tc, nil
}
