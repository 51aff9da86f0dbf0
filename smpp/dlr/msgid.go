package dlr

import (
	"fmt"
	"math/big"
	"slices"
	"strings"
)

// Key is the canonical form of a message id, under which the agent stores
// the id a submit_sm_resp returned and looks receipts up: letters in lower
// case, leading zeros removed ("0" stays "0"), a trailing NUL dropped. The
// same SMSC writes "0972660181" in one place and "972660181" in the other,
// or "33E95179" and "33e95179" (Jasmin#1034, Jasmin#916); after Key they are
// equal.
func Key(id string) string {
	id = strings.TrimRight(id, "\x00")
	i := 0
	for i < len(id)-1 && id[i] == '0' {
		i++
	}
	id = id[i:]
	for j := 0; j < len(id); j++ {
		if c := id[j]; c >= 'A' && c <= 'Z' {
			return asciiLower(id)
		}
	}
	return id
}

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// Rule says how the ids of submit_sm_resp and of receipts relate at one
// SMSC, which decides the keys a receipt is looked up by.
type Rule uint8

const (
	// Auto tries the receipt id's own key, then the id read as hexadecimal
	// and written in decimal, then read as decimal and written in
	// hexadecimal. It finds the message whatever the SMSC does, at the
	// small risk that a converted key is another message's id; a
	// configured rule removes that risk.
	Auto Rule = iota
	// Exact uses only the receipt id's own key.
	Exact
	// Hex: both ids are hexadecimal and compare as numbers. Key already
	// makes equal numbers equal keys, so only the id's own key is used,
	// and none of Auto's guesses.
	Hex
	// Dec: both ids are decimal; as Hex.
	Dec
	// HexDec: submit_sm_resp gives hexadecimal, the receipt decimal
	// (jsmpp#56: "33E95179" and "870928761").
	HexDec
	// DecHex: submit_sm_resp gives decimal, the receipt hexadecimal.
	DecHex
)

var ruleNames = [...]string{Auto: "auto", Exact: "exact", Hex: "hex", Dec: "dec", HexDec: "hexdec", DecHex: "dechex"}

func (r Rule) String() string {
	if int(r) < len(ruleNames) {
		return ruleNames[r]
	}
	return fmt.Sprintf("rule(%d)", uint8(r))
}

// ParseRule reads "auto", "exact", "hex", "dec", "hexdec" or "dechex"; the
// empty string means auto.
func ParseRule(s string) (Rule, error) {
	if s == "" {
		return Auto, nil
	}
	for i, n := range ruleNames {
		if n == s {
			return Rule(i), nil
		}
	}
	return Auto, fmt.Errorf("dlr: unknown message id rule %q: want auto, exact, hex, dec, hexdec or dechex", s)
}

// Candidates returns the keys to look a receipt id up by, best first, none
// repeated: the id's own key, then the conversions rule allows. Under HexDec
// and DecHex the id is known to be in the other base, so its own key is
// used only when the conversion is impossible (the id is no number in that
// base). Conversions use arbitrary precision: ids exceed 64 bits
// (Jasmin#586: "9380935605053030457"). An empty id has no candidates.
func Candidates(receiptID string, rule Rule) []string {
	k := Key(receiptID)
	if k == "" {
		return nil
	}
	switch rule {
	case Auto:
		out := []string{k}
		for _, c := range [...]string{convert(k, 16, 10), convert(k, 10, 16)} {
			if c != "" && !slices.Contains(out, c) {
				out = append(out, c)
			}
		}
		return out
	case HexDec:
		if c := convert(k, 10, 16); c != "" {
			return []string{c}
		}
	case DecHex:
		if c := convert(k, 16, 10); c != "" {
			return []string{c}
		}
	}
	return []string{k}
}

// convert reads the canonical key k as a number in base from and writes it
// in base to, lower case; "" when k is not such a number or is longer than
// an id can be (which also bounds the cost of the arithmetic).
func convert(k string, from, to int) string {
	if len(k) > MaxIDLen {
		return ""
	}
	for i := 0; i < len(k); i++ {
		if digitValue(k[i]) >= from {
			return ""
		}
	}
	// SetString would also take a sign; the loop above admitted none.
	n, ok := new(big.Int).SetString(k, from)
	if !ok {
		return ""
	}
	return n.Text(to)
}

// digitValue is the value of a lower-case digit, or 99.
func digitValue(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 10
	}
	return 99
}
