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

func libraryQueueScenarios() []Scenario {
	return []Scenario{
		{Name: "Library/QueuePublisher/Standard", Run: libraryQueueStandard},
		{Name: "Library/QueuePublisher/FIFO", Run: libraryQueueFIFO},
	}
}

// NewLibraryQueuePublisher returns a QueuePublisher on the Env's SQS client,
// closed when the test ends.
func (e *Env) NewLibraryQueuePublisher(t *testing.T, optFns ...func(*snssqs.PublisherOptions)) *snssqs.QueuePublisher {
	t.Helper()
	p, err := snssqs.NewQueuePublisher(e.SQS, libraryPublisherOptions(t, optFns)...)
	require.NoError(t, err, "NewQueuePublisher")
	t.Cleanup(func() { assert.NoError(t, p.Close(), "QueuePublisher.Close") })
	return p
}

// QueuePublisher → standard queue → Subscriber, no topic: Send, SendBatch
// (coalesced with concurrent sends) and a delayed Send all reach their
// handler as raw envelopes, with their attributes; the delayed one no
// sooner than its delay.
func libraryQueueStandard(t *testing.T, e *Env) {
	ctx := e.Context(t)
	q := e.CreateQueue(t, e.Name("lib-q"), nil)
	rec := NewRecorder()
	e.StartSubscriber(t, func(s *snssqs.Subscriber) {
		_, err := snssqs.HandleFunc(s, q.URL, typeCardCreated, func(_ context.Context, ev cardCreated, m *snssqs.Message) error {
			rec.Record(typeCardCreated, m, ev)
			return nil
		})
		require.NoError(t, err)
	})
	pub := e.NewLibraryQueuePublisher(t)

	const n = 25
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := pub.Send(ctx, q.URL, typeCardCreated, cardCreated{CardID: fmt.Sprint("c", i), Amount: i},
				snssqs.WithAttribute("tenant", snssqs.StringAttribute("acme")))
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	results, err := pub.SendBatch(ctx, q.URL, []snssqs.Entry{
		{EventType: typeCardCreated, Event: cardCreated{CardID: "b0"}},
		{EventType: typeCardCreated, Event: cardCreated{CardID: "b1"}},
	})
	require.NoError(t, err)
	require.Len(t, results, 2)
	for _, r := range results {
		assert.NotEmpty(t, r.MessageID)
	}
	sent := time.Now()
	_, err = pub.Send(ctx, q.URL, typeCardCreated, cardCreated{CardID: "late"}, snssqs.WithDelay(2*time.Second))
	require.NoError(t, err)

	got := rec.AwaitN(ctx, t, "every event handled", n+3)
	e.QueueDrained(t, q.URL)
	seen := map[string]bool{}
	for _, h := range got {
		ev := h.Event.(cardCreated)
		assert.False(t, seen[ev.CardID], "%s handled once", ev.CardID)
		seen[ev.CardID] = true
		assert.Equal(t, typeCardCreated, h.Msg.Type)
		assert.Equal(t, librarySource, h.Msg.Source)
		if ev.CardID == "late" {
			assert.GreaterOrEqual(t, h.At.Sub(sent), 2*time.Second-100*time.Millisecond, "a delayed message is not delivered before its delay")
		} else if len(ev.CardID) > 1 && ev.CardID[0] == 'c' {
			assert.Equal(t, "acme", h.Msg.Attributes["tenant"].StringValue, "%s keeps its attribute", ev.CardID)
		}
	}
	assert.Len(t, seen, n+3)
}

// QueuePublisher → FIFO queue → Subscriber: three groups sent at once, each
// by its own goroutine, are handled in send order, each event once, with
// the group id and the envelope id as deduplication id.
func libraryQueueFIFO(t *testing.T, e *Env) {
	const (
		groups   = 3
		perGroup = 8
	)
	ctx := e.Context(t)
	q := e.CreateQueue(t, e.Name("lib-qf")+".fifo", nil)
	var mu sync.Mutex
	order := map[string][]int{}
	rec := NewRecorder()
	e.StartSubscriber(t, func(s *snssqs.Subscriber) {
		_, err := snssqs.HandleFunc(s, q.URL, typeSeq, func(_ context.Context, ev seqEvent, m *snssqs.Message) error {
			mu.Lock()
			order[ev.Group] = append(order[ev.Group], ev.Seq)
			mu.Unlock()
			rec.Record(ev.Group, m, ev)
			return nil
		})
		require.NoError(t, err)
	}, func(o *snssqs.SubscriberOptions) { o.Concurrency = 10 })
	pub := e.NewLibraryQueuePublisher(t)

	var wg sync.WaitGroup
	errs := make(chan error, groups*perGroup)
	for g := range groups {
		group := fmt.Sprintf("g%d", g)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perGroup {
				if _, err := pub.Send(ctx, q.URL, typeSeq, seqEvent{Group: group, Seq: i}, snssqs.WithGroupID(group)); err != nil {
					errs <- err
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
	_, err := pub.Send(ctx, q.URL, typeSeq, seqEvent{Group: "g0", Seq: 99})
	require.ErrorIs(t, err, snssqs.ErrMissingGroupID)

	got := rec.AwaitN(ctx, t, "every event handled", groups*perGroup)
	e.QueueDrained(t, q.URL)
	want := make([]int, perGroup)
	for i := range want {
		want[i] = i
	}
	mu.Lock()
	defer mu.Unlock()
	for g := range groups {
		group := fmt.Sprintf("g%d", g)
		assert.Equal(t, want, order[group], "group %s handled in send order, each event once", group)
	}
	for _, h := range got {
		assert.Equal(t, h.Event.(seqEvent).Group, h.Msg.MessageGroupID)
		assert.Equal(t, h.Msg.ID, h.Msg.DeduplicationID, "the deduplication id is the envelope id")
	}
}
