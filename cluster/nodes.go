package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/smsagent/smsagent"
)

// AnnounceEvery is how often a node publishes its NodeInfo; a node not
// seen for 3 periods is shown as silent.
const AnnounceEvery = 5 * time.Second

// NodeInfo is what a node tells the cluster about itself (bucket
// <prefix>_nodes), for status and `smsagent cluster status`.
type NodeInfo = smsagent.ClusterNode

// Silent reports whether a node has not announced itself for three
// periods by now.
func Silent(i NodeInfo, now time.Time) bool { return now.Sub(i.Seen) > 3*AnnounceEvery }

// Announce publishes this node's info.
func (n *Node) Announce(ctx context.Context, info NodeInfo) error {
	if err := n.ensure(ctx); err != nil {
		return fmt.Errorf("cluster: announce: %w", err)
	}
	info.Node = n.opts.Node
	data, err := json.Marshal(info)
	if err != nil {
		return fmt.Errorf("cluster: announce: %w", err)
	}
	if _, err := n.nodes.Put(ctx, n.opts.Node, data); err != nil {
		return fmt.Errorf("cluster: announce: %w", unavailable(err))
	}
	return nil
}

// Nodes lists every node that announced itself, by name.
func (n *Node) Nodes(ctx context.Context) ([]NodeInfo, error) {
	if err := n.ensure(ctx); err != nil {
		return nil, fmt.Errorf("cluster: nodes: %w", err)
	}
	lister, err := n.nodes.ListKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("cluster: nodes: %w", unavailable(err))
	}
	var out []NodeInfo
	for key := range lister.Keys() {
		e, err := n.nodes.Get(ctx, key)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("cluster: nodes: %w", unavailable(err))
		}
		var info NodeInfo
		if err := json.Unmarshal(e.Value(), &info); err != nil {
			n.log.Warn("cluster: unreadable node info", "node", key, "err", err)
			continue
		}
		out = append(out, info)
	}
	slices.SortFunc(out, func(a, b NodeInfo) int { return strings.Compare(a.Node, b.Node) })
	return out, nil
}

// StreamInfo describes one of the cluster's streams (buckets are streams
// too) and its replicas.
type StreamInfo struct {
	Name      string         `json:"name"`
	Messages  uint64         `json:"messages"`
	Bytes     uint64         `json:"bytes"`
	Replicas  int            `json:"replicas"`
	Leader    string         `json:"leader"`
	Peers     []PeerInfo     `json:"peers"`
	Consumers []ConsumerInfo `json:"consumers,omitempty"`
}

// PeerInfo is a follower replica: current, and how many operations it
// lags behind the leader.
type PeerInfo struct {
	Name    string        `json:"name"`
	Current bool          `json:"current"`
	Offline bool          `json:"offline"`
	Lag     uint64        `json:"lag"`
	Active  time.Duration `json:"active"`
}

// ConsumerInfo is a consumer of a stream: messages not yet delivered
// (pending), delivered and not acknowledged (held by a node), and
// delivered again (taken over or given back).
type ConsumerInfo struct {
	Name        string `json:"name"`
	Pending     uint64 `json:"pending"`
	AckPending  int    `json:"ack_pending"`
	Redelivered int    `json:"redelivered"`
}

// Streams describes the cluster's streams and buckets of this prefix.
func (n *Node) Streams(ctx context.Context) ([]StreamInfo, error) {
	if err := n.ensure(ctx); err != nil {
		return nil, fmt.Errorf("cluster: streams: %w", err)
	}
	p := n.opts.Prefix
	names := []string{p + "_QUEUE", p + "_EVENTS", p + "_ROUTE", "KV_" + p + "_ids", "KV_" + p + "_claims",
		"KV_" + p + "_sids", "KV_" + p + "_nodes"}
	out := make([]StreamInfo, 0, len(names))
	for _, name := range names {
		s, err := n.js.Stream(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("cluster: stream %s: %w", name, unavailable(err))
		}
		info, err := s.Info(ctx)
		if err != nil {
			return nil, fmt.Errorf("cluster: stream %s: %w", name, unavailable(err))
		}
		si := StreamInfo{Name: name, Messages: info.State.Msgs, Bytes: info.State.Bytes, Replicas: info.Config.Replicas}
		if info.Cluster != nil {
			si.Leader = info.Cluster.Leader
			for _, r := range info.Cluster.Replicas {
				si.Peers = append(si.Peers, PeerInfo{Name: r.Name, Current: r.Current, Offline: r.Offline,
					Lag: r.Lag, Active: r.Active})
			}
		}
		if !strings.HasPrefix(name, "KV_") {
			cl := s.ListConsumers(ctx)
			for ci := range cl.Info() {
				si.Consumers = append(si.Consumers, ConsumerInfo{Name: ci.Name, Pending: ci.NumPending,
					AckPending: ci.NumAckPending, Redelivered: ci.NumRedelivered})
			}
			if err := cl.Err(); err != nil {
				return nil, fmt.Errorf("cluster: stream %s: consumers: %w", name, unavailable(err))
			}
		}
		out = append(out, si)
	}
	return out, nil
}
