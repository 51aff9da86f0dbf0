package service

import (
	"errors"
	"strings"

	kservice "github.com/kardianos/service"
)

// kardianosConfig is what kardianos/service installs: the agent's run
// command with an absolute configuration path (a service starts in / on
// Linux and in System32 on Windows, so a relative one would break), and on
// Linux our own rendered unit.
func (m *Manager) kardianosConfig() *kservice.Config {
	c := &kservice.Config{
		Name:        Name,
		DisplayName: "smsagent SMS agent",
		Description: "Store-and-forward SMS agent: sends message files from its spool folder over SMPP " +
			"and writes delivery reports and incoming SMS back as files.",
		Arguments:  []string{"run", "--config", m.opts.ConfigFile},
		Executable: m.opts.Executable,
		Option:     kservice.KeyValue{},
	}
	if m.unit != "" {
		// A rendered unit has no {{actions}} (Render refuses paths with
		// "{{"), so kardianos' template engine copies it unchanged.
		c.Option["SystemdScript"] = m.unit
	}
	return c
}

// noProgram is the kardianos.Interface of a process that only manages the
// service; the process that runs it uses Run instead.
type noProgram struct{}

func (noProgram) Start(kservice.Service) error { return nil }
func (noProgram) Stop(kservice.Service) error  { return nil }

// kardianosController adapts kardianos/service to Controller.
type kardianosController struct {
	s kservice.Service
}

var _ Controller = kardianosController{}

func (k kardianosController) Install() error   { return k.s.Install() }
func (k kardianosController) Uninstall() error { return k.s.Uninstall() }
func (k kardianosController) Start() error     { return k.s.Start() }
func (k kardianosController) Stop() error      { return k.s.Stop() }
func (k kardianosController) Restart() error   { return k.s.Restart() }

func (k kardianosController) Status() (Status, error) {
	st, err := k.s.Status()
	switch {
	case errors.Is(err, kservice.ErrNotInstalled):
		return StatusNotInstalled, nil
	case err != nil && strings.Contains(err.Error(), "failed state"):
		// kardianos reports systemd's "failed" as an error without a type.
		return StatusFailed, nil
	case err != nil:
		return StatusUnknown, err
	}
	switch st {
	case kservice.StatusRunning:
		return StatusRunning, nil
	case kservice.StatusStopped:
		return StatusStopped, nil
	}
	return StatusUnknown, nil
}
