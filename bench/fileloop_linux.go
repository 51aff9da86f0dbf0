package bench

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// syncGroup: the inbox writer flushes a batch with syncfs(2) here.
const syncGroup = true

func syncFS(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("bench: file loop: %w", err)
	}
	defer f.Close()
	if err := unix.Syncfs(int(f.Fd())); err != nil {
		return fmt.Errorf("bench: file loop: syncfs: %w", err)
	}
	return nil
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("bench: file loop: %w", err)
	}
	defer f.Close()
	return f.Sync()
}
