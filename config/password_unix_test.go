//go:build unix

package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/smsagent/smsagent/config"
)

// TestSMSC_ReadPassword: the password file is read again at every call (a
// rotation is seen), and a FIFO, a NUL or a password too long is refused at
// once with the file named and the content never shown.
func TestSMSC_ReadPassword(t *testing.T) {
	t.Setenv(config.PasswordEnv, "")
	dir := t.TempDir()
	file := filepath.Join(dir, "pw")
	s := config.SMSC{PasswordFile: file}
	for _, c := range []struct{ content, want, err string }{
		{"first\n", "first", ""},
		{"second\r\n", "second", ""},
		{"nine-char", "", "9 bytes; SMPP 3.4 allows 8"},
		{"a\x00b", "", "NUL"},
	} {
		if err := os.WriteFile(file, []byte(c.content), 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := s.ReadPassword()
		if got != c.want || (c.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.err)) {
			t.Errorf("%q: %q, %v", c.content, got, err)
		}
		if err != nil && strings.Contains(err.Error(), c.content) {
			t.Errorf("the error shows the content: %v", err)
		}
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip(err)
	}
	s.PasswordFile = fifo
	done := make(chan error, 1)
	go func() { _, err := s.ReadPassword(); done <- err }()
	select {
	case err := <-done:
		if err == nil {
			t.Error("a FIFO was read as the password")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("reading a FIFO as the password file blocked")
	}
}
