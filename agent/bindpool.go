package agent

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"time"

	"github.com/smsagent/smsagent/bindpool"
	"github.com/smsagent/smsagent/config"
	"github.com/smsagent/smsagent/smpp"
)

var _ Pool = (*bindpool.Pool)(nil)

// poolOptions maps the smsc section onto the bind pool (SMPP 3.4 §4.1: the
// bind's system_id, password, system_type and address_range, and its mode).
func poolOptions(s *config.SMSC, handler func(smpp.Request), log *slog.Logger, clock func() time.Time) bindpool.Options {
	o := bindpool.Options{
		Address: s.Address,
		Bind: smpp.BindRequest{
			Mode:         smpp.Transceiver,
			SystemID:     s.SystemID,
			Password:     s.Password.Reveal(),
			SystemType:   s.SystemType,
			AddressRange: s.AddressRange,
		},
		// Read at every bind, so a rotated password file is used without
		// a restart.
		Password:        s.ReadPassword,
		AuthRetry:       s.AuthRetry,
		Sessions:        s.Sessions,
		Window:          s.Window,
		Throughput:      s.Throughput,
		EnquireLink:     s.EnquireLink,
		ResponseTimeout: s.ResponseTimeout,
		BindTimeout:     s.BindTimeout,
		Handler:         handler,
		Logger:          log,
		Clock:           clock,
	}
	// A configuration that was never validated has no reconnect bounds:
	// the pool's own default then, never a zero wait between dials.
	if s.ReconnectMin > 0 {
		o.Backoff = bindpool.NewFullJitter(s.ReconnectMin, s.ReconnectMax, nil)
	}
	switch s.Bind {
	case config.BindTransmitter:
		o.Bind.Mode = smpp.Transmitter
	case config.BindTransmitterReceiver:
		o.Bind.Mode, o.Receivers = smpp.Transmitter, true
	}
	if s.TLS {
		o.TLS = &tls.Config{
			ServerName:         s.TLSServerName,
			InsecureSkipVerify: s.TLSInsecure, // the configuration warns about it at load
			MinVersion:         tls.VersionTLS12,
		}
	}
	return o
}

// newBindPool builds the pool of package bindpool from the configuration;
// tune, when set, adjusts its options last.
func newBindPool(s *config.SMSC, handler func(smpp.Request), log *slog.Logger, clock func() time.Time,
	tune func(*bindpool.Options)) (Pool, error) {
	o := poolOptions(s, handler, log, clock)
	if tune != nil {
		tune(&o)
	}
	p, err := bindpool.New(o)
	if err != nil {
		return nil, fmt.Errorf("agent: smsc %s: %w", s.Name, err)
	}
	return p, nil
}
