package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"gocloud.dev/pubsub"
	"gocloud.dev/pubsub/awssnssqs"
)

// gocloudDefaultHandlers is the handler concurrency of gocloud.dev's own
// concurrent-receive example (pubsub.ExampleSubscription_Receive_concurrent).
const gocloudDefaultHandlers = 10

// gocloudContender is gocloud.dev/pubsub/awssnssqs v0.47 with its defaults:
// OpenSNSTopic and OpenSubscription with aws-sdk-go-v2 clients, Send from
// many goroutines (its batcher coalesces them into PublishBatch), and the
// Receive loop with a semaphore of handlers that its documentation shows,
// acking each message (its acker batches DeleteMessageBatch).
type gocloudContender struct{}

func (gocloudContender) name() string { return "gocloud" }
func (gocloudContender) description() string {
	return "gocloud.dev v0.47 pubsub/awssnssqs defaults: Topic.Send from the publisher goroutines; Subscription.Receive loop with 10 concurrent handlers (its documented pattern), Message.Ack"
}
func (gocloudContender) batchSize() int            { return 1 }
func (gocloudContender) supportsConcurrency() bool { return true }

func (gocloudContender) openPublisher(ctx context.Context, cl awsClients, ref queueRef) (publisher, error) {
	return &gocloudPublisher{topic: awssnssqs.OpenSNSTopic(ctx, cl.sns, ref.topicARN, nil)}, nil
}

type gocloudPublisher struct {
	topic *pubsub.Topic
}

func (p *gocloudPublisher) publish(ctx context.Context, events []benchEvent) error {
	for _, ev := range events {
		body, err := json.Marshal(ev)
		if err != nil {
			return fmt.Errorf("encode event: %w", err)
		}
		if err := p.topic.Send(ctx, &pubsub.Message{Body: body, Metadata: map[string]string{eventTypeAttribute: eventType}}); err != nil {
			return fmt.Errorf("gocloud Topic.Send: %w", err)
		}
	}
	return nil
}

func (p *gocloudPublisher) close(ctx context.Context) error {
	if err := p.topic.Shutdown(ctx); err != nil {
		return fmt.Errorf("gocloud Topic.Shutdown: %w", err)
	}
	return nil
}

func (gocloudContender) startConsumer(ctx context.Context, cl awsClients, spec consumerSpec, h handlerFunc) (consumer, error) {
	sub := awssnssqs.OpenSubscription(ctx, cl.sqs, spec.queueURL, nil)
	maxHandlers := gocloudDefaultHandlers
	if spec.concurrency > 0 {
		maxHandlers = spec.concurrency
	}
	rctx, cancel := context.WithCancel(ctx)
	c := &gocloudConsumer{sub: sub, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		sem := make(chan struct{}, maxHandlers)
	recvLoop:
		for {
			msg, err := sub.Receive(rctx)
			if err != nil {
				if rctx.Err() == nil {
					c.setErr(fmt.Errorf("gocloud Subscription.Receive: %w", err))
				}
				break
			}
			select {
			case sem <- struct{}{}:
			case <-rctx.Done():
				msg.Nack()
				break recvLoop
			}
			go func() {
				defer func() { <-sem }()
				var ev benchEvent
				if err := json.Unmarshal(msg.Body, &ev); err != nil {
					c.setErr(fmt.Errorf("decode event: %w", err))
					msg.Nack()
					return
				}
				var sm sqstypes.Message
				rc := 0
				if msg.As(&sm) {
					rc = receiveCount(sm.Attributes)
				}
				if h(rctx, ev, rc) != nil {
					msg.Nack()
					return
				}
				msg.Ack()
			}()
		}
		for range maxHandlers {
			sem <- struct{}{}
		}
	}()
	return c, nil
}

type gocloudConsumer struct {
	sub    *pubsub.Subscription
	cancel context.CancelFunc
	done   chan struct{}
	mu     sync.Mutex
	err    error
}

func (c *gocloudConsumer) setErr(err error) {
	c.mu.Lock()
	if c.err == nil {
		c.err = err
	}
	c.mu.Unlock()
}

// stop ends the receive loop, waits for its handlers, then shuts the
// subscription down, which flushes pending acks.
func (c *gocloudConsumer) stop(ctx context.Context) error {
	c.cancel()
	select {
	case <-c.done:
	case <-ctx.Done():
		return fmt.Errorf("gocloud receive loop did not stop: %w", ctx.Err())
	}
	err := c.sub.Shutdown(ctx)
	c.mu.Lock()
	defer c.mu.Unlock()
	return errors.Join(c.err, err)
}
