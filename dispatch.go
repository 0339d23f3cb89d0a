package snssqs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/snssqs/snssqs/internal/consume"
)

// engineConfig is the consume engine configuration of queueURL.
func (s *Subscriber) engineConfig(queueURL string) consume.Config {
	o := &s.opts
	jitter := func() float64 { return s.rand() }
	return consume.Config{
		Client:            s.client,
		QueueURL:          queueURL,
		Handle:            s.handleFunc(queueURL),
		Logger:            s.log,
		OnError:           s.report,
		Clock:             o.Clock,
		WaitSeconds:       s.waitSeconds,
		VisibilitySeconds: s.visibilitySeconds,
		MaxMessages:       o.MaxMessages,
		Concurrency:       o.Concurrency,
		Prefetch:          o.Prefetch,
		MaxReceivers:      o.ReceiversPerQueue,
		HeartbeatFraction: o.HeartbeatFraction,
		HandlerTimeout:    o.HandlerTimeout,
		Nack: consume.Backoff{
			Min: o.BackoffMin, Max: o.BackoffMax, Factor: o.BackoffFactor, Jitter: o.Jitter, Rand: jitter,
		},
		ReceiveBackoff: consume.Backoff{
			Min: receiveBackoffMin, Max: receiveBackoffMax, Factor: 2, Jitter: receiveBackoffJitter, Rand: jitter,
		},
		AckFlushInterval:      o.AckFlushInterval,
		AckRetries:            o.AckRetries,
		MessageAttributeNames: []string{"All"},
		SystemAttributeNames:  receivedSystemAttributes(),
	}
}

// handleFunc decodes each delivery of queueURL and hands it to the handler
// registered for its type, or applies the policy for messages that cannot
// reach one.
func (s *Subscriber) handleFunc(queueURL string) consume.HandleFunc {
	return func(ctx context.Context, d *consume.Delivery) consume.Outcome {
		var fetch fetchFunc
		if store := s.opts.PayloadStore; store != nil {
			fetch = func(p PayloadPointer) ([]byte, error) { return store.Get(ctx, p) }
		}
		m, err := decodeReceived(queueURL, d.Msg, s.allowed, fetch)
		if m.payload != nil {
			d.AfterDelete = s.deletePayload(*m.payload, m)
		}
		var fetchErr *payloadFetchError
		if errors.As(err, &fetchErr) {
			s.log.WithFields(messageFields(m)).WithError(err).Warn("snssqs: payload fetch failed; message will be redelivered")
			s.report(err)
			return consume.Retry
		}
		if err != nil {
			return s.undeliverable(m, err, s.opts.MalformedPolicy)
		}
		h := s.routes.Load().lookup(queueURL, m.Type)
		if h == nil {
			err := fmt.Errorf("%w: type %q on queue %s", ErrNoHandler, m.Type, queueURL)
			return s.undeliverable(m, err, s.opts.UnknownTypePolicy)
		}
		if err := h(ctx, m); err != nil {
			if s.handlerCtx.Err() == nil { // not abandoned at shutdown: the engine logs that
				s.log.WithFields(messageFields(m)).WithError(err).Warn("snssqs: handler failed; message will be redelivered")
			}
			return consume.Retry
		}
		return consume.Delete
	}
}

// payloadDeleteTimeout bounds the deletion of one offloaded payload.
const payloadDeleteTimeout = 30 * time.Second

// deletePayload returns the function that deletes p from the PayloadStore
// once m's deletion from SQS is confirmed. A failure is logged and reported;
// the payload is left behind, never the message.
func (s *Subscriber) deletePayload(p PayloadPointer, m *Message) func() {
	fields := messageFields(m)
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), payloadDeleteTimeout)
		defer cancel()
		if err := s.opts.PayloadStore.Delete(ctx, p); err != nil {
			err = fmt.Errorf("snssqs: deleting the payload s3://%s/%s of a deleted message: %w", p.Bucket, p.Key, err)
			s.log.WithFields(fields).WithError(err).Warn("snssqs: payload left behind")
			s.report(err)
		}
	}
}

// undeliverable logs and reports a message that cannot reach a handler and
// applies policy to it.
func (s *Subscriber) undeliverable(m *Message, err error, policy MessagePolicy) consume.Outcome {
	entry := s.log.WithFields(messageFields(m)).WithError(err).WithField("policy", policy.String())
	if m.TopicARN != "" {
		entry = entry.WithField("topic_arn", m.TopicARN)
	}
	if errors.Is(err, ErrNoHandler) {
		if s.unknown.first(m.QueueURL + "\x00" + m.Type) {
			entry.Warn("snssqs: no handler for event type (logged once per queue and type)")
		}
	} else {
		entry.Warn("snssqs: cannot decode message")
		if debugEnabled(s.log) {
			s.log.WithFields(messageFields(m)).WithField("body", string(m.Data)).Debug("snssqs: undecodable message body")
		}
	}
	s.report(err)
	if policy == PolicyDelete {
		return consume.Delete
	}
	return consume.Retry
}

// Receive-error backoff: the delay before the next ReceiveMessage after n
// consecutive failures is min(receiveBackoffMax, receiveBackoffMin*2^(n-1)),
// spread by ±receiveBackoffJitter.
const (
	receiveBackoffMin    = 100 * time.Millisecond
	receiveBackoffMax    = 30 * time.Second
	receiveBackoffJitter = 0.2
)
