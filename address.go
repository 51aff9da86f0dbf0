package smsagent

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// AddrKind is the type of number of an address (3GPP TS 23.040 §9.1.2.5),
// reduced to the three kinds a submitter can express.
type AddrKind uint8

const (
	// AddrUnknown is a number without an international prefix: national or
	// short code. SMPP: TON 0, NPI 1.
	AddrUnknown AddrKind = iota
	// AddrInternational is a number given with "+" or "00". The stored
	// value has the prefix removed. SMPP: TON 1, NPI 1.
	AddrInternational
	// AddrAlphanumeric is a text sender id of up to 11 characters.
	// SMPP: TON 5, NPI 0.
	AddrAlphanumeric
)

func (k AddrKind) String() string {
	switch k {
	case AddrInternational:
		return "international"
	case AddrAlphanumeric:
		return "alphanumeric"
	}
	return "unknown"
}

// Address is a phone number or an alphanumeric sender id.
type Address struct {
	Value string // digits for numbers (no "+"), the text for alphanumeric ids
	Kind  AddrKind
}

// IsZero reports whether no address was given.
func (a Address) IsZero() bool { return a.Value == "" }

// String gives the form a person writes: "+" before international numbers.
func (a Address) String() string {
	if a.Kind == AddrInternational {
		return "+" + a.Value
	}
	return a.Value
}

// MaxNumberDigits is the longest number an SMPP 3.4 address field carries
// (source_addr and destination_addr are C-Octet Strings of at most 21 octets,
// NUL included).
const MaxNumberDigits = 20

// MaxAlphanumericSender is the longest alphanumeric sender id a handset shows
// (11 GSM characters, 3GPP TS 23.040 §9.1.2.5).
const MaxAlphanumericSender = 11

// ParseNumber reads a phone number as users write it. Spaces and dashes are
// removed; a leading "+" or "00" makes the number international; any other
// character that is not a digit is an error (a number is never silently
// shortened). Parentheses, dots and letters are errors too.
func ParseNumber(s string) (Address, error) {
	raw := s
	s = strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '\t' {
			return -1
		}
		return r
	}, s)
	kind := AddrUnknown
	switch {
	case strings.HasPrefix(s, "+"):
		s, kind = s[1:], AddrInternational
	case strings.HasPrefix(s, "00"):
		s, kind = s[2:], AddrInternational
	}
	if s == "" {
		return Address{}, fmt.Errorf("number %q has no digits", raw)
	}
	for i, r := range s {
		if r < '0' || r > '9' {
			return Address{}, fmt.Errorf("number %q: %q at position %d is not a digit", raw, r, i+1)
		}
	}
	if len(s) > MaxNumberDigits {
		return Address{}, fmt.Errorf("number %q has %d digits, more than %d", raw, len(s), MaxNumberDigits)
	}
	return Address{Value: s, Kind: kind}, nil
}

// ParseSender reads a sender: a number (as ParseNumber) or an alphanumeric
// id of 1 to 11 characters from the GSM 7-bit basic set letters, digits,
// space and a few punctuation marks. A value with any letter is alphanumeric.
func ParseSender(s string) (Address, error) {
	if s == "" {
		return Address{}, nil
	}
	if a, err := ParseNumber(s); err == nil {
		return a, nil
	}
	if !utf8.ValidString(s) {
		return Address{}, fmt.Errorf("sender %q is not valid UTF-8", s)
	}
	if n := utf8.RuneCountInString(s); n > MaxAlphanumericSender {
		return Address{}, fmt.Errorf("sender %q has %d characters, more than %d", s, n, MaxAlphanumericSender)
	}
	for _, r := range s {
		if !senderRune(r) {
			return Address{}, fmt.Errorf("sender %q: character %q is not allowed in an alphanumeric sender", s, r)
		}
	}
	if strings.TrimSpace(s) == "" {
		return Address{}, fmt.Errorf("sender %q is blank", s)
	}
	return Address{Value: s, Kind: AddrAlphanumeric}, nil
}

// senderRune is the conservative set that every SMSC and handset displays
// in an alphanumeric originator.
func senderRune(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return true
	}
	return strings.ContainsRune(" .-_&+!?'", r)
}
