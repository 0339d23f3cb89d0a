package snssqs

import (
	"context"
	"testing"
)

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
