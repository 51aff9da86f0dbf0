package agent

import (
	"errors"
	"log/slog"
	"time"

	"github.com/smsagent/smsagent/config"
	"github.com/smsagent/smsagent/smpp"
)

// newBindPool builds the pool of package bindpool from the configuration.
func newBindPool(cfg *config.Config, handler func(smpp.Request), log *slog.Logger, clock func() time.Time) (Pool, error) {
	return nil, errors.New("bind pool not available yet: pass Options.NewPool")
}
