package snssqs_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/snssqs/snssqs"
	"github.com/snssqs/snssqs/provision"
	"github.com/snssqs/snssqs/snssqstest"
)

// hookRecorder records what the hooks of a Publisher and a Subscriber were
// told.
type hookRecorder struct {
	mu        sync.Mutex
	infos     []snssqs.PublishInfo
	published []snssqs.PublishDone
	requests  []snssqs.PublishRequestDone
	batched   int // messages in publish requests
	received  []snssqs.ReceivedMessage
	handled   map[string][]snssqs.HandleDone // by SQS message id
	released  []snssqs.ReleasedMessage
	sqs       map[string]snssqs.SQSRequest // summed by Op
	flows     int
}

func newHookRecorder() *hookRecorder {
	return &hookRecorder{handled: make(map[string][]snssqs.HandleDone), sqs: make(map[string]snssqs.SQSRequest)}
}

func (r *hookRecorder) publisherHooks() snssqs.PublisherHooks {
	return snssqs.PublisherHooks{
		Publish: func(ctx context.Context, info snssqs.PublishInfo) (context.Context, func(snssqs.PublishDone)) {
			r.mu.Lock()
			r.infos = append(r.infos, info)
			r.mu.Unlock()
			return ctx, func(d snssqs.PublishDone) {
				r.mu.Lock()
				defer r.mu.Unlock()
				r.published = append(r.published, d)
			}
		},
		Request: func(ctx context.Context, req snssqs.PublishRequest) (context.Context, func(snssqs.PublishRequestDone)) {
			return ctx, func(d snssqs.PublishRequestDone) {
				r.mu.Lock()
				defer r.mu.Unlock()
				r.requests = append(r.requests, d)
				r.batched += len(req.Messages)
			}
		},
	}
}

func (r *hookRecorder) subscriberHooks() snssqs.SubscriberHooks {
	return snssqs.SubscriberHooks{
		Received: func(m snssqs.ReceivedMessage) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.received = append(r.received, m)
		},
		Handle: func(ctx context.Context, m *snssqs.Message) (context.Context, func(snssqs.HandleDone)) {
			id := m.SQSMessageID
			return ctx, func(d snssqs.HandleDone) {
				r.mu.Lock()
				defer r.mu.Unlock()
				r.handled[id] = append(r.handled[id], d)
			}
		},
		Released: func(m snssqs.ReleasedMessage) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.released = append(r.released, m)
		},
		Request: func(q snssqs.SQSRequest) {
			r.mu.Lock()
			defer r.mu.Unlock()
			sum := r.sqs[q.Op]
			sum.Op, sum.Entries, sum.Messages, sum.Failed = q.Op, sum.Entries+q.Entries, sum.Messages+q.Messages, sum.Failed+q.Failed
			r.sqs[q.Op] = sum
		},
		Flow: func(snssqs.FlowState) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.flows++
		},
	}
}

// outcomes counts the handle outcomes recorded, and the dead-letter-bound ones.
func (r *hookRecorder) outcomes() (map[snssqs.HandleOutcome]int, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	counts := make(map[snssqs.HandleOutcome]int)
	dlq := 0
	for _, ds := range r.handled {
		for _, d := range ds {
			counts[d.Outcome]++
			if d.DeadLetterBound {
				dlq++
			}
		}
	}
	return counts, dlq
}

// TestHooksCountWhatHappened publishes 100 events, fails 10 of them once and
// one always, and checks that the hooks and Stats saw exactly that.
func TestHooksCountWhatHappened(t *testing.T) {
	ctx := t.Context()
	srv, err := snssqstest.NewServer()
	require.NoError(t, err)
	t.Cleanup(srv.Close)
	cfg := srv.AWSConfig()
	snsClient, sqsClient := sns.NewFromConfig(cfg), sqs.NewFromConfig(cfg)
	topo, err := provision.Apply(ctx, snsClient, sqsClient, provision.TopologySpec{
		TopicName: "hooks", Queues: []provision.QueueSpec{{Name: "hooks-q", DeadLetterQueue: true, MaxReceiveCount: 3}},
	})
	require.NoError(t, err)
	q := topo.Queues["hooks-q"]

	rec := newHookRecorder()
	pub, err := snssqs.NewPublisher(snsClient, func(o *snssqs.PublisherOptions) { o.Hooks = rec.publisherHooks() })
	require.NoError(t, err)
	t.Cleanup(func() { _ = pub.Close() })
	sub, err := snssqs.NewSubscriber(sqsClient, func(o *snssqs.SubscriberOptions) {
		o.Hooks = rec.subscriberHooks()
		o.BackoffMin = -1        // none: failures come back at once
		o.WaitTime = time.Second // Close waits for long polls in progress
	})
	require.NoError(t, err)

	const total, failOnce, poison = 100, 10, 99
	handled := make(chan int, total)
	var mu sync.Mutex
	attempts := make(map[int]int)
	_, err = snssqs.HandleFunc(sub, q.URL, "n", func(_ context.Context, n int, _ *snssqs.Message) error {
		mu.Lock()
		attempts[n]++
		a := attempts[n]
		mu.Unlock()
		switch {
		case n == poison:
			return errors.New("poison")
		case n < failOnce && a == 1:
			return errors.New("fails once")
		}
		handled <- n
		return nil
	})
	require.NoError(t, err)
	runDone := make(chan error, 1)
	go func() { runDone <- sub.Run(ctx) }()

	entries := make([]snssqs.Entry, 0, total/2)
	for n := range total / 2 {
		entries = append(entries, snssqs.Entry{EventType: "n", Event: n})
	}
	_, err = pub.PublishBatch(ctx, topo.TopicARN, entries)
	require.NoError(t, err)
	for n := total / 2; n < total; n++ {
		_, err := pub.Publish(ctx, topo.TopicARN, "n", n)
		require.NoError(t, err)
	}
	for range total - 1 {
		select {
		case <-handled:
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		}
	}
	// The poison message reaches the dead-letter queue after 3 receives.
	out, err := sqsClient.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &q.DeadLetterURL, WaitTimeSeconds: 20})
	require.NoError(t, err)
	require.Len(t, out.Messages, 1)
	require.NoError(t, sub.Close())
	require.NoError(t, <-runDone)

	rec.mu.Lock()
	assert.Len(t, rec.published, total)
	for _, d := range rec.published {
		assert.NoError(t, d.Err)
		assert.NotEmpty(t, d.MessageID)
	}
	ids := make(map[string]bool)
	for _, info := range rec.infos {
		assert.Equal(t, snssqs.PublishInfo{Service: snssqs.ServiceSNS, Destination: topo.TopicARN, DestinationName: "hooks", EventType: "n", EventID: info.EventID}, info)
		ids[info.EventID] = true
	}
	assert.Len(t, ids, total, "every message has its own event id")
	assert.Equal(t, total, rec.batched, "messages in publish requests")
	requests := len(rec.requests)
	for _, d := range rec.requests {
		assert.NoError(t, d.Err)
		assert.Zero(t, d.Failed)
	}
	received := total + failOnce + 2 // the poison message is received 3 times
	assert.Len(t, rec.received, received)
	for _, m := range rec.received {
		assert.Equal(t, 3, m.MaxReceiveCount)
		assert.Equal(t, q.URL, m.QueueURL)
	}
	assert.Equal(t, total-1, rec.sqs[snssqs.OpDelete].Messages, "deletes")
	assert.Equal(t, failOnce+3, rec.sqs[snssqs.OpChangeVisibility].Messages, "nacks")
	assert.Equal(t, received, rec.sqs[snssqs.OpReceive].Messages, "messages received by receive requests")
	assert.Positive(t, rec.flows)
	assert.Empty(t, rec.released)
	rec.mu.Unlock()

	counts, deadLetterBound := rec.outcomes()
	assert.Equal(t, map[snssqs.HandleOutcome]int{snssqs.OutcomeDeleted: total - 1, snssqs.OutcomeNacked: failOnce + 3}, counts)
	assert.Equal(t, 1, deadLetterBound)

	ps := pub.Stats()
	assert.Equal(t, snssqs.PublisherStats{Published: total, Requests: uint64(requests)}, ps)
	ss := sub.Stats()
	assert.Equal(t, uint64(received), ss.Received)
	assert.Equal(t, uint64(total-1), ss.Deleted)
	assert.Equal(t, uint64(failOnce+3), ss.Nacked)
	assert.Zero(t, ss.InFlight)
}

// TestHandleHookOutcomes checks the outcome the Handle hook reports for each
// way a message can end.
func TestHandleHookOutcomes(t *testing.T) {
	ctx := t.Context()
	srv, err := snssqstest.NewServer()
	require.NoError(t, err)
	t.Cleanup(srv.Close)
	sqsClient := sqs.NewFromConfig(srv.AWSConfig())
	qout, err := sqsClient.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("outcomes")})
	require.NoError(t, err)
	queueURL := *qout.QueueUrl

	type result struct {
		typ  string
		done snssqs.HandleDone
	}
	results := make(chan result, 10)
	sub, err := snssqs.NewSubscriber(sqsClient, func(o *snssqs.SubscriberOptions) {
		o.HandlerTimeout = 100 * time.Millisecond
		o.WaitTime = time.Second
		o.UnknownTypePolicy, o.MalformedPolicy = snssqs.PolicyDelete, snssqs.PolicyDelete
		o.BackoffMin = time.Minute
		o.Hooks.Handle = func(ctx context.Context, m *snssqs.Message) (context.Context, func(snssqs.HandleDone)) {
			typ := m.Type
			if typ == "" {
				typ = "malformed"
			}
			return ctx, func(d snssqs.HandleDone) { results <- result{typ, d} }
		}
	})
	require.NoError(t, err)
	_, err = sub.Handle(queueURL, "ok", func(context.Context, *snssqs.Message) error { return nil })
	require.NoError(t, err)
	_, err = sub.Handle(queueURL, "fail", func(context.Context, *snssqs.Message) error { return errors.New("failed") })
	require.NoError(t, err)
	_, err = sub.Handle(queueURL, "panic", func(context.Context, *snssqs.Message) error { panic("boom") })
	require.NoError(t, err)
	_, err = sub.Handle(queueURL, "slow", func(ctx context.Context, _ *snssqs.Message) error {
		<-ctx.Done()
		return ctx.Err()
	})
	require.NoError(t, err)
	qp, err := snssqs.NewQueuePublisher(sqsClient)
	require.NoError(t, err)
	t.Cleanup(func() { _ = qp.Close() })
	for _, typ := range []string{"ok", "fail", "panic", "slow", "unknown"} {
		_, err := qp.Send(ctx, queueURL, typ, map[string]string{})
		require.NoError(t, err)
	}
	_, err = sqsClient.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &queueURL, MessageBody: aws.String(`{"specversion":"0.3"}`)})
	require.NoError(t, err)

	runDone := make(chan error, 1)
	go func() { runDone <- sub.Run(ctx) }()
	got := make(map[string]snssqs.HandleDone)
	for len(got) < 6 {
		select {
		case r := <-results:
			got[r.typ] = r.done
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		}
	}
	require.NoError(t, sub.Close())
	require.NoError(t, <-runDone)

	want := map[string]struct {
		outcome snssqs.HandleOutcome
		deleted bool
	}{
		"ok": {snssqs.OutcomeDeleted, true}, "fail": {snssqs.OutcomeNacked, false}, "panic": {snssqs.OutcomePanicked, false},
		"slow": {snssqs.OutcomeTimedOut, false}, "unknown": {snssqs.OutcomeUnknownType, true}, "malformed": {snssqs.OutcomeMalformed, true},
	}
	for typ, w := range want {
		d := got[typ]
		assert.Equal(t, w.outcome, d.Outcome, typ)
		assert.Equal(t, w.deleted, d.Deleted, typ)
		assert.Equal(t, w.outcome != snssqs.OutcomeDeleted, d.Err != nil, "%s: error %v", typ, d.Err)
		if !w.deleted {
			assert.GreaterOrEqual(t, d.Visibility, 48*time.Second, "%s: nacked with the backoff (1m ± 20%%)", typ)
		}
		assert.False(t, d.DeadLetterBound, "%s: the queue has no redrive policy", typ)
	}
}

// TestReleasedHook checks that messages received and not started when the
// subscriber stops are reported released, as Stats counts them.
func TestReleasedHook(t *testing.T) {
	ctx := t.Context()
	srv, err := snssqstest.NewServer()
	require.NoError(t, err)
	t.Cleanup(srv.Close)
	sqsClient := sqs.NewFromConfig(srv.AWSConfig())
	qout, err := sqsClient.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("released")})
	require.NoError(t, err)
	queueURL := *qout.QueueUrl
	entries := make([]sqstypes.SendMessageBatchRequestEntry, 5)
	for i := range entries {
		entries[i] = sqstypes.SendMessageBatchRequestEntry{Id: aws.String(fmt.Sprint(i)), MessageBody: aws.String(`"x"`)}
	}
	_, err = sqsClient.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: &queueURL, Entries: entries})
	require.NoError(t, err)

	var mu sync.Mutex
	var released []snssqs.ReleasedMessage
	firstRelease := make(chan struct{})
	sub, err := snssqs.NewSubscriber(sqsClient, func(o *snssqs.SubscriberOptions) {
		o.Concurrency = 1
		o.WaitTime = time.Second
		o.Hooks.Released = func(m snssqs.ReleasedMessage) {
			mu.Lock()
			defer mu.Unlock()
			if len(released) == 0 {
				close(firstRelease)
			}
			released = append(released, m)
		}
	})
	require.NoError(t, err)
	started, unblock := make(chan struct{}, 5), make(chan struct{})
	_, err = sub.HandleFallback(queueURL, func(context.Context, *snssqs.Message) error {
		started <- struct{}{}
		<-unblock
		return nil
	})
	require.NoError(t, err)
	runDone := make(chan error, 1)
	go func() { runDone <- sub.Run(ctx) }()
	<-started
	shut := make(chan error, 1)
	go func() { shut <- sub.Shutdown(ctx) }()
	// The messages waiting behind the running handler are released while it
	// still runs, once the receive in progress has returned.
	<-firstRelease
	close(unblock)
	require.NoError(t, <-shut)
	require.NoError(t, <-runDone)

	st := sub.Stats()
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, uint64(5), st.Received, "one receive took all 5")
	assert.Equal(t, uint64(1), st.Deleted, "only the running handler finished")
	assert.Equal(t, uint64(4), st.Released)
	assert.Len(t, released, int(st.Released))
	for _, m := range released {
		assert.True(t, m.AtShutdown)
		assert.Equal(t, queueURL, m.QueueURL)
		assert.NotEmpty(t, m.SQSMessageID)
	}
}

// TestPublisherHooksSeeFailures checks the hooks and Stats of failed and
// rejected publishes.
func TestPublisherHooksSeeFailures(t *testing.T) {
	ctx := t.Context()
	rec := newHookRecorder()
	cause := errors.New("network down")
	pub, err := snssqs.NewPublisher(failingSNS{cause}, func(o *snssqs.PublisherOptions) { o.Hooks = rec.publisherHooks() })
	require.NoError(t, err)
	t.Cleanup(func() { _ = pub.Close() })
	const topic = "arn:aws:sns:us-east-1:123456789012:t"
	_, err = pub.Publish(ctx, topic, "t", 1)
	require.ErrorIs(t, err, cause)
	_, err = pub.Publish(ctx, topic, "", 1) // rejected: no type
	require.ErrorIs(t, err, snssqs.ErrInvalidEvent)

	rec.mu.Lock()
	defer rec.mu.Unlock()
	require.Len(t, rec.published, 2)
	assert.ErrorIs(t, rec.published[0].Err, cause)
	assert.NotEmpty(t, rec.infos[0].EventID)
	assert.False(t, rec.published[0].Rejected)
	assert.ErrorIs(t, rec.published[1].Err, snssqs.ErrInvalidEvent)
	assert.True(t, rec.published[1].Rejected)
	require.Len(t, rec.requests, 1)
	assert.ErrorIs(t, rec.requests[0].Err, cause)
	assert.Equal(t, 1, rec.requests[0].Failed)
	assert.Equal(t, snssqs.PublisherStats{Failed: 1, Rejected: 1, Requests: 1}, pub.Stats())
}

// TestHandleOutcomeNames pins the names metrics and logs use.
func TestHandleOutcomeNames(t *testing.T) {
	names := make([]string, 0, 8)
	for o := snssqs.OutcomeDeleted; o <= snssqs.OutcomeAbandoned; o++ {
		names = append(names, o.String())
	}
	b, err := json.Marshal(names)
	require.NoError(t, err)
	assert.JSONEq(t, `["deleted","nacked","released","panicked","timed_out","unknown_type","malformed","abandoned"]`, string(b))
	assert.Equal(t, "HandleOutcome(42)", snssqs.HandleOutcome(42).String())
}
