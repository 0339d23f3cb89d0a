package snssqs

import (
	"context"
	"strconv"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/snssqs/snssqs/internal/consume"
)

const (
	benchQueue = "https://sqs.eu-west-1.amazonaws.com/123456789012/orders"
	benchTopic = "arn:aws:sns:eu-west-1:123456789012:orders"
	// benchNotification is an SNS notification of a CloudEvents envelope, as
	// SNS delivers it to a queue.
	benchNotification = `{"Type":"Notification","MessageId":"sns-1","TopicArn":"` + benchTopic + `",` +
		`"Message":"{\"specversion\":\"1.0\",\"id\":\"ev-1\",\"source\":\"test\",\"type\":\"card.created\",` +
		`\"time\":\"2025-01-02T03:04:05Z\",\"datacontenttype\":\"application/json\",\"data\":{\"id\":\"c1\",\"amount\":42}}",` +
		`"Timestamp":"2025-01-01T00:00:00.000Z","SignatureVersion":"1","Signature":"EXAMPLE",` +
		`"SigningCertURL":"https://example.invalid/cert.pem","UnsubscribeURL":"https://example.invalid/unsub",` +
		`"MessageAttributes":{"ce_type":{"Type":"String","Value":"card.created"}}}`
)

// BenchmarkDecodeDispatch measures the Subscriber's per-message hot path
// without I/O: decoding an SNS-wrapped CloudEvents envelope and routing it
// by type through the middleware chain to a typed handler. (The engine's
// share, queueing the delete, is BenchmarkFinish in internal/consume.)
func BenchmarkDecodeDispatch(b *testing.B) {
	s, err := NewSubscriber(discardSQS{}, func(o *SubscriberOptions) { o.AllowedTopicARNs = []string{benchTopic} })
	if err != nil {
		b.Fatal(err)
	}
	for i := range 20 { // a realistic routing table
		if _, err := s.Handle(benchQueue, "other."+strconv.Itoa(i), func(context.Context, *Message) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := HandleFunc(s, benchQueue, "card.created", func(context.Context, cardCreated, *Message) error { return nil }); err != nil {
		b.Fatal(err)
	}
	// What Run sets up, without the engines.
	s.handlerCtx, s.abandonAll = context.WithCancel(context.Background())
	defer s.abandonAll()
	handle := s.handleFunc(&queueInfo{url: benchQueue})

	body := benchNotification
	sm := types.Message{
		MessageId: aws.String("9b2f1c3e-0000-4000-8000-000000000000"), ReceiptHandle: aws.String("AQEB-receipt-handle"),
		Body: aws.String(body),
		Attributes: map[string]string{
			string(types.MessageSystemAttributeNameApproximateReceiveCount): "1",
			string(types.MessageSystemAttributeNameSentTimestamp):           "1700000000000",
		},
	}
	b.Run("decode", func(b *testing.B) { // the decode.go share of the total
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			if _, err := decodeSQSMessage(benchQueue, sm, s.allowed); err != nil {
				b.Fatal(err)
			}
		}
	})
	ctx := context.Background()
	dispatch := func(handle consume.HandleFunc) func(b *testing.B) {
		return func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			d := &consume.Delivery{Msg: sm, ReceiveCount: 1}
			for b.Loop() {
				if handle(ctx, d) != consume.Delete {
					b.Fatal("message not handled")
				}
			}
		}
	}
	b.Run("decode+dispatch", dispatch(handle))
	// The same with every hook and a propagator set, doing nothing: the
	// cost of calling them. (Unset, they cost nothing: decode+dispatch.)
	s.opts.Propagator = nopPropagator{}
	s.opts.Hooks.Handle = func(ctx context.Context, _ *Message) (context.Context, func(HandleDone)) {
		return ctx, func(HandleDone) {}
	}
	b.Run("decode+dispatch+hooks", dispatch(s.handleFunc(&queueInfo{url: benchQueue})))
}

// nopPropagator extracts nothing.
type nopPropagator struct{}

func (nopPropagator) Inject(context.Context, Carrier) {}
func (nopPropagator) Extract(ctx context.Context, c Carrier) context.Context {
	_ = c.Get("traceparent")
	return ctx
}
