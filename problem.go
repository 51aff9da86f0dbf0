package smsagent

import (
	"fmt"
	"strings"
)

// Problem is one reason a message file was refused. Parsers produce it,
// intake writes it into failed/NAME.error.json, so a person can find the
// line and fix it.
type Problem struct {
	// Line is the 1-based line of the problem, 0 when it concerns the
	// whole file or is not known.
	Line int `json:"line,omitempty"`
	// Index is the 1-based position of the message (or entry of a JSON
	// array), 0 when the problem is not about one message.
	Index int `json:"index,omitempty"`
	// Field is the JSON field ("to", "validity") or smstools3 header ("To")
	// at fault; empty when the problem is not about one field.
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

func (p Problem) String() string {
	var b strings.Builder
	switch {
	case p.Index > 0 && p.Line > 0:
		fmt.Fprintf(&b, "message %d (line %d): ", p.Index, p.Line)
	case p.Index > 0:
		fmt.Fprintf(&b, "message %d: ", p.Index)
	case p.Line > 0:
		fmt.Fprintf(&b, "line %d: ", p.Line)
	}
	if p.Field != "" {
		b.WriteString(p.Field)
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	return b.String()
}
