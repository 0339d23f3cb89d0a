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

func libraryQueueScenarios() []Scenario {
	return []Scenario{
		{Name: "Library/QueuePublisher/Standard", Run: libraryQueueStandard},
		{Name: "Library/QueuePublisher/FIFO", Run: libraryQueueFIFO},
		{Name: "Library/LargePayload", Run: libraryLargePayload},
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

// memPayloads is a PayloadStore in memory, so that the SNS and SQS side of
// payload offloading runs on any target; package s3offload tests S3 itself.
type memPayloads struct {
	mu      sync.Mutex
	objects map[string][]byte
	n       int
}

func (s *memPayloads) Put(_ context.Context, b []byte) (snssqs.PayloadPointer, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	key := fmt.Sprint("payload-", s.n)
	s.objects[key] = append([]byte(nil), b...)
	return snssqs.PayloadPointer{Bucket: "conformance", Key: key}, nil
}

func (s *memPayloads) Get(_ context.Context, p snssqs.PayloadPointer) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.objects[p.Key]
	if !ok {
		return nil, fmt.Errorf("no payload %s", p.Key)
	}
	return b, nil
}

func (s *memPayloads) Delete(_ context.Context, p snssqs.PayloadPointer) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.objects, p.Key)
	return nil
}

func (s *memPayloads) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.objects)
}

// Publisher with a PayloadStore → topic → a notification queue and a raw
// queue → Subscribers with the store: an event over SNS's 256 KiB limit
// travels as a pointer with its ExtendedPayloadSize attribute through SNS
// and both kinds of delivery, arrives whole, and its payload is deleted once
// both messages are. (A payload fanned out to two queues must outlive the
// first reader's delete: with s3offload, KeepObjects and a lifecycle rule;
// here a store that deletes at the second Delete.)
func libraryLargePayload(t *testing.T, e *Env) {
	ctx := e.Context(t)
	notif, raw := e.Name("lib-big-n"), e.Name("lib-big-r")
	topo := e.Provision(t, provision.TopologySpec{
		TopicName: e.Name("lib-big"),
		Queues:    []provision.QueueSpec{{Name: notif}, {Name: raw, RawMessageDelivery: true}},
	})
	store := &memPayloads{objects: map[string][]byte{}}
	readers := &countingPayloads{memPayloads: store, readers: 2}
	rec := NewRecorder()
	for _, name := range []string{notif, raw} {
		e.StartSubscriber(t, func(s *snssqs.Subscriber) {
			_, err := snssqs.HandleFunc(s, topo.Queues[name].URL, typeCardCreated, func(_ context.Context, ev cardCreated, m *snssqs.Message) error {
				rec.Record(name, m, ev)
				return nil
			})
			require.NoError(t, err)
		}, func(o *snssqs.SubscriberOptions) { o.PayloadStore = readers })
	}
	pub := e.NewLibraryPublisher(t, func(o *snssqs.PublisherOptions) { o.PayloadStore = store })
	big := cardCreated{CardID: strings.Repeat("c", 300<<10), Amount: 7}
	_, err := pub.Publish(ctx, topo.TopicARN, typeCardCreated, big)
	require.NoError(t, err)
	require.Equal(t, 1, store.len(), "the payload went to the store")

	got := rec.AwaitN(ctx, t, "the big event on both queues", 2)
	for _, h := range got {
		assert.Equal(t, big, h.Event, "%s: the event arrived whole", h.Handler)
		assert.NotContains(t, h.Msg.Attributes, snssqs.ExtendedPayloadSizeAttribute)
	}
	e.QueueDrained(t, topo.Queues[notif].URL)
	e.QueueDrained(t, topo.Queues[raw].URL)
	require.Eventually(t, func() bool { return store.len() == 0 }, libraryWait, 50*time.Millisecond, "the payload is deleted after both messages")
}

// countingPayloads deletes a payload only at its readers-th Delete.
type countingPayloads struct {
	*memPayloads
	mu      sync.Mutex
	readers int
	deletes map[string]int
}

func (c *countingPayloads) Delete(ctx context.Context, p snssqs.PayloadPointer) error {
	c.mu.Lock()
	if c.deletes == nil {
		c.deletes = map[string]int{}
	}
	c.deletes[p.Key]++
	last := c.deletes[p.Key] == c.readers
	c.mu.Unlock()
	if !last {
		return nil
	}
	return c.memPayloads.Delete(ctx, p)
}
