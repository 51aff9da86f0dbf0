package config

import (
	"fmt"
	"strings"
)

// Problem is one thing wrong with (or worth a warning about) a configuration:
// the key path it concerns ("smsc.window"; "" for the document as a whole)
// and a message a person can act on.
type Problem struct {
	Key     string
	Message string
}

// String gives "key: message", the form every report of a problem uses.
func (p Problem) String() string {
	if p.Key == "" {
		return p.Message
	}
	return p.Key + ": " + p.Message
}

// Error lists every problem found in a configuration. Its text has one
// problem per line, so a person fixes them all in one pass.
type Error struct {
	// File is the configuration file, "" when the bytes came from elsewhere.
	File     string
	Problems []Problem
}

func (e *Error) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// problems collects problems while a document is read and checked.
type problems []Problem

func (ps *problems) add(key, format string, args ...any) {
	*ps = append(*ps, Problem{Key: key, Message: fmt.Sprintf(format, args...)})
}
