package agent_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smsagent/smsagent/agent"
	"github.com/smsagent/smsagent/bindpool"
	"github.com/smsagent/smsagent/config"
	"github.com/smsagent/smsagent/internal/testutil"
	"github.com/smsagent/smsagent/smpp/smsc"
)

// TestAgent_e2e_passwordRotated: the SMSC's password changed before the
// agent's password file did. The agent keeps taking files, says loudly that
// the credentials are refused (status, health, Ready), and once the file
// holds the new password it binds without a restart and sends everything
// queued meanwhile, once.
func TestAgent_e2e_passwordRotated(t *testing.T) {
	sim := simulator(t, smsc.Options{Accounts: map[string]string{"agent": "new-pw"}})
	pwFile := filepath.Join(t.TempDir(), "smsc.password")
	if err := os.WriteFile(pwFile, []byte("old-pw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := e2eConfig(t, sim.Addr())
	cfg.SMSC.Password, cfg.SMSC.PasswordFile = config.Secret{}, pwFile
	r := start(t, cfg, agent.Options{TunePool: func(o *bindpool.Options) {
		fastPool(o)
		o.AuthRetry, o.AuthPoll = time.Hour, 10*time.Millisecond
	}})
	bulk(t, cfg, 50)
	testutil.Eventually(t, 10*time.Second, "the refusal in status", func() bool {
		st, err := r.a.Status(context.Background())
		return err == nil && st.SMSC.CredentialsRefused && st.SMSC.Refusals >= 2
	})
	st, _ := r.a.Status(context.Background())
	if health := strings.Join(st.Health, "\n"); !strings.Contains(health, "smsc credentials refused: ") ||
		!strings.Contains(health, "ESME_RINVPASWD") || st.SMSC.RefusedSince.IsZero() {
		t.Errorf("health %q, since %v", health, st.SMSC.RefusedSince)
	}
	if err := r.a.Ready(); err == nil || !strings.HasPrefix(err.Error(), "smsc credentials refused: ") {
		t.Errorf("Ready = %v", err)
	}
	if err := os.WriteFile(pwFile, []byte("new-pw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	waitDelivered(t, cfg, 50, 20*time.Second)
	checkAll(t, cfg, sim, 50, "delivered")
	if n := duplicates(sim); n != 0 {
		t.Errorf("%d messages sent twice", n)
	}
	st, _ = r.a.Status(context.Background())
	if st.SMSC.CredentialsRefused || r.a.Ready() != nil {
		t.Errorf("still refused after the password changed: %+v, Ready %v", st.SMSC, r.a.Ready())
	}
}
