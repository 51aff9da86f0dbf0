//go:build windows

package hookrun

import (
	"fmt"
	"os/exec"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/windows"
)

// procGroup is the program's job object. Every process the program starts
// is in the job too (unless it asks to break away and the job allows it,
// which ours does not), so TerminateJobObject ends grandchildren as well.
// JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE makes the agent's death, which
// closes its handles, end the hook's processes too.
//
// The program is created suspended and put in the job before it runs a
// single instruction: assigned after it had run, a process it started in
// its first moments would be outside the job.
type procGroup struct {
	// mu orders kill (called by os/exec's context watcher, which may run
	// as soon as the process exists) after start has assigned and resumed
	// the process, and before release closes the job.
	mu  sync.Mutex
	job windows.Handle // 0: no job, the program alone is killed
	// noJob is why there is no job. Wine, or a Windows that refuses nested
	// jobs (before Windows 8, when the agent itself runs in a job), may
	// refuse one; the hook runs anyway, killed alone at the deadline.
	noJob error
}

func newGroup(cmd *exec.Cmd) *procGroup {
	g := &procGroup{}
	job, err := windows.CreateJobObject(nil, nil)
	if err != nil {
		g.noJob = fmt.Errorf("create job object: %w", err)
		return g
	}
	var info windows.JOBOBJECT_EXTENDED_LIMIT_INFORMATION
	info.BasicLimitInformation.LimitFlags = windows.JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
	if err := setLimits(job, &info); err != nil {
		_ = windows.CloseHandle(job)
		g.noJob = fmt.Errorf("set the job object's kill-on-close limit: %w", err)
		return g
	}
	g.job = job
	cmd.SysProcAttr = &syscall.SysProcAttr{CreationFlags: windows.CREATE_SUSPENDED}
	return g
}

func setLimits(job windows.Handle, info *windows.JOBOBJECT_EXTENDED_LIMIT_INFORMATION) error {
	_, err := windows.SetInformationJobObject(job, windows.JobObjectExtendedLimitInformation,
		uintptr(unsafe.Pointer(info)), uint32(unsafe.Sizeof(*info)))
	return err
}

func (g *procGroup) start(cmd *exec.Cmd) error {
	g.mu.Lock()
	if err := cmd.Start(); err != nil {
		g.closeJob()
		g.mu.Unlock()
		return err
	}
	if g.job == 0 {
		g.mu.Unlock()
		return nil
	}
	pid := uint32(cmd.Process.Pid)
	if err := assign(g.job, pid); err != nil {
		g.closeJob()
		g.noJob = err
	}
	err := resume(pid)
	g.mu.Unlock()
	if err != nil {
		// A process that cannot be resumed would wait forever.
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return fmt.Errorf("resume the program created suspended: %w", err)
	}
	return nil
}

func assign(job windows.Handle, pid uint32) error {
	h, err := windows.OpenProcess(windows.PROCESS_SET_QUOTA|windows.PROCESS_TERMINATE, false, pid)
	if err != nil {
		return fmt.Errorf("open the process to put it in a job object: %w", err)
	}
	defer windows.CloseHandle(h)
	if err := windows.AssignProcessToJobObject(job, h); err != nil {
		return fmt.Errorf("put the process in a job object: %w", err)
	}
	return nil
}

// resume starts the threads of the suspended process pid: its main thread,
// the only one it has. os/exec closes the thread handle CreateProcess
// returned, so the thread is found again by a snapshot.
func resume(pid uint32) error {
	snap, err := windows.CreateToolhelp32Snapshot(windows.TH32CS_SNAPTHREAD, 0)
	if err != nil {
		return fmt.Errorf("thread snapshot: %w", err)
	}
	defer windows.CloseHandle(snap)
	resumed := 0
	te := windows.ThreadEntry32{Size: uint32(unsafe.Sizeof(windows.ThreadEntry32{}))}
	for err = windows.Thread32First(snap, &te); err == nil; err = windows.Thread32Next(snap, &te) {
		if te.OwnerProcessID != pid {
			continue
		}
		th, err := windows.OpenThread(windows.THREAD_SUSPEND_RESUME, false, te.ThreadID)
		if err != nil {
			return fmt.Errorf("open thread %d: %w", te.ThreadID, err)
		}
		_, err = windows.ResumeThread(th)
		_ = windows.CloseHandle(th)
		if err != nil {
			return fmt.Errorf("resume thread %d: %w", te.ThreadID, err)
		}
		resumed++
	}
	if resumed == 0 {
		return fmt.Errorf("no thread of process %d in the snapshot", pid)
	}
	return nil
}

func (g *procGroup) kill(cmd *exec.Cmd) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.job != 0 {
		// 1 is the exit status the killed processes report; Run reports
		// -1 for a killed program whatever it is.
		if err := windows.TerminateJobObject(g.job, 1); err == nil {
			return nil
		}
	}
	return cmd.Process.Kill()
}

// release closes the job. After a normal exit the kill-on-close limit is
// lifted first, so that what the program left running is left alone, as on
// Unix; if that fails, closing the job ends those processes.
func (g *procGroup) release(killed bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.job == 0 {
		return
	}
	if !killed {
		var none windows.JOBOBJECT_EXTENDED_LIMIT_INFORMATION
		_ = setLimits(g.job, &none)
	}
	g.closeJob()
}

func (g *procGroup) closeJob() {
	if g.job != 0 {
		_ = windows.CloseHandle(g.job)
		g.job = 0
	}
}

func (g *procGroup) killedWith() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.noJob != nil {
		return fmt.Sprintf("alone (no job object: %v)", g.noJob)
	}
	return "with its job object"
}
