package config

import (
	"fmt"
	"log/slog"
)

// redacted is what every printed form of a non-empty Secret shows.
const redacted = "[redacted]"

// Secret holds a password or token. Every way of printing it shows
// "[redacted]" (an empty Secret prints as "", so a missing password is
// visible in logs without revealing one that is set): fmt with any verb,
// String, GoString, MarshalText (and so JSON), MarshalYAML and slog. The value
// is unexported so reflection-based printers cannot reach it either. Reveal is
// the only way to read it; call it where the value goes on the wire.
type Secret struct {
	value string
}

// NewSecret wraps a value.
func NewSecret(v string) Secret { return Secret{value: v} }

// Reveal returns the secret value.
func (s Secret) Reveal() string { return s.value }

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s.value == "" }

func (s Secret) shown() string {
	if s.value == "" {
		return ""
	}
	return redacted
}

// String implements fmt.Stringer.
func (s Secret) String() string { return s.shown() }

// GoString implements fmt.GoStringer, used by %#v.
func (s Secret) GoString() string { return s.shown() }

// Format implements fmt.Formatter so that every verb, including ones that
// would otherwise print the raw string (%x, %d, %q with flags), shows the
// redacted form.
func (s Secret) Format(f fmt.State, verb rune) {
	_, _ = f.Write([]byte(s.shown()))
}

// MarshalText implements encoding.TextMarshaler (used by encoding/json and
// slog's JSON handler).
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.shown()), nil }

// MarshalYAML implements yaml.Marshaler.
func (s Secret) MarshalYAML() (any, error) { return s.shown(), nil }

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.shown()) }
