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
// only for the slow-handler run, as a user with slow handlers would). With
// otel set (snssqs-otel), both are instrumented by otelsnssqs, tracing every
// message and recording every metric (see telemetry).
type snssqsContender struct {
	otel     bool
	sampling float64 // the fraction of traces sampled, with otel; 0 means 1
}

func (c snssqsContender) name() string {
	if c.otel {
		return "snssqs-otel"
	}
	return "snssqs"
}

func (c snssqsContender) description() string {
	if c.otel {
		return "snssqs with otelsnssqs: every message traced (create, send, process spans; W3C trace context in the envelope; batch span processor, always sampled) and every metric recorded"
	}
	return "this library, defaults: Publisher.Publish from the publisher goroutines (coalesced into PublishBatch); Subscriber with HandleFunc[T], default options"
}
func (snssqsContender) batchSize() int            { return 1 }
func (snssqsContender) supportsConcurrency() bool { return true }

func (c snssqsContender) openPublisher(_ context.Context, cl awsClients, ref queueRef) (publisher, error) {
	topicARN := ref.topicARN
	opts := []func(*snssqs.PublisherOptions){func(o *snssqs.PublisherOptions) { o.Source = benchSource }}
	var tel *telemetry
	if c.otel {
		var err error
		if tel, err = newTelemetry(c.sampling); err != nil {
			return nil, err
		}
		opts = append(opts, tel.inst.Publisher)
	}
	p, err := snssqs.NewPublisher(cl.sns, opts...)
	if err != nil {
		return nil, fmt.Errorf("snssqs.NewPublisher: %w", err)
	}
	return &snssqsPublisher{p: p, topicARN: topicARN, tel: tel}, nil
}

type snssqsPublisher struct {
	p        *snssqs.Publisher
	topicARN string
	tel      *telemetry // nil without OpenTelemetry
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
	return p.tel.shutdown(ctx)
}

func (sc snssqsContender) startConsumer(ctx context.Context, cl awsClients, spec consumerSpec, h handlerFunc) (consumer, error) {
	c := &snssqsConsumer{runDone: make(chan error, 1)}
	var opts []func(*snssqs.SubscriberOptions)
	if sc.otel {
		var err error
		if c.tel, err = newTelemetry(sc.sampling); err != nil {
			return nil, err
		}
		opts = append(opts, c.tel.inst.Subscriber)
	}
	sub, err := snssqs.NewSubscriber(cl.sqs, append(opts, func(o *snssqs.SubscriberOptions) {
		if spec.concurrency > 0 {
			o.Concurrency = spec.concurrency
		}
		o.OnError = c.onError
	})...)
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
	tel     *telemetry // nil without OpenTelemetry
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
	err = errors.Join(err, c.tel.shutdown(ctx))
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.first != nil {
		err = errors.Join(err, fmt.Errorf("%d background errors, first: %w", c.errs, c.first))
	}
	return err
}
