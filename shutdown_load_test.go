package snssqs_test

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/snssqs/snssqs"
	"github.com/snssqs/snssqs/snssqstest"
)

// The shutdown-under-load tests use a visibility timeout of 300 s
// (queue and subscriber), far beyond the test, so a message is visible after
// Shutdown only if the subscriber released it, and in flight only if it
// was abandoned. Deletes wait a minute for their batch to fill
// (AckFlushInterval), so they are still pending when Shutdown starts and
// only Shutdown's flush can send them.

const shutdownVisibility = 300 * time.Second

func newLoadSubscriber(t *testing.T, client snssqs.SQSConsumeAPI, concurrency int) *snssqs.Subscriber {
	t.Helper()
	s, err := snssqs.NewSubscriber(client, func(o *snssqs.SubscriberOptions) {
		o.WaitTime = time.Second
		o.Concurrency = concurrency
		o.ReceiversPerQueue = 4
		o.VisibilityTimeout = shutdownVisibility
		o.AckFlushInterval = time.Minute
		o.DrainTimeout = 30 * time.Second
	})
	require.NoError(t, err)
	return s
}

// queueCounts returns the visible and in-flight message counts of url.
func queueCounts(t *testing.T, client *sqs.Client, url string) (visible, inflight int) {
	t.Helper()
	out, err := client.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(url),
		AttributeNames: []sqstypes.QueueAttributeName{
			sqstypes.QueueAttributeNameApproximateNumberOfMessages,
			sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
		},
	})
	require.NoError(t, err)
	visible, err = strconv.Atoi(out.Attributes[string(sqstypes.QueueAttributeNameApproximateNumberOfMessages)])
	require.NoError(t, err)
	inflight, err = strconv.Atoi(out.Attributes[string(sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible)])
	require.NoError(t, err)
	return visible, inflight
}

// TestShutdownUnderLoadGraceful: 100 FIFO groups of 3 messages, 100
// handlers running (the first message of each group, blocked), the groups'
// later messages received but not started. Shutdown begins, then the
// handlers finish: their deletes (pending) are flushed, the unstarted
// messages are released at once, and nothing completed comes back.
func TestShutdownUnderLoadGraceful(t *testing.T) {
	const groups, perGroup = 100, 3
	srv := snssqstest.Run(t)
	clients := newEmulatorClients(srv, nil)
	t.Cleanup(clients.Close)
	ctx := context.Background()
	q, err := clients.SQS.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("load.fifo"),
		Attributes: map[string]string{"FifoQueue": "true", "VisibilityTimeout": "300"}})
	require.NoError(t, err)
	url := aws.ToString(q.QueueUrl)
	for g := range groups {
		entries := make([]sqstypes.SendMessageBatchRequestEntry, perGroup)
		for j := range perGroup {
			body := fmt.Sprintf("g%d-%d", g, j)
			entries[j] = sqstypes.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(j)), MessageBody: aws.String(body),
				MessageGroupId: aws.String(fmt.Sprintf("g%d", g)), MessageDeduplicationId: aws.String(body)}
		}
		out, err := clients.SQS.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: q.QueueUrl, Entries: entries})
		require.NoError(t, err)
		require.Empty(t, out.Failed)
	}

	s := newLoadSubscriber(t, clients.SQS, groups*perGroup)
	gate := make(chan struct{})
	var (
		running   atomic.Int64
		mu        sync.Mutex
		completed = map[string]bool{}
	)
	_, err = s.HandleFallback(url, func(ctx context.Context, m *snssqs.Message) error {
		running.Add(1)
		defer running.Add(-1)
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
		mu.Lock()
		completed[string(m.Data)] = true
		mu.Unlock()
		return nil
	})
	require.NoError(t, err)
	runDone := runSubscriber(s)
	require.Eventually(t, func() bool { return running.Load() == groups }, 20*time.Second, time.Millisecond,
		"100 handlers running")
	_, inflight := queueCounts(t, clients.SQS, url)
	require.Greater(t, inflight, groups, "later messages of the groups are held, unstarted")

	const deadline = 10 * time.Second
	sctx, cancel := context.WithTimeout(ctx, deadline)
	defer cancel()
	shutdownErr := make(chan error, 1)
	start := time.Now()
	go func() { shutdownErr <- s.Shutdown(sctx) }()
	waitShutdownBegun(t, s)
	close(gate)
	select {
	case err := <-shutdownErr:
		require.NoError(t, err, "every handler finished within the deadline")
	case <-time.After(deadline + 5*time.Second):
		t.Fatal("Shutdown did not return")
	}
	assert.Less(t, time.Since(start), deadline)
	require.NoError(t, <-runDone)

	mu.Lock()
	done := len(completed)
	mu.Unlock()
	assert.Equal(t, groups, done, "the handlers running at shutdown completed; nothing else started")
	visible, inflight := queueCounts(t, clients.SQS, url)
	assert.Equal(t, groups*perGroup-done, visible, "unstarted messages are visible again at once")
	assert.Zero(t, inflight, "completed messages are deleted (pending deletes flushed), none is left in flight")

	// Nothing completed comes back; everything else does.
	rest := map[string]bool{}
	for _, body := range drainQueue(ctx, t, clients.SQS, url) {
		assert.False(t, completed[body], "completed message %s was redelivered", body)
		assert.False(t, rest[body], "message %s delivered twice", body)
		rest[body] = true
	}
	assert.Len(t, rest, groups*perGroup-done)
}

// TestShutdownUnderLoadDeadline: 155 messages, 55 handlers done (5 of their
// deletes pending), 100 handlers that only return when their context ends.
// Shutdown with a 1 s deadline returns at the deadline with an error
// wrapping context.DeadlineExceeded, having flushed the pending deletes and
// leaving the 100 abandoned messages in flight, to come back after their
// visibility timeout: nothing is lost, nothing completed is redelivered.
func TestShutdownUnderLoadDeadline(t *testing.T) {
	const quick, stuck = 55, 100
	srv := snssqstest.Run(t)
	clients := newEmulatorClients(srv, nil)
	t.Cleanup(clients.Close)
	ctx := context.Background()
	q, err := clients.SQS.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("load"),
		Attributes: map[string]string{"VisibilityTimeout": "300"}})
	require.NoError(t, err)
	url := aws.ToString(q.QueueUrl)
	for i := 0; i < quick+stuck; i += 10 {
		entries := make([]sqstypes.SendMessageBatchRequestEntry, min(10, quick+stuck-i))
		for j := range entries {
			entries[j] = sqstypes.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(j)), MessageBody: aws.String(strconv.Itoa(i + j))}
		}
		_, err := clients.SQS.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: q.QueueUrl, Entries: entries})
		require.NoError(t, err)
	}

	s := newLoadSubscriber(t, clients.SQS, quick+stuck)
	var (
		stuckRunning atomic.Int64
		canceled     atomic.Int64
		mu           sync.Mutex
		completed    = map[string]bool{}
	)
	_, err = s.HandleFallback(url, func(ctx context.Context, m *snssqs.Message) error {
		n, err := strconv.Atoi(string(m.Data))
		if err != nil {
			return err
		}
		if n < quick {
			mu.Lock()
			completed[string(m.Data)] = true
			mu.Unlock()
			return nil
		}
		stuckRunning.Add(1)
		<-ctx.Done() // runs until abandoned
		canceled.Add(1)
		return ctx.Err()
	})
	require.NoError(t, err)
	runDone := runSubscriber(s)
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(completed) == quick && stuckRunning.Load() == stuck
	}, 20*time.Second, time.Millisecond, "55 handlers done, 100 running")
	_, inflight := queueCounts(t, clients.SQS, url)
	// Full batches of 10 deletes are sent at once; the last 5 wait for
	// AckFlushInterval (a minute), i.e. for Shutdown's flush.
	require.Greater(t, inflight, stuck, "some deletes are still pending")

	const deadline = time.Second
	sctx, cancel := context.WithTimeout(ctx, deadline)
	defer cancel()
	start := time.Now()
	err = s.Shutdown(sctx)
	elapsed := time.Since(start)
	require.Error(t, err)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.GreaterOrEqual(t, elapsed, deadline-50*time.Millisecond, "Shutdown waited for the handlers")
	assert.Less(t, elapsed, deadline+3*time.Second, "Shutdown respected its deadline")
	assert.Equal(t, int64(stuck), canceled.Load(), "abandoned handlers saw their context canceled")
	require.NoError(t, <-runDone)

	visible, inflight := queueCounts(t, clients.SQS, url)
	assert.Zero(t, visible, "abandoned messages are not released early: their handlers may have had effects")
	assert.Equal(t, stuck, inflight, "the 55 completed are deleted, the 100 abandoned wait for their visibility timeout")
}
