package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/smsagent/smsagent/agent"
	"github.com/smsagent/smsagent/cluster"
	"github.com/smsagent/smsagent/config"
	"github.com/smsagent/smsagent/outbox"
)

func init() {
	addCommand("cluster", "Show the cluster of agents sharing a queue on NATS JetStream (store backend jetstream).",
		func() any { return &clusterCmd{} })
	addCommand("migrate", "Move the queued messages between this agent's database and a cluster's queue (agent stopped).",
		func() any { return &migrateCmd{} })
}

type clusterCmd struct {
	Status clusterStatusCmd `cmd:"" help:"Nodes, streams, replicas and lag."`
}

type clusterStatusCmd struct {
	queueFlags
	JSON bool `help:"Print the status as JSON."`
}

// clusterWait bounds how long the cluster commands wait for the cluster.
const clusterWait = 15 * time.Second

// connectCluster connects the way the agent of this configuration does,
// and waits until the cluster answers.
func (a *app) connectCluster(cfg *config.Config) (*cluster.Node, error) {
	if cfg.Store.Backend != config.BackendJetStream {
		return nil, usagef("store.backend is %s in %s: this agent is in no cluster", cfg.Store.Backend, cfg.File)
	}
	o, err := agent.ClusterOptions(cfg)
	if err != nil {
		return nil, err
	}
	o.Logger = slog.New(slog.DiscardHandler)
	ctx, cancel := context.WithTimeout(a.ctx, clusterWait)
	defer cancel()
	n, err := cluster.Connect(ctx, o)
	if err != nil {
		return nil, err
	}
	for {
		err := n.Ready()
		if err == nil {
			return n, nil
		}
		select {
		case <-ctx.Done():
			_ = n.Close(context.Background())
			return nil, fmt.Errorf("the cluster did not answer within %v: %w", clusterWait, err)
		case <-time.After(200 * time.Millisecond):
			if _, err := n.Queued(ctx); err != nil && !errors.Is(err, cluster.ErrUnavailable) {
				_ = n.Close(context.Background())
				return nil, err
			}
		}
	}
}

type clusterStatus struct {
	Prefix  string               `json:"prefix"`
	Nodes   []cluster.NodeInfo   `json:"nodes"`
	Streams []cluster.StreamInfo `json:"streams"`
}

func (c *clusterStatusCmd) Run(a *app) error {
	cfg, err := a.loadConfig(c.Config)
	if err != nil {
		return err
	}
	n, err := a.connectCluster(cfg)
	if err != nil {
		return err
	}
	defer n.Close(context.Background())
	ctx, cancel := context.WithTimeout(a.ctx, clusterWait)
	defer cancel()
	st := clusterStatus{Prefix: cfg.Store.JetStream.Prefix}
	if st.Nodes, err = n.Nodes(ctx); err != nil {
		return err
	}
	if st.Streams, err = n.Streams(ctx); err != nil {
		return err
	}
	if c.JSON {
		return printJSON(a.stdout, st)
	}
	return printClusterStatus(a.stdout, st, a.now())
}

func printClusterStatus(w io.Writer, st clusterStatus, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "cluster %s: %d nodes\n\n", st.Prefix, len(st.Nodes))
	fmt.Fprintln(tw, "NODE\tSEEN\tBOUND\tHELD\tTAKEN\tRELEASED\tOUTBOX\tVERSION")
	for _, nd := range st.Nodes {
		seen := now.Sub(nd.Seen).Round(time.Second).String() + " ago"
		if cluster.Silent(nd, now) {
			seen += " (silent)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d/%d\t%d\t%d\t%d\t%s\t%s\n", nd.Node, seen, nd.Bound, nd.Sessions, nd.Held,
			nd.Taken, nd.Released, byState(nd.Outbox), nd.Version)
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "STREAM\tMESSAGES\tBYTES\tREPLICAS\tLEADER\tFOLLOWERS")
	for _, s := range st.Streams {
		var peers []string
		for _, p := range s.Peers {
			state := "current"
			switch {
			case p.Offline:
				state = "offline"
			case !p.Current:
				state = fmt.Sprintf("lag %d", p.Lag)
			}
			peers = append(peers, p.Name+" "+state)
		}
		leader := s.Leader
		if leader == "" {
			leader = "-"
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\t%s\n", s.Name, s.Messages, s.Bytes, s.Replicas, leader, strings.Join(peers, ", "))
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "CONSUMER\tPENDING\tHELD\tREDELIVERED")
	for _, s := range st.Streams {
		for _, c := range s.Consumers {
			fmt.Fprintf(tw, "%s/%s\t%d\t%d\t%d\n", s.Name, c.Name, c.Pending, c.AckPending, c.Redelivered)
		}
	}
	return tw.Flush()
}

// byState writes an outbox's counts as "queued 3, sent 10", skipping zeros.
func byState(m map[string]int) string {
	var out []string
	for _, s := range []string{"queued", "sending", "sent", "delivered", "undeliverable", "expired", "rejected", "failed", "canceled"} {
		if m[s] > 0 {
			out = append(out, fmt.Sprintf("%s %d", s, m[s]))
		}
	}
	if len(out) == 0 {
		return "empty"
	}
	return strings.Join(out, ", ")
}

type migrateCmd struct {
	queueFlags
	To string `required:"" enum:"jetstream,bbolt" placeholder:"BACKEND" help:"Where the queue goes: jetstream (this database's queued messages into the cluster of store.jetstream) or bbolt (the cluster's queue into this database)."`
}

func (c *migrateCmd) Run(a *app) error {
	cfg, err := a.loadConfig(c.Config)
	if err != nil {
		return err
	}
	if len(cfg.Store.JetStream.URLs) == 0 {
		return usagef("store.jetstream.urls is empty in %s: migrate needs the cluster's address", cfg.File)
	}
	// Whatever backend the file says, both ends are named in it.
	cfg.Store.Backend = config.BackendJetStream
	store, err := outbox.Open(cfg.Store.Path, agent.OutboxOptions(cfg))
	if err != nil {
		if errors.Is(err, outbox.ErrLocked) {
			return fmt.Errorf("the agent is running (%s is locked): stop it first", cfg.Store.Path)
		}
		return err
	}
	defer store.Close(context.Background())
	n, err := a.connectCluster(cfg)
	if err != nil {
		return err
	}
	defer n.Close(context.Background())
	var res cluster.MigrateResult
	if c.To == config.BackendJetStream {
		res, err = n.MigrateIn(a.ctx, store)
		fmt.Fprintf(a.stdout, "moved %d queued messages into the cluster's queue as node %s; indexed %d accepted parts waiting for receipts\n",
			res.Messages, cfg.Store.JetStream.Node, res.Indexed)
	} else {
		res, err = n.MigrateOut(a.ctx, store)
		fmt.Fprintf(a.stdout, "moved %d messages from the cluster's queue and %d reports for node %s into %s\n",
			res.Messages, res.Events, cfg.Store.JetStream.Node, cfg.Store.Path)
	}
	return err
}
