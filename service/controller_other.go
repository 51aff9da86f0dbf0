//go:build !windows

package service

import (
	"fmt"

	kservice "github.com/kardianos/service"
)

// newController returns the systemd controller. Other init systems get a
// clear refusal: the unit, its hardening and the install checks are written
// and tested for systemd only.
func newController(c *kservice.Config) (Controller, error) {
	sys := kservice.ChosenSystem()
	if sys == nil || sys.String() != "linux-systemd" {
		found := "no service manager smsagent knows"
		if sys != nil {
			found = sys.String()
		}
		return nil, fmt.Errorf("service: the service commands support systemd and Windows; this system has %s", found)
	}
	s, err := kservice.New(noProgram{}, c)
	if err != nil {
		return nil, fmt.Errorf("service: %w", err)
	}
	return kardianosController{s: s}, nil
}
