package admin

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/smsagent/smsagent/internal/fsutil"
)

// tokenBytes is the entropy of a generated token: 256 bits, shown as 64
// hex digits.
const tokenBytes = 32

// maxTokenFile bounds what ReadToken reads: a token is one short line.
const maxTokenFile = 4096

// ReadToken reads a token file: its content less trailing line breaks
// (editors add one), as the configuration reads admin.token_file. The token
// must be printable ASCII without spaces, since it travels in an HTTP
// header.
func ReadToken(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return "", fmt.Errorf("admin: cannot read token file %s: %w", path, pe.Err)
		}
		return "", fmt.Errorf("admin: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxTokenFile+1))
	if err != nil {
		return "", fmt.Errorf("admin: read token file %s: %w", path, err)
	}
	if len(data) > maxTokenFile {
		return "", fmt.Errorf("admin: token file %s is longer than %d bytes", path, maxTokenFile)
	}
	tok := strings.TrimRight(string(data), "\r\n")
	if err := checkToken(tok); err != nil {
		return "", fmt.Errorf("admin: token file %s: %w", path, err)
	}
	return tok, nil
}

func checkToken(tok string) error {
	if tok == "" {
		return errors.New("empty")
	}
	for i := 0; i < len(tok); i++ {
		if c := tok[i]; c <= ' ' || c >= 0x7f {
			return fmt.Errorf("character %d is not printable ASCII (spaces and line breaks inside are not allowed)", i+1)
		}
	}
	return nil
}

// loadOrCreateToken returns the token in path. When the file does not exist,
// or holds no valid token, it writes a new random one there, readable and
// writable by this user only, creating the folder (0700) if needed. An
// existing file that others may read is narrowed to 0600 on Unix.
//
// Crash story: the file is written to a temporary name, fsynced and renamed
// into place (fsutil.WriteFile), so a crash leaves either no token file (the
// next start makes one) or a complete one; never a partial token that the
// CLI and the agent would read differently.
func loadOrCreateToken(path string, log *slog.Logger) (string, error) {
	tok, err := ReadToken(path)
	switch {
	case err == nil:
		if err := narrowMode(path, log); err != nil {
			return "", err
		}
		return tok, nil
	case errors.Is(err, fs.ErrNotExist):
	case errors.Is(err, fs.ErrPermission):
		return "", err
	default:
		log.Warn("admin: replacing an unusable token file with a new token", "file", path, "problem", err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("admin: create the folder of the token file: %w", err)
	}
	b := make([]byte, tokenBytes)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	tok = hex.EncodeToString(b)
	if err := fsutil.WriteFile(path, []byte(tok+"\n"), 0o600, dir); err != nil {
		return "", fmt.Errorf("admin: write token file: %w", err)
	}
	log.Info("admin: created a token for the admin API", "file", path)
	return tok, nil
}

// narrowMode makes a token file private to its owner. Windows reports
// 0666 for every writable file, so there the folder's ACL must do it.
func narrowMode(path string, log *slog.Logger) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("admin: %w", err)
	}
	if fi.Mode().Perm()&0o077 == 0 {
		return nil
	}
	if err := os.Chmod(path, 0o600); err != nil {
		return fmt.Errorf("admin: token file %s is readable by others (mode %04o) and cannot be narrowed: %w",
			path, fi.Mode().Perm(), err)
	}
	log.Warn("admin: the token file was readable by others; its mode is now 0600", "file", path,
		"was", fmt.Sprintf("%04o", fi.Mode().Perm()))
	return nil
}
