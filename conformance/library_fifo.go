package conformance

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/snssqs/snssqs"
	"github.com/snssqs/snssqs/provision"
)

func libraryFIFOScenarios() []Scenario {
	return []Scenario{
		{Name: "Library/FIFOOrderingPerGroup", Run: libraryFIFOOrdering},
	}
}

// typeSeq is the event type of the FIFO scenario.
const typeSeq = "seq.step"

// seqEvent is one step of a group's sequence.
type seqEvent struct {
	Group string `json:"group"`
	Seq   int    `json:"seq"`
}

// FIFO topic → FIFO queue: three groups of ten events, each group published
// in order by its own goroutine, all three at once (so the Publisher
// coalesces them into shared batches). The Subscriber, with ten workers,
// hands each group's events to its handler in the order published. Earlier
// events take longer to handle, so a subscriber handling a group's messages
// in parallel would finish them out of order.
//
// The subscriber's SQS calls are recorded (fifoRecording). SQS never hands
// out a message of a group while another of that group is in flight; moto
// 5.2.1 does under load (its receive_message reads the groups in flight
// before it takes the queue's lock, so two concurrent receives can split a
// group between them). When the recording shows the server did that, the
// scenario skips on moto with the evidence, and fails on any other target;
// otherwise it asserts the order.
func libraryFIFOOrdering(t *testing.T, e *Env) {
	const (
		groups   = 3
		perGroup = 10
	)
	ctx := e.Context(t)
	topo, q := provisionQueue(t, e, e.Name("lib-fifo")+".fifo", provision.QueueSpec{})

	var mu sync.Mutex
	order := map[string][]int{}
	rec := NewRecorder()
	calls := newFIFORecording(e.SQS)
	sub := e.StartSubscriberWith(t, calls, func(s *snssqs.Subscriber) {
		_, err := snssqs.HandleFunc(s, q.URL, typeSeq, func(ctx context.Context, ev seqEvent, m *snssqs.Message) error {
			calls.handlerStarted(ev.Group, ev.Seq)
			// Simulated work, longest for the first events of a group.
			work := time.NewTimer(time.Duration(perGroup-ev.Seq) * 3 * time.Millisecond)
			defer work.Stop()
			select {
			case <-work.C:
			case <-ctx.Done():
				return ctx.Err()
			}
			mu.Lock()
			order[ev.Group] = append(order[ev.Group], ev.Seq)
			mu.Unlock()
			rec.Record(ev.Group, m, ev)
			return nil
		})
		require.NoError(t, err)
	}, func(o *snssqs.SubscriberOptions) { o.Concurrency = 10 })

	pub := e.NewLibraryPublisher(t)
	errs := make(chan error, groups*perGroup)
	var wg sync.WaitGroup
	for g := range groups {
		group := fmt.Sprintf("g%d", g)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perGroup {
				if _, err := pub.Publish(ctx, topo.TopicARN, typeSeq, seqEvent{Group: group, Seq: i}, snssqs.WithGroupID(group)); err != nil {
					errs <- fmt.Errorf("publish %s/%d: %w", group, i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}

	got := rec.AwaitN(ctx, t, "every event handled", groups*perGroup)
	e.QueueDrained(t, q.URL)
	sub.Stop()
	violations, recording := calls.report()
	if len(violations) > 0 {
		t.Logf("receives, releases, deletes and handler starts:\n%s", recording)
		e.SkipOnMoto(t, "SQS returns no message of a FIFO group while another of it is in flight (Amazon SQS Developer Guide, FIFO queue message ordering); moto 5.2.1 did: "+strings.Join(violations, "; "))
		t.Fatalf("the server broke FIFO group ordering: %s", strings.Join(violations, "; "))
	}
	want := make([]int, perGroup)
	for i := range want {
		want[i] = i
	}
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, order, groups)
	for g := range groups {
		group := fmt.Sprintf("g%d", g)
		assert.Equal(t, want, order[group], "group %s handled in publish order, each event once", group)
	}
	for _, h := range got {
		assert.Equal(t, h.Event.(seqEvent).Group, h.Msg.MessageGroupID, "message carries its group id")
		assert.Equal(t, 1, h.Msg.ReceiveCount, "no redelivery")
		assert.Equal(t, h.Msg.ID, h.Msg.DeduplicationID, "the deduplication id is the envelope id")
		assert.False(t, h.Msg.SentAt.IsZero(), "message carries its SentTimestamp")
	}
}
