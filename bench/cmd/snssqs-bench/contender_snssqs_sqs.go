package main

import (
	"context"
	"fmt"

	"github.com/snssqs/snssqs"
)

// snssqsQueueContender is this library with no topic: a QueuePublisher
// sends the events straight to the queue (concurrent Send calls coalesced
// into SendMessageBatch), and the same Subscriber as snssqs handles them as
// raw envelopes. Its floor is SendMessageBatch, ReceiveMessage and
// DeleteMessageBatch of 10: 0.30 requests per event.
type snssqsQueueContender struct{ snssqsContender }

func (snssqsQueueContender) name() string { return "snssqs-sqs" }
func (snssqsQueueContender) description() string {
	return "this library without SNS: QueuePublisher.Send straight to the queue (coalesced into SendMessageBatch); the same Subscriber, default options"
}

func (snssqsQueueContender) openPublisher(_ context.Context, cl awsClients, ref queueRef) (publisher, error) {
	p, err := snssqs.NewQueuePublisher(cl.sqs, func(o *snssqs.PublisherOptions) { o.Source = benchSource })
	if err != nil {
		return nil, fmt.Errorf("snssqs.NewQueuePublisher: %w", err)
	}
	return &snssqsQueuePublisher{p: p, queueURL: ref.queueURL}, nil
}

type snssqsQueuePublisher struct {
	p        *snssqs.QueuePublisher
	queueURL string
}

func (p *snssqsQueuePublisher) publish(ctx context.Context, events []benchEvent) error {
	for _, ev := range events {
		if _, err := p.p.Send(ctx, p.queueURL, eventType, ev); err != nil {
			return fmt.Errorf("snssqs Send: %w", err)
		}
	}
	return nil
}

func (p *snssqsQueuePublisher) close(ctx context.Context) error {
	if err := p.p.Shutdown(ctx); err != nil {
		return fmt.Errorf("snssqs QueuePublisher.Shutdown: %w", err)
	}
	return nil
}
