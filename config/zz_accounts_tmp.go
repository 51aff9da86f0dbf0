package config

// TEMPORARY shim until the cfg14 branch lands; deleted at merge.

import (
	"strings"
	"time"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/smpp/pdu"
)

const DefaultAccount = "default"

type Route struct {
	To    []string
	SMSCs []string
}
type Failover struct {
	After    time.Duration
	OnStatus []string
}

func (f *Failover) Statuses() []pdu.Status { return nil }

var tmpSMSCs []SMSC
var tmpRoutes []Route

func (c *Config) Accounts() []*SMSC {
	if len(tmpSMSCs) == 0 {
		c.SMSC.Name = DefaultAccount
		return []*SMSC{&c.SMSC}
	}
	out := []*SMSC{}
	for i := range tmpSMSCs {
		out = append(out, &tmpSMSCs[i])
	}
	return out
}
func (c *Config) EffectiveRoutes() []Route {
	if len(tmpRoutes) > 0 {
		return tmpRoutes
	}
	var names []string
	for _, a := range c.Accounts() {
		names = append(names, a.Name)
	}
	return []Route{{SMSCs: names}}
}
func (c *Config) Account(name string) (*SMSC, bool) {
	for _, a := range c.Accounts() {
		if a.Name == name {
			return a, true
		}
	}
	return nil, false
}
func (c *Config) Route(to smsagent.Address) (Route, bool) {
	for _, r := range c.EffectiveRoutes() {
		if len(r.To) == 0 {
			return r, true
		}
		for _, p := range r.To {
			if strings.HasPrefix(to.String(), p) {
				return r, true
			}
		}
	}
	return Route{}, false
}
