package outbox

import (
	"errors"
	"fmt"
	"os"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// compactTxSize bounds the transactions of Compact so memory stays flat.
const compactTxSize = 64 << 20

// Compact copies the outbox at src into a new file dst, leaving out the free
// pages a bbolt file never returns to the file system. It is an offline
// operation: it fails with ErrLocked while an agent holds src. dst must not
// exist. The caller swaps the files (rename dst over src) while the agent is
// stopped.
//
// Crash story: src is only read. A crash leaves a partial dst, which the
// next attempt refuses (it exists); delete it and run again.
func Compact(src, dst string) (err error) {
	if _, err := os.Stat(dst); err == nil {
		return fmt.Errorf("outbox: compact: %s exists", dst)
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("outbox: compact: %w", err)
	}
	if err := checkLength(src); err != nil {
		return err
	}
	in, err := bolt.Open(src, 0o600, &bolt.Options{ReadOnly: true, Timeout: DefaultLockTimeout})
	if err != nil {
		if errors.Is(err, bolterrors.ErrTimeout) {
			return &LockedError{Path: src, Timeout: DefaultLockTimeout}
		}
		return fmt.Errorf("outbox: compact: open %s: %w", src, err)
	}
	defer func() {
		if cerr := in.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("outbox: compact: close %s: %w", src, cerr)
		}
	}()
	if err := viewChecked(in, checkSchema); err != nil {
		return fmt.Errorf("outbox: compact %s: %w", src, err)
	}
	out, err := bolt.Open(dst, 0o600, &bolt.Options{Timeout: DefaultLockTimeout, FreelistType: bolt.FreelistMapType})
	if err != nil {
		return fmt.Errorf("outbox: compact: create %s: %w", dst, err)
	}
	if err := bolt.Compact(out, in, compactTxSize); err != nil {
		_ = out.Close()
		return fmt.Errorf("outbox: compact %s into %s: %w", src, dst, err)
	}
	// Every transaction of Compact committed with fsync; Close releases the
	// lock and the mapping.
	if err := out.Close(); err != nil {
		return fmt.Errorf("outbox: compact: close %s: %w", dst, err)
	}
	return nil
}
