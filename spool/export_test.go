package spool

import "time"

// Test seams for the black-box tests in package spool_test.

var (
	SkipName     = skipName
	OriginalName = originalName
	Numbered     = numbered
)

// NewClaimer returns a function making claim names as one run of the loop
// does.
func NewClaimer() func(now time.Time, name string) string { return newClaimer().next }
