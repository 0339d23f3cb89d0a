package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/snssqs/snssqs"
)

// snssqsContender is this library with the defaults a user would keep: a
// Publisher whose concurrent Publish calls are coalesced into PublishBatch,
// and a Subscriber with HandleFunc and default options (Concurrency is set
// only for the slow-handler run, as a user with slow handlers would).
type snssqsContender struct{}

func (snssqsContender) name() string { return "snssqs" }
func (snssqsContender) description() string {
	return "this library, defaults: Publisher.Publish from the publisher goroutines (coalesced into PublishBatch); Subscriber with HandleFunc[T], default options"
}
func (snssqsContender) batchSize() int            { return 1 }
func (snssqsContender) supportsConcurrency() bool { return true }

func (snssqsContender) openPublisher(_ context.Context, cl awsClients, ref queueRef) (publisher, error) {
	topicARN := ref.topicARN
	p, err := snssqs.NewPublisher(cl.sns, func(o *snssqs.PublisherOptions) { o.Source = benchSource })
	if err != nil {
		return nil, fmt.Errorf("snssqs.NewPublisher: %w", err)
	}
	return &snssqsPublisher{p: p, topicARN: topicARN}, nil
}

type snssqsPublisher struct {
	p        *snssqs.Publisher
	topicARN string
}

func (p *snssqsPublisher) publish(ctx context.Context, events []benchEvent) error {
	for _, ev := range events {
		if _, err := p.p.Publish(ctx, p.topicARN, eventType, ev); err != nil {
			return fmt.Errorf("snssqs Publish: %w", err)
		}
	}
	return nil
}

func (p *snssqsPublisher) close(ctx context.Context) error {
	if err := p.p.Shutdown(ctx); err != nil {
		return fmt.Errorf("snssqs Publisher.Shutdown: %w", err)
	}
	return nil
}

func (snssqsContender) startConsumer(ctx context.Context, cl awsClients, spec consumerSpec, h handlerFunc) (consumer, error) {
	c := &snssqsConsumer{runDone: make(chan error, 1)}
	sub, err := snssqs.NewSubscriber(cl.sqs, func(o *snssqs.SubscriberOptions) {
		if spec.concurrency > 0 {
			o.Concurrency = spec.concurrency
		}
		o.OnError = c.onError
	})
	if err != nil {
		return nil, fmt.Errorf("snssqs.NewSubscriber: %w", err)
	}
	if _, err := snssqs.HandleFunc(sub, spec.queueURL, eventType, func(ctx context.Context, ev benchEvent, m *snssqs.Message) error {
		return h(ctx, ev, m.ReceiveCount)
	}); err != nil {
		return nil, fmt.Errorf("snssqs.HandleFunc: %w", err)
	}
	c.sub = sub
	go func() { c.runDone <- sub.Run(ctx) }()
	return c, nil
}

type snssqsConsumer struct {
	sub     *snssqs.Subscriber
	runDone chan error
	mu      sync.Mutex
	errs    int
	first   error
}

// onError keeps the first background error the subscriber reports (failed
// receives, deletes, malformed messages, ...).
func (c *snssqsConsumer) onError(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.errs++
	if c.first == nil {
		c.first = err
	}
}

// snssqsStopGrace bounds the subscriber's graceful shutdown in the
// benchmark. The harness stops a consumer only after every event was handled,
// so all that is left is the idle long poll, which Shutdown lets finish (up
// to WaitTime, 20 s) unless its deadline passes; cutting it short keeps a run
// from idling 20 s. Pending deletes are flushed either way, and the queue is
// checked to be empty afterwards.
const snssqsStopGrace = time.Second

// stop shuts the subscriber down (flushing pending deletes) and waits for
// Run to return.
func (c *snssqsConsumer) stop(ctx context.Context) error {
	sctx, cancel := context.WithTimeout(ctx, snssqsStopGrace)
	defer cancel()
	err := c.sub.Shutdown(sctx)
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
		err = nil // only the idle long poll was cut short
	}
	select {
	case runErr := <-c.runDone:
		err = errors.Join(err, runErr)
	case <-ctx.Done():
		err = errors.Join(err, fmt.Errorf("snssqs Subscriber.Run did not return: %w", ctx.Err()))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.first != nil {
		err = errors.Join(err, fmt.Errorf("%d background errors, first: %w", c.errs, c.first))
	}
	return err
}
