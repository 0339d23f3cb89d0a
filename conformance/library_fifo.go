package conformance

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/snssqs/snssqs"
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
func libraryFIFOOrdering(t *testing.T, e *Env) {
	const (
		groups   = 3
		perGroup = 10
	)
	ctx := e.Context(t)
	topo, q := provisionQueue(t, e, e.Name("lib-fifo")+".fifo", snssqs.QueueSpec{})

	var mu sync.Mutex
	order := map[string][]int{}
	rec := NewRecorder()
	startHandling(t, e, q.URL, typeSeq, func(ctx context.Context, ev seqEvent, m *snssqs.Message) error {
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
