package snssqs

import (
	"context"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sns/types"
)

// countingSNS is a minimal SNSPublishAPI for benchmarks: it answers at once
// (after yielding the processor, as a network call would) and only counts.
type countingSNS struct {
	requests atomic.Int64
	messages atomic.Int64
}

func (c *countingSNS) Publish(context.Context, *sns.PublishInput, ...func(*sns.Options)) (*sns.PublishOutput, error) {
	c.requests.Add(1)
	c.messages.Add(1)
	runtime.Gosched()
	return &sns.PublishOutput{MessageId: aws.String("m")}, nil
}

func (c *countingSNS) PublishBatch(_ context.Context, in *sns.PublishBatchInput, _ ...func(*sns.Options)) (*sns.PublishBatchOutput, error) {
	c.requests.Add(1)
	c.messages.Add(int64(len(in.PublishBatchRequestEntries)))
	runtime.Gosched()
	out := &sns.PublishBatchOutput{Successful: make([]types.PublishBatchResultEntry, len(in.PublishBatchRequestEntries))}
	for i, e := range in.PublishBatchRequestEntries {
		out.Successful[i] = types.PublishBatchResultEntry{Id: e.Id, MessageId: aws.String("m")}
	}
	return out, nil
}

// benchPubTopic is the topic the benchmarks publish to.
const benchPubTopic = "arn:aws:sns:eu-west-1:123456789012:cards"

type benchEvent struct {
	CardID   string            `json:"card_id"`
	Holder   string            `json:"holder"`
	Limit    int               `json:"limit"`
	Currency string            `json:"currency"`
	Labels   map[string]string `json:"labels"`
}

var benchPayload = benchEvent{CardID: "c-0af7651916cd43dd", Holder: "Ada Lovelace", Limit: 5000, Currency: "EUR",
	Labels: map[string]string{"tier": "gold", "channel": "web"}}

// BenchmarkEnvelopeEncode measures building one validated message: event
// marshaling, envelope encoding, attributes and size accounting.
func BenchmarkEnvelopeEncode(b *testing.B) {
	p, err := NewPublisher(&countingSNS{})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	topic, err := ParseTopicARN(benchPubTopic)
	if err != nil {
		b.Fatal(err)
	}
	opts := []PublishOption{
		WithSubject("c-0af7651916cd43dd"),
		WithExtension("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
		WithAttribute("tenant", StringAttribute("acme")),
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := prepare(context.Background(), &p.opts, topicDestination(topic), "card.created", benchPayload, publishConfigOf(&p.opts, opts)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPublishBatched measures concurrent Publish calls to one topic
// through the coalescing batcher; msgs/request shows how well they coalesce.
func BenchmarkPublishBatched(b *testing.B) {
	client := &countingSNS{}
	p, err := NewPublisher(client, func(o *PublisherOptions) { o.MaxInFlightBatches = 2 })
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			if _, err := p.Publish(ctx, benchPubTopic, "card.created", benchPayload); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	if err := p.Close(); err != nil {
		b.Fatal(err)
	}
	if n := client.requests.Load(); n > 0 {
		b.ReportMetric(float64(client.messages.Load())/float64(n), "msgs/request")
	}
}
