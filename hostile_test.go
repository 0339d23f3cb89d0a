package snssqs_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/snssqs/snssqs"
	"github.com/snssqs/snssqs/provision"
	"github.com/snssqs/snssqs/snssqstest"
)

// Hostile input: bodies a subscriber may find in its queue that did not
// come from a well-behaved Publisher, sent straight to three queues with
// the SQS client. Each queue has a dead-letter queue with maxReceiveCount 1,
// so a message nacked once is dead-lettered on its next receive, and each
// outcome is one log line:
//
//   - qFallback: handlers for good.event and slow.event and a fallback;
//     default policies (PolicyRetry); AllowedTopicARNs set.
//   - qStrict: the same handlers, no fallback; default policies.
//   - qDelete: the same handlers, no fallback; UnknownTypePolicy and
//     MalformedPolicy PolicyDelete (a second subscriber).
//
// Outcomes: handled by the good.event handler, handled by the fallback,
// dead-lettered (nacked, then moved by the redrive policy) or deleted.

type hostileOutcome string

const (
	outHandled  hostileOutcome = "handled"  // by the good.event handler
	outFallback hostileOutcome = "fallback" // by the fallback handler
	outDLQ      hostileOutcome = "dlq"
	outDeleted  hostileOutcome = "deleted"
)

const (
	hostileGood = "good.event"
	hostileSlow = "slow.event"
)

type hostileCase struct {
	name  string
	body  string
	attrs map[string]sqstypes.MessageAttributeValue
	// want per queue: qFallback, qStrict, qDelete.
	want [3]hostileOutcome
	// noHandler marks cases whose failure is "no handler for event type",
	// logged once per queue and type rather than once per message.
	noHandler bool
	// check inspects the message as the handler saw it.
	check func(t *testing.T, m *snssqs.Message)
	// sendOpts are SendMessage options for this case.
	sendOpts []func(*sqs.Options)
}

// hostileRig is the two subscribers on the three queues.
type hostileRig struct {
	sqs      *sqs.Client
	topicARN string
	queues   [3]provision.Queue
	hookR    *logtest.Hook // subscriber with PolicyRetry (qFallback, qStrict)
	hookD    *logtest.Hook // subscriber with PolicyDelete (qDelete)
	mu       sync.Mutex
	handled  map[string]hostileOutcome // sqs message id -> handler that succeeded
	seen     map[string]*snssqs.Message
}

func (r *hostileRig) record(out hostileOutcome) snssqs.Handler {
	return func(ctx context.Context, m *snssqs.Message) error {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.handled[m.SQSMessageID] = out
		r.seen[m.SQSMessageID] = m
		return nil
	}
}

func slowHandler(ctx context.Context, m *snssqs.Message) error {
	<-ctx.Done() // never returns on its own: the per-message timeout ends it
	return ctx.Err()
}

// warnLines returns the Warn-or-worse entries of hook about message id.
func warnLines(hook *logtest.Hook, id string) []*logrus.Entry {
	var out []*logrus.Entry
	for _, e := range hook.AllEntries() {
		if e.Level <= logrus.WarnLevel && e.Data["sqs_message_id"] == id {
			out = append(out, e)
		}
	}
	return out
}

func TestHostileInput(t *testing.T) {
	rig := newHostileRig(t)
	cases := hostileCases(t, rig)
	ids := rig.sendAll(t, cases)
	rig.awaitSettled(t, cases, ids)
	rig.verify(t, cases, ids, rig.deadLettered(t))
	rig.stillWorks(t)
}

// hostileForeignTopic is a topic outside the subscribers' allow-list.
const hostileForeignTopic = "arn:aws:sns:us-east-1:000000000000:not-ours"

// newHostileRig provisions the three queues on an emulator and starts the
// two subscribers on them; the test's cleanup stops them.
func newHostileRig(t *testing.T) *hostileRig {
	srv := snssqstest.Run(t)
	clients := newEmulatorClients(srv, nil)
	t.Cleanup(clients.Close)
	ctx := context.Background()
	topo, err := provision.Apply(ctx, clients.SNS, clients.SQS, provision.TopologySpec{TopicName: "hostile", Queues: []provision.QueueSpec{
		{Name: "h-fallback", DeadLetterQueue: true, MaxReceiveCount: 1},
		{Name: "h-strict", DeadLetterQueue: true, MaxReceiveCount: 1},
		{Name: "h-delete", DeadLetterQueue: true, MaxReceiveCount: 1},
	}})
	require.NoError(t, err)
	rig := &hostileRig{sqs: clients.SQS, topicARN: topo.TopicARN, handled: map[string]hostileOutcome{}, seen: map[string]*snssqs.Message{}}
	for i, name := range []string{"h-fallback", "h-strict", "h-delete"} {
		rig.queues[i] = topo.Queues[name]
	}

	newSub := func(logger *logrus.Logger, policy snssqs.MessagePolicy) *snssqs.Subscriber {
		logger.SetLevel(logrus.InfoLevel)
		s, err := snssqs.NewSubscriber(clients.SQS, func(o *snssqs.SubscriberOptions) {
			o.Logger = logger
			o.WaitTime = time.Second
			o.HandlerTimeout = 500 * time.Millisecond
			o.BackoffMin = -1 // none: nacked messages come back at once
			o.AllowedTopicARNs = []string{topo.TopicARN}
			o.UnknownTypePolicy, o.MalformedPolicy = policy, policy
		})
		require.NoError(t, err)
		return s
	}
	loggerR, hookR := logtest.NewNullLogger()
	loggerD, hookD := logtest.NewNullLogger()
	rig.hookR, rig.hookD = hookR, hookD
	subR := newSub(loggerR, snssqs.PolicyRetry)
	subD := newSub(loggerD, snssqs.PolicyDelete)
	for i, q := range rig.queues {
		s := subR
		if i == 2 {
			s = subD
		}
		_, err := s.Handle(q.URL, hostileGood, rig.record(outHandled))
		require.NoError(t, err)
		_, err = s.Handle(q.URL, hostileSlow, slowHandler)
		require.NoError(t, err)
		if i == 0 {
			_, err = s.HandleFallback(q.URL, rig.record(outFallback))
			require.NoError(t, err)
		}
	}
	runR, runD := runSubscriber(subR), runSubscriber(subD)
	t.Cleanup(func() {
		assert.NoError(t, subR.Close())
		assert.NoError(t, subD.Close())
		assert.NoError(t, <-runR)
		assert.NoError(t, <-runD)
	})
	return rig
}

// hostileCases are the bodies sent to every queue and what each queue's
// subscriber must make of them.
func hostileCases(t *testing.T, rig *hostileRig) []hostileCase {
	ctx := context.Background()
	// The queue's size limit, for the at-the-limit case.
	attrs, err := rig.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(rig.queues[0].URL),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameMaximumMessageSize}})
	require.NoError(t, err)
	limit, err := strconv.Atoi(attrs.Attributes[string(sqstypes.QueueAttributeNameMaximumMessageSize)])
	require.NoError(t, err)
	atLimit := envelopeBody(t, hostileGood, map[string]string{"pad": ""})
	atLimit = envelopeBody(t, hostileGood, map[string]string{"pad": strings.Repeat("p", limit-len(atLimit))})
	require.Equal(t, limit, len(atLimit))

	binary := []byte{0, 1, 2, 0xfe, 0xff}
	return []hostileCase{
		{name: "malformed JSON", body: `{"specversion":"1.0","id":"x","type":`,
			want: [3]hostileOutcome{outFallback, outDLQ, outDeleted}, noHandler: true,
			check: func(t *testing.T, m *snssqs.Message) {
				assert.False(t, m.IsEnvelope)
				assert.Equal(t, `{"specversion":"1.0","id":"x","type":`, string(m.Data), "the raw body reaches the fallback")
			}},
		{name: "JSON that is not an envelope", body: `{"order":42,"type":"good.event"}`,
			want: [3]hostileOutcome{outFallback, outDLQ, outDeleted}, noHandler: true,
			check: func(t *testing.T, m *snssqs.Message) {
				assert.False(t, m.IsEnvelope, "a lowercase type without specversion is not an envelope")
				assert.Empty(t, m.Type)
			}},
		{name: "wrong specversion", body: `{"specversion":"0.3","id":"1","source":"s","type":"good.event","data":{}}`,
			want: [3]hostileOutcome{outDLQ, outDLQ, outDeleted}},
		{name: "envelope missing id", body: `{"specversion":"1.0","source":"s","type":"good.event"}`,
			want: [3]hostileOutcome{outDLQ, outDLQ, outDeleted}},
		{name: "notification from a topic outside the allow-list",
			body: snsBody(t, hostileForeignTopic, envelopeBody(t, hostileGood, map[string]int{"n": 1}), nil),
			want: [3]hostileOutcome{outDLQ, outDLQ, outDeleted}},
		{name: "notification from the allowed topic",
			body: snsBody(t, rig.topicARN, envelopeBody(t, hostileGood, map[string]int{"n": 2}), nil),
			want: [3]hostileOutcome{outHandled, outHandled, outHandled},
			check: func(t *testing.T, m *snssqs.Message) {
				assert.Equal(t, rig.topicARN, m.TopicARN)
				assert.JSONEq(t, `{"n":2}`, string(m.Data))
			}},
		{name: "binary attributes", body: envelopeBody(t, hostileGood, map[string]int{"n": 3}),
			attrs: map[string]sqstypes.MessageAttributeValue{
				"bin":        {DataType: aws.String("Binary"), BinaryValue: binary},
				"bin.custom": {DataType: aws.String("Binary.gzip"), BinaryValue: []byte{0x1f, 0x8b}},
			},
			want: [3]hostileOutcome{outHandled, outHandled, outHandled},
			check: func(t *testing.T, m *snssqs.Message) {
				assert.Equal(t, binary, m.Attributes["bin"].BinaryValue)
				assert.True(t, m.Attributes["bin.custom"].IsBinary())
				assert.Equal(t, []byte{0x1f, 0x8b}, m.Attributes["bin.custom"].BinaryValue)
			}},
		// Invalid UTF-8 cannot reach SQS: the SDK's JSON encoder replaces each
		// invalid byte with U+FFFD (which SQS accepts), so the handler sees
		// the replacement character. The SDK's MD5 check of the body then
		// fails (it hashes the bytes it was given), so it is disabled here;
		// TestHostileBodiesSQSRejects shows that case. Characters SQS rejects
		// are tested there too.
		{name: "invalid UTF-8", body: `{"specversion":"1.0","id":"u","source":"s","type":"good.event","data":{"s":"a` + "\xff\xfe" + `b"}}`,
			sendOpts: []func(*sqs.Options){func(o *sqs.Options) { o.DisableMessageChecksumValidation = true }},
			want:     [3]hostileOutcome{outHandled, outHandled, outHandled},
			check: func(t *testing.T, m *snssqs.Message) {
				var d struct{ S string }
				require.NoError(t, m.Decode(&d))
				assert.Equal(t, "a\uFFFD\uFFFDb", d.S)
			}},
		{name: "body at the size limit", body: atLimit,
			want: [3]hostileOutcome{outHandled, outHandled, outHandled},
			check: func(t *testing.T, m *snssqs.Message) {
				var d struct{ Pad string }
				require.NoError(t, m.Decode(&d))
				assert.Greater(t, len(d.Pad), limit-1024)
			}},
		{name: "unknown event type", body: envelopeBody(t, "unknown.event", map[string]int{"n": 4}),
			want: [3]hostileOutcome{outFallback, outDLQ, outDeleted}, noHandler: true,
			check: func(t *testing.T, m *snssqs.Message) {
				assert.True(t, m.IsEnvelope)
				assert.Equal(t, "unknown.event", m.Type)
			}},
		{name: "handler that never returns", body: envelopeBody(t, hostileSlow, map[string]int{"n": 5}),
			want: [3]hostileOutcome{outDLQ, outDLQ, outDLQ}},
	}
}

// sendAll sends every case to every queue and returns the SQS message ids,
// by case and queue.
func (r *hostileRig) sendAll(t *testing.T, cases []hostileCase) [][3]string {
	ids := make([][3]string, len(cases))
	for ci, c := range cases {
		for qi, q := range r.queues {
			out, err := r.sqs.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(q.URL),
				MessageBody: aws.String(c.body), MessageAttributes: c.attrs}, c.sendOpts...)
			require.NoError(t, err, c.name)
			ids[ci][qi] = aws.ToString(out.MessageId)
		}
	}
	return ids
}

// awaitSettled waits until the messages to handle are handled and the
// queues are empty.
func (r *hostileRig) awaitSettled(t *testing.T, cases []hostileCase, ids [][3]string) {
	require.Eventually(t, func() bool {
		r.mu.Lock()
		for ci, c := range cases {
			for qi := range r.queues {
				if (c.want[qi] == outHandled || c.want[qi] == outFallback) && r.handled[ids[ci][qi]] == "" {
					r.mu.Unlock()
					return false
				}
			}
		}
		r.mu.Unlock()
		for _, q := range r.queues {
			if d, err := queueDepth(context.Background(), r.sqs, q.URL); err != nil || d > 0 {
				return false
			}
		}
		return true
	}, 30*time.Second, 20*time.Millisecond)
}

// deadLettered returns, by queue, the ids of the messages in its
// dead-letter queue.
func (r *hostileRig) deadLettered(t *testing.T) [3]map[string]bool {
	ctx := context.Background()
	dlq := [3]map[string]bool{}
	for qi, q := range r.queues {
		dlq[qi] = map[string]bool{}
		for {
			out, err := r.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(q.DeadLetterURL),
				MaxNumberOfMessages: 10, VisibilityTimeout: 600})
			require.NoError(t, err)
			if len(out.Messages) == 0 {
				break
			}
			for _, m := range out.Messages {
				dlq[qi][aws.ToString(m.MessageId)] = true
			}
		}
	}
	return dlq
}

// verify checks each case on each queue: handled, dead-lettered or
// deleted as wanted, logged once with its error and without its body.
func (r *hostileRig) verify(t *testing.T, cases []hostileCase, ids [][3]string, dlq [3]map[string]bool) {
	queueNames := [3]string{"fallback", "strict", "delete"}
	noHandlerLines := map[[2]string]int{} // (queue, type) -> lines
	for ci, c := range cases {
		for qi := range r.queues {
			t.Run(c.name+"/"+queueNames[qi], func(t *testing.T) {
				id := ids[ci][qi]
				hook := r.hookR
				if qi == 2 {
					hook = r.hookD
				}
				r.mu.Lock()
				got, m := r.handled[id], r.seen[id]
				r.mu.Unlock()
				lines := warnLines(hook, id)
				switch c.want[qi] {
				case outHandled, outFallback:
					assert.Equal(t, c.want[qi], got)
					assert.False(t, dlq[qi][id], "handled message dead-lettered")
					assert.Empty(t, lines, "a handled message logs no warning")
					if c.check != nil && m != nil {
						c.check(t, m)
					}
					return
				case outDLQ:
					assert.True(t, dlq[qi][id], "want the message in the dead-letter queue")
				case outDeleted:
					assert.False(t, dlq[qi][id], "want the message deleted, not dead-lettered")
				}
				assert.Empty(t, got, "no handler may succeed")
				if c.noHandler {
					for _, e := range lines {
						noHandlerLines[[2]string{queueNames[qi], fmt.Sprint(e.Data["type"])}]++
					}
					return
				}
				require.Len(t, lines, 1, "exactly one log line: %v", lines)
				assert.NotEmpty(t, lines[0].Message)
				_, hasErr := lines[0].Data[logrus.ErrorKey]
				assert.True(t, hasErr, "the line carries the error")
				assert.NotContains(t, lines[0].Data, "body", "bodies only at debug level")
			})
		}
	}
	// "No handler" is logged once per queue and event type, not per message.
	assert.Equal(t, map[[2]string]int{{"strict", ""}: 1, {"strict", "unknown.event"}: 1, {"delete", ""}: 1, {"delete", "unknown.event"}: 1},
		noHandlerLines)
}

// stillWorks checks that the subscribers handle a good message after the
// hostile ones.
func (r *hostileRig) stillWorks(t *testing.T) {
	good := envelopeBody(t, hostileGood, map[string]string{"after": "all that"})
	var goodIDs [3]string
	for qi, q := range r.queues {
		out, err := r.sqs.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(q.URL), MessageBody: aws.String(good)})
		require.NoError(t, err)
		goodIDs[qi] = aws.ToString(out.MessageId)
	}
	require.Eventually(t, func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, id := range goodIDs {
			if r.handled[id] != outHandled {
				return false
			}
		}
		return true
	}, 10*time.Second, 10*time.Millisecond, "a good message after the hostile ones is handled")
}

// TestHostileBodiesSQSRejects documents what SQS itself refuses, so it can
// never reach a subscriber: an empty body, characters outside the allowed
// XML ranges, a body over the queue's size limit.
func TestHostileBodiesSQSRejects(t *testing.T) {
	srv := snssqstest.Run(t)
	clients := newEmulatorClients(srv, nil)
	t.Cleanup(clients.Close)
	ctx := context.Background()
	q, err := clients.SQS.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("rejects")})
	require.NoError(t, err)
	cases := map[string]struct {
		body string
		code string
	}{
		"empty body":      {"", "MissingParameter"},
		"NUL character":   {"a\x00b", "InvalidMessageContents"},
		"U+FFFE":          {"a\uFFFEb", "InvalidMessageContents"},
		"control char":    {"a\x01b", "InvalidMessageContents"},
		"over size limit": {strings.Repeat("x", 1048577), "InvalidParameterValue"}, // the 1 MiB default
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := clients.SQS.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String(c.body)})
			require.Error(t, err)
			var apiErr smithy.APIError
			require.True(t, errors.As(err, &apiErr), "%v", err)
			assert.Equal(t, c.code, apiErr.ErrorCode())
		})
	}
	d, err := queueDepth(ctx, clients.SQS, aws.ToString(q.QueueUrl))
	require.NoError(t, err)
	assert.Zero(t, d)

	// Invalid UTF-8 is not rejected: the SDK sends U+FFFD in its place, SQS
	// stores that, and the SDK's MD5 check of the response fails. The caller
	// gets an error for a message that was sent: one more reason consumers
	// must tolerate duplicates.
	_, err = clients.SQS.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String("a\xffb")})
	require.Error(t, err)
	var apiErr smithy.APIError
	assert.False(t, errors.As(err, &apiErr), "SQS accepted it; the SDK's client-side MD5 check failed: %v", err)
	out, err := clients.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl})
	require.NoError(t, err)
	require.Len(t, out.Messages, 1)
	assert.Equal(t, "a\uFFFDb", aws.ToString(out.Messages[0].Body))
}

// TestHostilePublish: a Publisher refuses bad input with a clear error
// wrapping a sentinel, and sends no request.
func TestHostilePublish(t *testing.T) {
	srv := snssqstest.Run(t)
	clients := newEmulatorClients(srv, nil)
	t.Cleanup(clients.Close)
	ctx := context.Background()
	topo, err := provision.Apply(ctx, clients.SNS, clients.SQS, provision.TopologySpec{TopicName: "hostile-pub"})
	require.NoError(t, err)
	logger, hook := logtest.NewNullLogger()
	pub, err := snssqs.NewPublisher(clients.SNS, func(o *snssqs.PublisherOptions) { o.Logger = logger })
	require.NoError(t, err)
	defer func() { assert.NoError(t, pub.Shutdown(ctx)) }()

	canceled, cancel := context.WithCancel(ctx)
	cancel()
	tooMany := make([]snssqs.PublishOption, 0, snssqs.MaxMessageAttributes)
	for i := range snssqs.MaxMessageAttributes { // plus ce_type: one too many
		tooMany = append(tooMany, snssqs.WithAttribute(fmt.Sprintf("a%d", i), snssqs.StringAttribute("v")))
	}
	cases := []struct {
		name     string
		ctx      context.Context
		arn      string
		typ      string
		event    any
		opts     []snssqs.PublishOption
		sentinel error
	}{
		{"oversize event", ctx, topo.TopicARN, "big", map[string]string{"x": strings.Repeat("x", snssqs.MaxSNSMessageSize)}, nil, snssqs.ErrMessageTooLarge},
		{"too many attributes", ctx, topo.TopicARN, "attrs", map[string]int{}, tooMany, snssqs.ErrInvalidAttribute},
		{"attribute with reserved name", ctx, topo.TopicARN, "attrs", map[string]int{}, []snssqs.PublishOption{snssqs.WithAttribute("AWS.x", snssqs.StringAttribute("v"))}, snssqs.ErrInvalidAttribute},
		{"not an ARN", ctx, "my-topic", "t", map[string]int{}, nil, snssqs.ErrInvalidARN},
		{"empty ARN", ctx, "", "t", map[string]int{}, nil, snssqs.ErrInvalidARN},
		{"queue ARN", ctx, "arn:aws:sqs:us-east-1:000000000000:q", "t", map[string]int{}, nil, snssqs.ErrInvalidARN},
		{"truncated ARN", ctx, "arn:aws:sns:us-east-1", "t", map[string]int{}, nil, snssqs.ErrInvalidARN},
		{"empty event type", ctx, topo.TopicARN, "", map[string]int{}, nil, snssqs.ErrInvalidEvent},
		{"nil event", ctx, topo.TopicARN, "t", nil, nil, snssqs.ErrInvalidEvent},
		{"unmarshalable event", ctx, topo.TopicARN, "t", map[string]any{"f": func() {}}, nil, snssqs.ErrInvalidEvent},
		{"invalid JSON bytes", ctx, topo.TopicARN, "t", json.RawMessage(`{"a":`), nil, snssqs.ErrInvalidEvent},
		{"canceled context", canceled, topo.TopicARN, "t", map[string]int{}, nil, context.Canceled},
	}
	srv.ResetRequests()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			id, err := pub.Publish(c.ctx, c.arn, c.typ, c.event, c.opts...)
			require.Error(t, err)
			assert.Empty(t, id)
			assert.ErrorIs(t, err, c.sentinel)
			assert.True(t, strings.HasPrefix(err.Error(), "snssqs:"), "clear, prefixed error: %v", err)
		})
	}
	assert.Zero(t, srv.TotalRequests(), "no request may be sent for invalid input: %v", srv.Requests())
	for _, e := range hook.AllEntries() {
		assert.NotContains(t, e.Message+fmt.Sprint(e.Data), strings.Repeat("x", 100), "the oversize body is not logged")
	}

	// The Publisher still works.
	_, err = pub.Publish(ctx, topo.TopicARN, "fine", map[string]int{"n": 1})
	require.NoError(t, err)
	assert.Positive(t, srv.TotalRequests())
}
