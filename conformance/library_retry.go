package conformance

import (
	"context"
	"encoding/json"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/snssqs/snssqs"
	"github.com/snssqs/snssqs/provision"
)

func libraryRetryScenarios() []Scenario {
	return []Scenario{
		{Name: "Library/RetryWithBackoff", Run: libraryRetryWithBackoff},
		{Name: "Library/NackToDeadLetterQueue", Run: libraryNackToDLQ},
		{Name: "Library/HeartbeatKeepsMessageInvisible", Run: libraryHeartbeat},
	}
}

// errHandlerFailed is what failing handlers of the scenarios return.
var errHandlerFailed = errors.New("conformance: handler failed on purpose")

// provisionQueue provisions a topic named name with one queue of the same
// name subscribed to it, configured by spec, and returns the topology and
// the queue.
func provisionQueue(t *testing.T, e *Env, name string, spec provision.QueueSpec) (*provision.Topology, provision.Queue) {
	t.Helper()
	spec.Name = name
	topo := e.Provision(t, provision.TopologySpec{TopicName: name, Queues: []provision.QueueSpec{spec}})
	return topo, topo.Queues[name]
}

// startHandling starts a subscriber with fn handling the events of
// eventType on queueURL.
func startHandling[T any](t *testing.T, e *Env, queueURL, eventType string, fn func(context.Context, T, *snssqs.Message) error, optFns ...func(*snssqs.SubscriberOptions)) *LibrarySubscriber {
	t.Helper()
	return e.StartSubscriber(t, func(s *snssqs.Subscriber) {
		_, err := snssqs.HandleFunc(s, queueURL, eventType, fn)
		require.NoError(t, err)
	}, optFns...)
}

// countingSQS is the Env's SQS client with the subscriber's receives and
// deletes counted.
type countingSQS struct {
	snssqs.SQSConsumeAPI
	receives atomic.Int64 // ReceiveMessage calls
	deletes  atomic.Int64 // messages deleted in batches
}

func (c *countingSQS) ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, optFns ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error) {
	c.receives.Add(1)
	return c.SQSConsumeAPI.ReceiveMessage(ctx, in, optFns...)
}

func (c *countingSQS) DeleteMessageBatch(ctx context.Context, in *sqs.DeleteMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error) {
	c.deletes.Add(int64(len(in.Entries)))
	return c.SQSConsumeAPI.DeleteMessageBatch(ctx, in, optFns...)
}

// A handler that fails on the first delivery gets the message again, with
// ReceiveCount 2, once the nack backoff (BackoffMin, no jitter) has passed
// and well before the visibility timeout would have returned it; its success
// then deletes the message.
func libraryRetryWithBackoff(t *testing.T, e *Env) {
	const (
		backoffMin = time.Second
		visibility = 10 * time.Second
	)
	ctx := e.Context(t)
	topo, q := provisionQueue(t, e, e.Name("lib-retry"), provision.QueueSpec{})

	rec := NewRecorder()
	e.StartSubscriber(t, func(s *snssqs.Subscriber) {
		_, err := s.Handle(q.URL, typeCardCreated, func(_ context.Context, m *snssqs.Message) error {
			rec.Record("start", m, nil)
			if m.ReceiveCount == 1 {
				rec.Record("nacked", m, nil) // the backoff starts after the handler returns
				return errHandlerFailed
			}
			return nil
		})
		require.NoError(t, err)
	}, func(o *snssqs.SubscriberOptions) {
		o.BackoffMin = backoffMin
		o.Jitter = -1 // none
		o.VisibilityTimeout = visibility
	})

	_, err := e.NewLibraryPublisher(t).Publish(ctx, topo.TopicARN, typeCardCreated, cardCreated{CardID: "r1"})
	require.NoError(t, err)

	got := rec.AwaitN(ctx, t, "failed delivery and redelivery", 3)
	e.QueueDrained(t, q.URL)
	require.Len(t, rec.All(), 3, "delivered exactly twice: no delivery after the successful one")
	require.Equal(t, []string{"start", "nacked", "start"}, []string{got[0].Handler, got[1].Handler, got[2].Handler})
	assert.Equal(t, 1, got[0].Msg.ReceiveCount)
	assert.Equal(t, 2, got[2].Msg.ReceiveCount, "redelivery has ReceiveCount 2")
	assert.Equal(t, got[0].Msg.SQSMessageID, got[2].Msg.SQSMessageID, "the same message came back")
	gap := got[2].At.Sub(got[1].At)
	t.Logf("redelivered %v after the failed handler returned (BackoffMin %v)", gap, backoffMin)
	// SQS times visibility in whole seconds at best; allow a little
	// rounding below the backoff, and require the return well before the
	// visibility timeout, which is what a lost nack would wait for.
	assert.GreaterOrEqual(t, gap, backoffMin-100*time.Millisecond, "not redelivered before the backoff")
	assert.Less(t, gap, visibility-4*time.Second, "redelivered after the backoff, not after the visibility timeout")
}

// A message whose handler always fails is nacked until the queue's redrive
// policy (maxReceiveCount 2) moves it to the dead-letter queue; the
// subscriber never deletes it. The SQS developer guide: "If the
// ReceiveCount for a message exceeds the maximum receive count for the
// queue, Amazon SQS moves the message to the associated DLQ (with its
// original message ID)."
func libraryNackToDLQ(t *testing.T, e *Env) {
	ctx := e.Context(t)
	topo, q := provisionQueue(t, e, e.Name("lib-poison"), provision.QueueSpec{DeadLetterQueue: true, MaxReceiveCount: 2})
	require.NotEmpty(t, q.DeadLetterURL, "Provision created the dead-letter queue")

	rec := NewRecorder()
	client := &countingSQS{SQSConsumeAPI: e.SQS}
	sub := e.StartSubscriberWith(t, client, func(s *snssqs.Subscriber) {
		_, err := s.Handle(q.URL, typeCardCreated, func(_ context.Context, m *snssqs.Message) error {
			rec.Record("poison", m, nil)
			return errHandlerFailed
		})
		require.NoError(t, err)
	}, func(o *snssqs.SubscriberOptions) {
		o.BackoffMin = -1 // none: redeliver at once: the scenario is about the redrive, not the delay
	})

	_, err := e.NewLibraryPublisher(t).Publish(ctx, topo.TopicARN, typeCardCreated, cardCreated{CardID: "poison"})
	require.NoError(t, err)

	dead := e.ReceiveN(ctx, t, q.DeadLetterURL, 1, false)
	e.QueueDrained(t, q.URL)
	sub.Stop()

	got := rec.All()
	require.Len(t, got, 2, "handled once per allowed receive (maxReceiveCount 2)")
	assert.Equal(t, 1, got[0].Msg.ReceiveCount)
	assert.Equal(t, 2, got[1].Msg.ReceiveCount)
	assert.Zero(t, client.deletes.Load(), "the subscriber deleted nothing")

	n := ParseNotification(t, aws.ToString(dead[0].Body))
	assert.Equal(t, topo.TopicARN, n.TopicArn)
	var env snssqs.Envelope
	require.NoError(t, json.Unmarshal([]byte(n.Message), &env), "dead-lettered message holds the envelope")
	assert.Equal(t, got[0].Msg.ID, env.ID, "the dead-lettered message is the poison event")
	assert.Equal(t, typeCardCreated, env.Type)
	assert.JSONEq(t, `{"card_id":"poison","amount":0}`, string(env.Data))
	assert.Equal(t, got[0].Msg.SQSMessageID, aws.ToString(dead[0].MessageId), "SQS moves the message, keeping its id")
}

// With a 2 s visibility timeout, a handler running 5 s keeps its message
// invisible through the heartbeat: a second subscriber polling the same
// queue meanwhile never receives it, and it is deleted once the handler
// returns.
func libraryHeartbeat(t *testing.T, e *Env) {
	const (
		visibility = 2 * time.Second
		work       = 5 * time.Second
	)
	ctx := e.Context(t)
	topo, q := provisionQueue(t, e, e.Name("lib-hb"), provision.QueueSpec{})
	short := func(o *snssqs.SubscriberOptions) { o.VisibilityTimeout = visibility }

	rec := NewRecorder()
	holder := e.StartSubscriber(t, func(s *snssqs.Subscriber) {
		_, err := s.Handle(q.URL, typeCardCreated, func(ctx context.Context, m *snssqs.Message) error {
			rec.Record("start", m, nil)
			// The long-running handler is the behaviour under test: it
			// outlives the visibility timeout more than twice over.
			timer := time.NewTimer(work)
			defer timer.Stop()
			select {
			case <-timer.C:
			case <-ctx.Done():
				return ctx.Err()
			}
			rec.Record("end", m, nil)
			return nil
		})
		require.NoError(t, err)
	}, short)

	_, err := e.NewLibraryPublisher(t).Publish(ctx, topo.TopicARN, typeCardCreated, cardCreated{CardID: "slow"})
	require.NoError(t, err)
	rec.AwaitN(ctx, t, "the slow handler started", 1)

	// Only now, so that it cannot take the message first, a rival
	// subscriber polls the same queue.
	rival := NewRecorder()
	client := &countingSQS{SQSConsumeAPI: e.SQS}
	other := e.StartSubscriberWith(t, client, func(s *snssqs.Subscriber) {
		_, err := s.HandleFallback(q.URL, func(_ context.Context, m *snssqs.Message) error {
			rival.Record("rival", m, nil)
			return nil
		})
		require.NoError(t, err)
	}, short)

	got := rec.AwaitN(ctx, t, "the slow handler finished", 2)
	e.QueueDrained(t, q.URL)
	StopAll(other, holder)

	require.Len(t, rec.All(), 2, "one delivery to the slow handler")
	assert.Equal(t, []string{"start", "end"}, []string{got[0].Handler, got[1].Handler})
	held := got[1].At.Sub(got[0].At)
	assert.GreaterOrEqual(t, held, 2*visibility, "the handler held the message beyond two visibility timeouts")
	assert.Zero(t, rival.Len(), "the rival subscriber never received the message while it was held")
	assert.GreaterOrEqual(t, client.receives.Load(), int64(2), "the rival subscriber was polling meanwhile")
	// One last look with the SQS client: nothing left, visible or not.
	assert.Empty(t, e.ReceiveOnce(ctx, t, q.URL, 10, 0), "the message was deleted")
}
