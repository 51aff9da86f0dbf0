package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/outbox"
)

// TestStore_Concurrent runs every kind of caller at once against one store:
// producers (with colliding client ids), two dispatchers recording random
// outcomes, a receipt feeder, incoming SMS, the inbox writer, an operator
// and a sweeper. Invariants, checked at the end by Check and here: every
// acknowledged enqueue is stored once, counters agree with a recount, no
// operation fails except by the documented state errors.
func TestStore_Concurrent(t *testing.T) {
	e := newEnv(t, func(o *outbox.Options) {
		o.Retry.Rand = rand.NewPCG(1, 1)
		o.Retry.Initial = time.Millisecond
		o.OrphanGrace = time.Minute
		o.Retention = time.Hour
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var (
		wg       sync.WaitGroup
		stored   atomic.Int64
		accepted = make(chan string, 1024)
		failures = make(chan error, 100)
	)
	fail := func(err error) {
		select {
		case failures <- err:
		default:
		}
	}
	const producers, batches = 8, 40
	var producing sync.WaitGroup
	for p := 0; p < producers; p++ {
		producing.Add(1)
		go func() {
			defer producing.Done()
			for b := 0; b < batches; b++ {
				ms := make([]smsagent.Message, 1+b%4)
				for i := range ms {
					ms[i] = msg("+35840123", fmt.Sprintf("p%d b%d m%d", p, b, i))
					ms[i].ClientID = fmt.Sprintf("k%d", (p*batches+b*7+i)%150) // collisions across producers
					ms[i].Report = i%2 == 0
					ms[i].Priority = smsagent.Priority(b % 2)
				}
				res, err := e.s.Enqueue(ctx, smsagent.Batch{Claim: fmt.Sprintf("p%d-b%d", p, b), Messages: ms})
				if err != nil {
					fail(err)
					return
				}
				for _, id := range res.IDs {
					if id != 0 {
						stored.Add(1)
					}
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() { producing.Wait(); close(done) }()

	dispatcher := func(seed uint64) {
		defer wg.Done()
		r := rand.New(rand.NewPCG(seed, seed))
		for {
			rs, err := e.s.Claim(ctx, e.clock.Add(time.Millisecond), 20)
			if err != nil {
				fail(err)
				return
			}
			if len(rs) == 0 {
				select {
				case <-done:
					return
				default:
					continue
				}
			}
			var results []outbox.PartResult
			for _, rec := range rs {
				total := 1 + int(rec.ID%3)
				for seq := 1; seq <= total; seq++ {
					if len(rec.Parts) > 0 && rec.Parts[seq-1].State != smsagent.StateSending {
						continue
					}
					var pr outbox.PartResult
					switch n := r.IntN(10); {
					case n < 6:
						pr = accept(rec.ID, seq, total)
						select {
						case accepted <- pr.SMSCKey:
						default:
						}
					case n < 8:
						pr = result(rec.ID, seq, total, outbox.OutcomeTemporary, 0x14, "busy")
					case n < 9:
						pr = result(rec.ID, seq, total, outbox.OutcomeThrottled, 0x58, "")
					default:
						pr = result(rec.ID, seq, total, outbox.OutcomePermanent, 0x0b, "bad")
					}
					results = append(results, pr)
				}
			}
			if err := e.s.RecordParts(ctx, results); err != nil {
				fail(err)
				return
			}
		}
	}
	wg.Add(2)
	go dispatcher(1)
	go dispatcher(2)

	var helpers sync.WaitGroup
	helper := func(f func() error) {
		helpers.Add(1)
		go func() {
			defer helpers.Done()
			for {
				select {
				case <-ctx.Done():
					return
				default:
				}
				if err := f(); err != nil && ctx.Err() == nil {
					fail(err)
					return
				}
			}
		}()
	}
	helper(func() error { // receipts, some for ids nobody knows
		var rs []smsagent.Receipt
		for i := 0; i < 10; i++ {
			select {
			case k := <-accepted:
				rs = append(rs, receipt(k, smsagent.StateDelivered, "DELIVRD"))
			default:
				rs = append(rs, receipt(fmt.Sprintf("ghost%d", rand.IntN(50)), smsagent.StateUndeliverable, "UNDELIV"))
			}
		}
		_, err := e.s.ApplyReceipts(ctx, rs)
		return err
	})
	helper(func() error { // incoming SMS
		n := rand.IntN(40)
		p := mopart(fmt.Sprintf("set%d", n/3), 1+n%3, 3, "x")
		_, err := e.s.AddMOParts(ctx, []smsagent.MOPart{p})
		return err
	})
	helper(func() error { // the inbox writer
		select {
		case <-e.s.EventsReady():
		case <-ctx.Done():
			return nil
		}
		evs, err := e.s.Events(ctx, 0, 200)
		if err != nil {
			return err
		}
		seqs := make([]uint64, len(evs))
		for i, ev := range evs {
			seqs[i] = ev.Seq
		}
		return e.s.EventsWritten(ctx, seqs)
	})
	helper(func() error { // an operator
		id := smsagent.MessageID(1 + rand.IntN(int(max(stored.Load(), 1))))
		var err error
		switch rand.IntN(5) {
		case 0:
			err = e.s.Cancel(ctx, id)
		case 1:
			err = e.s.Retry(ctx, id)
		case 2:
			_, err = e.s.Get(ctx, id)
		case 3:
			_, err = e.s.List(ctx, outbox.ListQuery{State: smsagent.StateQueued, After: id, Limit: 5})
		case 4:
			_, err = e.s.Stats(ctx)
		}
		if errors.Is(err, outbox.ErrState) || errors.Is(err, outbox.ErrNotFound) {
			return nil
		}
		return err
	})
	helper(func() error { // the sweeper
		_, err := e.s.Sweep(ctx, e.clock.Now())
		return err
	})

	wg.Wait()
	cancel()
	helpers.Wait()
	select {
	case err := <-failures:
		t.Fatal(err)
	default:
	}
	st := e.stats()
	total := 0
	for _, n := range st.ByState {
		total += n
	}
	if int64(total) != stored.Load() {
		t.Fatalf("%d messages acknowledged, %d stored (%v)", stored.Load(), total, st.ByState)
	}
	if st.ByState[smsagent.StateSending] != 0 {
		t.Fatalf("messages left sending: %v", st.ByState)
	}
	t.Logf("%d messages, final states %v", total, st.ByState)
}
