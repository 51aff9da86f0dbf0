package cluster_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/smsagent/smsagent/cluster"
	"github.com/smsagent/smsagent/internal/natstest"
)

// TestConnect_concurrent: nodes that start together (a site's power comes
// back) all set the streams and buckets up, without waiting on each other
// for the request timeout (updating one replicated group from three nodes
// at once used to hang).
func TestConnect_concurrent(t *testing.T) {
	nc := natstest.Start(t, 3)
	var wg sync.WaitGroup
	for _, name := range []string{"alpha", "beta", "gamma"} {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			began := time.Now()
			n, err := cluster.Connect(ctx, cluster.Options{URLs: nc.URLs(), Prefix: "c", Replicas: 3, Node: name})
			if err != nil {
				t.Error(err)
				return
			}
			defer n.Close(context.Background())
			if err := n.Ready(); err != nil {
				t.Errorf("%s not ready after Connect (%v): %v", name, time.Since(began), err)
			}
		})
	}
	wg.Wait()
}
