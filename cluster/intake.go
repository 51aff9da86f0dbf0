package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/smsagent/smsagent"
)

// wireVersion is the version of what the streams carry (messages, events,
// receipts). A node reads every version up to its own.
const wireVersion = 1

type wireMessage struct {
	V int              `json:"v"`
	M smsagent.Message `json:"m"`
}

// publishTimeout bounds one publish's wait for its acknowledgement.
const publishTimeout = 10 * time.Second

// Enqueue publishes every message of b to the shared queue and records the
// claim as taken (the spool's Store: the file is removed after it
// returns). The ids are the stream's sequence numbers. A message whose
// client id (with its recipient) was taken before anywhere in the cluster
// is not published and is listed in Duplicates, with a duplicate event for
// the file's inbox/ like the bbolt backend's.
//
// Crash story: each publish carries the id <claim hash>-<index>. A crash
// before the claim's record leaves the file in .work/; the next start
// publishes again with the same ids, which the stream stores once within
// DuplicateWindow, and finds its own client-id entries (same message id)
// rather than taking them for duplicates.
func (n *Node) Enqueue(ctx context.Context, b smsagent.Batch) (smsagent.BatchResult, error) {
	if err := n.waitReady(ctx); err != nil {
		return smsagent.BatchResult{}, fmt.Errorf("cluster: enqueue %s: %w", b.Claim, err)
	}
	res, err := n.enqueue(ctx, b)
	if err != nil {
		return smsagent.BatchResult{}, fmt.Errorf("cluster: enqueue %s: %w", b.Claim, unavailable(err))
	}
	return res, nil
}

func (n *Node) enqueue(ctx context.Context, b smsagent.Batch) (smsagent.BatchResult, error) {
	claim := hashKey(n.opts.Node, b.Claim)
	if _, err := n.claims.Get(ctx, claim); err == nil {
		return smsagent.BatchResult{AlreadyTaken: true}, nil
	} else if !errors.Is(err, jetstream.ErrKeyNotFound) {
		return smsagent.BatchResult{}, err
	}
	now := n.opts.Clock().Round(0)
	res := smsagent.BatchResult{IDs: make([]smsagent.MessageID, len(b.Messages))}
	// Client ids first, all at once: each is created in the bucket only
	// if absent (a publish expecting no earlier value of its key).
	idKeys := make([]string, len(b.Messages))
	dupOf := make([]int, len(b.Messages)) // index+1 of the earlier message of this batch with the same key
	inBatch := map[string]int{}
	var creates []jetstream.PubAckFuture
	var createdFor []int
	for i := range b.Messages {
		key := b.Messages[i].IdempotencyKey()
		if key == "" {
			continue
		}
		if j, ok := inBatch[key]; ok {
			dupOf[i] = j + 1
			continue
		}
		inBatch[key] = i
		idKeys[i] = hashKey(key)
		f, err := n.js.PublishMsgAsync(&nats.Msg{Subject: n.kvSubject("ids", idKeys[i]), Data: []byte(msgID(claim, i))},
			jetstream.WithExpectLastSequencePerSubject(0))
		if err != nil {
			return smsagent.BatchResult{}, err
		}
		creates = append(creates, f)
		createdFor = append(createdFor, i)
	}
	taken := make([]bool, len(b.Messages)) // the client id belongs to a message stored before
	prev := make([]smsagent.MessageID, len(b.Messages))
	for j, f := range creates {
		i := createdFor[j]
		ok, err := awaitOne(ctx, f)
		if err != nil {
			return smsagent.BatchResult{}, err
		}
		if ok {
			continue
		}
		dup, id, err := n.clientIDOwner(ctx, idKeys[i], msgID(claim, i))
		if err != nil {
			return smsagent.BatchResult{}, err
		}
		taken[i], prev[i] = dup, id
	}
	futures := make([]jetstream.PubAckFuture, len(b.Messages))
	for i := range b.Messages {
		m := b.Messages[i]
		if dupOf[i] > 0 || taken[i] {
			continue
		}
		m.ID = 0
		m.Origin = n.opts.Node
		if m.ReceivedAt.IsZero() {
			m.ReceivedAt = now
		}
		if m.File == "" {
			m.File = b.File
		}
		data, err := json.Marshal(wireMessage{V: wireVersion, M: m})
		if err != nil {
			return smsagent.BatchResult{}, err
		}
		subj := n.subjNormal
		if m.Priority == smsagent.PriorityHigh {
			subj = n.subjHigh
		}
		f, err := n.js.PublishMsgAsync(&nats.Msg{Subject: subj, Data: data}, jetstream.WithMsgID(msgID(claim, i)))
		if err != nil {
			return smsagent.BatchResult{}, err
		}
		futures[i] = f
	}
	wait, cancel := context.WithTimeout(ctx, publishTimeout)
	defer cancel()
	for i, f := range futures {
		if f == nil {
			continue
		}
		select {
		case ack := <-f.Ok():
			res.IDs[i] = smsagent.MessageID(ack.Sequence)
		case err := <-f.Err():
			return smsagent.BatchResult{}, err
		case <-wait.Done():
			return smsagent.BatchResult{}, wait.Err()
		}
	}
	// The client-id entries learn the id, for the duplicate lists of later
	// files; until then a duplicate names message 0.
	var puts []jetstream.PubAckFuture
	for i, k := range idKeys {
		if k == "" || taken[i] {
			continue
		}
		v := msgID(claim, i) + " " + strconv.FormatUint(uint64(res.IDs[i]), 10)
		f, err := n.js.PublishMsgAsync(&nats.Msg{Subject: n.kvSubject("ids", k), Data: []byte(v)})
		if err != nil {
			return smsagent.BatchResult{}, err
		}
		puts = append(puts, f)
	}
	if err := n.awaitAll(ctx, puts, "client ids"); err != nil {
		return smsagent.BatchResult{}, err
	}
	for i := range b.Messages {
		m := &b.Messages[i]
		switch {
		case dupOf[i] > 0:
			res.Duplicates = append(res.Duplicates, smsagent.DuplicateEntry{ID: m.ClientID, To: m.To.String(), MessageID: res.IDs[dupOf[i]-1]})
		case taken[i]:
			res.Duplicates = append(res.Duplicates, smsagent.DuplicateEntry{ID: m.ClientID, To: m.To.String(), MessageID: prev[i]})
		}
	}
	if len(res.Duplicates) > 0 && b.File != "" {
		ev := smsagent.Event{Kind: smsagent.EventDuplicate, Time: now, Duplicate: &smsagent.Duplicate{
			Type: "duplicate", File: b.File, Messages: res.Duplicates, Time: now}}
		if err := n.publishEvent(ctx, n.opts.Node, claim+"-dup", &ev); err != nil {
			return smsagent.BatchResult{}, err
		}
	}
	if _, err := n.claims.Put(ctx, claim, []byte(strconv.FormatInt(now.Unix(), 10))); err != nil {
		return smsagent.BatchResult{}, err
	}
	return res, nil
}

// msgID is the Nats-Msg-Id of a batch's message i.
func msgID(claim string, i int) string { return claim + "-" + strconv.Itoa(i) }

// kvSubject is the subject a bucket's key is written on.
func (n *Node) kvSubject(bucket, key string) string {
	return "$KV." + n.opts.Prefix + "_" + bucket + "." + key
}

// awaitOne waits for one publish that expected its key absent: false when
// the key was there (JetStream's wrong-last-sequence refusal).
func awaitOne(ctx context.Context, f jetstream.PubAckFuture) (bool, error) {
	wait, cancel := context.WithTimeout(ctx, publishTimeout)
	defer cancel()
	select {
	case <-f.Ok():
		return true, nil
	case err := <-f.Err():
		var apiErr *jetstream.APIError
		if errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence {
			return false, nil
		}
		return false, err
	case <-wait.Done():
		return false, wait.Err()
	}
}

// IntakeWait is how long intake waits for the cluster before it reports
// the file's store failed (and the spool stalls, retrying with backoff): a
// start or a leader election is over by then, and the file goes in as
// soon as the cluster answers rather than after the spool's backoff.
const IntakeWait = 30 * time.Second

// waitReady waits up to IntakeWait for the cluster to be ready.
func (n *Node) waitReady(ctx context.Context) error {
	deadline := time.Now().Add(IntakeWait)
	for {
		err := n.ensure(ctx)
		if err == nil && n.nc.IsConnected() {
			return nil
		}
		if err == nil {
			err = n.Ready()
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return err
		}
		sleep(ctx, 250*time.Millisecond)
	}
}

// clientIDOwner reads the message a client id belongs to: a duplicate
// unless it is msgID itself (this batch, stored before a crash); prev is
// that message's id when known.
func (n *Node) clientIDOwner(ctx context.Context, key, msgID string) (dup bool, prev smsagent.MessageID, err error) {
	e, err := n.ids.Get(ctx, key)
	if err != nil {
		return false, 0, err
	}
	owner, seq, _ := strings.Cut(string(e.Value()), " ")
	if owner == msgID {
		return false, 0, nil
	}
	id, _ := strconv.ParseUint(seq, 10, 64)
	return true, smsagent.MessageID(id), nil
}

// Taken reports whether a batch with this claim was stored in the cluster.
func (n *Node) Taken(ctx context.Context, claim string) (bool, error) {
	if err := n.waitReady(ctx); err != nil {
		return false, fmt.Errorf("cluster: taken %s: %w", claim, err)
	}
	_, err := n.claims.Get(ctx, hashKey(n.opts.Node, claim))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, jetstream.ErrKeyNotFound):
		return false, nil
	}
	return false, fmt.Errorf("cluster: taken %s: %w", claim, unavailable(err))
}
