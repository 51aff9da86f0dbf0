//go:build tools

// Package tools pins the build tools smsagent's Makefile runs. It is a
// separate module so that their dependencies never reach the smsagent binary.
package tools

import (
	_ "github.com/goreleaser/nfpm/v2/cmd/nfpm"
	_ "honnef.co/go/tools/cmd/staticcheck"
)
