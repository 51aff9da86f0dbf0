//go:build windows

package hookrun

import (
	"os/exec"
	"sync"
	"unsafe"

	"golang.org/x/sys/windows"
)

// group is a job object the command is put in once started: its children
// are in it too, and terminating the job ends them all. The job is made to
// kill what is left in it when its last handle closes, so nothing outlives
// an agent that dies. A child the command starts before it is assigned
// (microseconds after its start) escapes the job; so does one started with
// CREATE_BREAKAWAY_FROM_JOB where the job allows it, which it does not.
type group struct {
	cmd *exec.Cmd

	mu  sync.Mutex
	job windows.Handle // 0 when no job could be made: the process alone is killed
}

func newGroup(cmd *exec.Cmd) *group { return &group{cmd: cmd} }

func (g *group) started() {
	job, err := windows.CreateJobObject(nil, nil)
	if err != nil {
		return
	}
	info := windows.JOBOBJECT_EXTENDED_LIMIT_INFORMATION{}
	info.BasicLimitInformation.LimitFlags = windows.JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
	if _, err := windows.SetInformationJobObject(job, windows.JobObjectExtendedLimitInformation,
		uintptr(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info))); err != nil {
		_ = windows.CloseHandle(job)
		return
	}
	proc, err := windows.OpenProcess(windows.PROCESS_SET_QUOTA|windows.PROCESS_TERMINATE, false, uint32(g.cmd.Process.Pid))
	if err != nil {
		_ = windows.CloseHandle(job)
		return
	}
	defer windows.CloseHandle(proc)
	if err := windows.AssignProcessToJobObject(job, proc); err != nil {
		_ = windows.CloseHandle(job)
		return
	}
	g.mu.Lock()
	g.job = job
	g.mu.Unlock()
}

func (g *group) kill() error {
	g.mu.Lock()
	job := g.job
	g.mu.Unlock()
	if job != 0 {
		if err := windows.TerminateJobObject(job, 1); err == nil {
			return nil
		}
	}
	return g.cmd.Process.Kill()
}

// close lets go of the job: with KILL_ON_JOB_CLOSE, what the command left
// running in it ends now, as on Unix a timeout would end it.
func (g *group) close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.job != 0 {
		_ = windows.CloseHandle(g.job)
		g.job = 0
	}
}
