package snssqs

import (
	"context"
	"strconv"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// discardSQS accepts every ack and never returns messages.
type discardSQS struct{}

func (discardSQS) ReceiveMessage(ctx context.Context, _ *sqs.ReceiveMessageInput, _ ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func (discardSQS) DeleteMessage(context.Context, *sqs.DeleteMessageInput, ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error) {
	return &sqs.DeleteMessageOutput{}, nil
}

func (discardSQS) DeleteMessageBatch(context.Context, *sqs.DeleteMessageBatchInput, ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error) {
	return &sqs.DeleteMessageBatchOutput{}, nil
}

func (discardSQS) ChangeMessageVisibility(context.Context, *sqs.ChangeMessageVisibilityInput, ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error) {
	return &sqs.ChangeMessageVisibilityOutput{}, nil
}

func (discardSQS) ChangeMessageVisibilityBatch(context.Context, *sqs.ChangeMessageVisibilityBatchInput, ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityBatchOutput, error) {
	return &sqs.ChangeMessageVisibilityBatchOutput{}, nil
}

// BenchmarkDecodeDispatch measures the per-message hot path without I/O:
// decoding an SNS-wrapped CloudEvents envelope, routing it by type through
// the middleware chain to a typed handler, and queueing its delete.
func BenchmarkDecodeDispatch(b *testing.B) {
	s, err := NewSubscriber(discardSQS{}, func(o *SubscriberOptions) { o.AllowedTopicARNs = []string{topicA} })
	if err != nil {
		b.Fatal(err)
	}
	for i := range 20 { // a realistic routing table
		if _, err := s.Handle(queueA, "other."+strconv.Itoa(i), func(context.Context, *Message) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := HandleFunc(s, queueA, "card.created", func(context.Context, cardCreated, *Message) error { return nil }); err != nil {
		b.Fatal(err)
	}
	// What Run sets up, without the pollers.
	s.base = context.Background()
	s.handlerCtx, s.abandonAll = context.WithCancel(s.base)
	defer s.abandonAll()
	p := newPoller(s, queueA)
	p.deletes.start()
	p.visibility.start()
	defer p.visibility.close()
	defer p.deletes.close()

	body := snsBody(b, topicA, envelopeBody(b, "card.created", cardCreated{ID: "c1", Amount: 42}), map[string]snsAttribute{
		"ce_type": {Type: "String", Value: "card.created"},
	})
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
			if _, err := decodeSQSMessage(queueA, sm, s.allowed); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode+dispatch+ack", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			m, err := decodeSQSMessage(queueA, sm, s.allowed)
			if !p.process(&delivery{msg: m, decodeErr: err}) {
				b.Fatal("message not handled")
			}
		}
	})
}
