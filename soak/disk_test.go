//go:build linux

package soak_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestDisk_inboxFull puts the spool on a small tmpfs and fills it while
// receipts come in: the agent cannot write reports, says so in its status,
// keeps its state, and writes every report once space returns. It needs
// root (mount); without it the case is skipped and says so.
func TestDisk_inboxFull(t *testing.T) {
	r := newRig(t, "spool volume full", simOptions())
	if err := os.RemoveAll(r.spool); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(r.spool, 0o750); err != nil {
		t.Fatal(err)
	}
	// Each report takes a page of tmpfs: the volume must hold them all once
	// the filler is gone.
	sizeMiB := scale(4, 16)
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%dm", sizeMiB), "tmpfs", r.spool).CombinedOutput(); err != nil {
		r.fault("SKIPPED: mount not permitted (%v)", err)
		t.Skipf("a tmpfs cannot be mounted here (%v: %s); the case needs root", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", r.spool).Run() })
	if err := os.MkdirAll(filepath.Join(r.spool, "outgoing"), 0o750); err != nil {
		t.Fatal(err)
	}
	p := r.start()
	first := r.bulk("d", 50, 50)
	r.waitReports(len(first), 60*time.Second)

	// Fill the volume, then drop what still fits.
	filler := filepath.Join(r.spool, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 64<<10)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			break
		}
	}
	_ = f.Sync()
	// Room for the message files (about 100 octets a message) and no more:
	// the reports, a page of tmpfs each, will not fit.
	n := scale(200, 1000)
	if err := f.Truncate(mustSize(t, f) - int64(scale(48, 192))<<10); err != nil {
		t.Fatal(err)
	}
	f.Close()
	second := r.bulk("full", n, 100)
	r.eventually(60*time.Second, func() string {
		st, err := r.statusJSON()
		if err != nil {
			return err.Error()
		}
		if st.Inbox.LastError == "" && len(st.Health) == 0 {
			return fmt.Sprintf("the status to say the inbox cannot be written: %+v", st)
		}
		return ""
	})
	st, _ := r.statusJSON()
	t.Logf("while full: health %v, inbox error %q", st.Health, st.Inbox.LastError)
	if !p.running() {
		t.Fatal("the agent exited on a full disk")
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	r.waitReports(len(first)+n, 120*time.Second)
	p.stop(10 * time.Second)
	r.fault("spool tmpfs %d MiB filled during receipts, freed after the status said so", sizeMiB)
	r.ledger(append(first, second...))
	r.checkStore()
}

func mustSize(t *testing.T, f *os.File) int64 {
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}
