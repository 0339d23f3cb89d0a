package snssqs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/snssqs/snssqs/internal/consume"
	"github.com/snssqs/snssqs/internal/logx"
)

// engineConfig is the consume engine configuration of queue q.
func (s *Subscriber) engineConfig(q *queueInfo) consume.Config {
	o := &s.opts
	jitter := func() float64 { return s.rand() }
	return consume.Config{
		Client:            s.client,
		QueueURL:          q.url,
		Handle:            s.handleFunc(q),
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
		SystemAttributeNames:  receivedSystemAttributes(o.Propagator != nil),
		Observer:              s.engineObserver(q),
	}
}

// handleFunc decodes each delivery of queue q and hands it to the handler
// registered for its type, or applies the policy for messages that cannot
// reach one. The trace context is extracted and the Handle hook called
// between the two.
func (s *Subscriber) handleFunc(q *queueInfo) consume.HandleFunc {
	return func(ctx context.Context, d *consume.Delivery) consume.Outcome {
		m, err := s.decode(ctx, q.url, d)
		if s.opts.Propagator != nil {
			ctx = s.opts.Propagator.Extract(ctx, messageCarrier{m})
		}
		hook := s.opts.Hooks.Handle
		if hook == nil {
			o, _, _ := s.route(ctx, q.url, m, err)
			return o
		}
		start := time.Now()
		ctx, done := hook(ctx, m)
		o, cause, herr := s.route(ctx, q.url, m, err)
		if done != nil {
			maxReceive := int(q.maxReceive.Load())
			d.OnFinish = func(f consume.Finish) { done(handleDone(f, cause, herr, start, maxReceive, m.ReceiveCount)) }
		}
		return o
	}
}

// decode decodes d, fetching an offloaded payload with ctx, and arranges
// for the payload's deletion after the message's.
func (s *Subscriber) decode(ctx context.Context, queueURL string, d *consume.Delivery) (*Message, error) {
	var fetch fetchFunc
	if store := s.opts.PayloadStore; store != nil {
		fetch = func(p PayloadPointer) ([]byte, error) { return store.Get(ctx, p) }
	}
	m, err := decodeReceived(queueURL, d.Msg, s.allowed, fetch)
	if m.payload != nil {
		d.AfterDelete = s.deletePayload(*m.payload, m)
	}
	return m, err
}

// route hands m (decoded with decodeErr) to its handler, or applies the
// policy for messages that cannot reach one. It returns what the engine is
// to do, why (for hooks) and the error.
func (s *Subscriber) route(ctx context.Context, queueURL string, m *Message, decodeErr error) (consume.Outcome, HandleOutcome, error) {
	var fetchErr *payloadFetchError
	if errors.As(decodeErr, &fetchErr) {
		s.log.WithFields(messageFields(m)).WithError(decodeErr).Warn("snssqs: payload fetch failed; message will be redelivered")
		s.report(decodeErr)
		return consume.Retry, OutcomeMalformed, decodeErr
	}
	if decodeErr != nil {
		return s.undeliverable(m, decodeErr, s.opts.MalformedPolicy), OutcomeMalformed, decodeErr
	}
	h := s.routes.Load().lookup(queueURL, m.Type)
	if h == nil {
		err := fmt.Errorf("%w: type %q on queue %s", ErrNoHandler, m.Type, queueURL)
		return s.undeliverable(m, err, s.opts.UnknownTypePolicy), OutcomeUnknownType, err
	}
	err := h(ctx, m)
	if err == nil {
		return consume.Delete, OutcomeDeleted, nil
	}
	if s.handlerCtx.Err() == nil { // not abandoned at shutdown: the engine logs that
		s.log.WithFields(messageFields(m)).WithError(err).Warn("snssqs: handler failed; message will be redelivered")
	}
	switch {
	case errors.Is(err, ErrHandlerPanic):
		return consume.Retry, OutcomePanicked, err
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return consume.Retry, OutcomeTimedOut, err
	default:
		return consume.Retry, OutcomeNacked, err
	}
}

// handleDone is what the Handle hook's done is told when a message whose
// handling ended with cause and err finished as f.
func handleDone(f consume.Finish, cause HandleOutcome, err error, start time.Time, maxReceive, receiveCount int) HandleDone {
	hd := HandleDone{Outcome: cause, Deleted: f.Kind == consume.FinishDeleted, Visibility: f.Visibility, Duration: time.Since(start), Err: err}
	switch f.Kind {
	case consume.FinishAbandoned:
		hd.Outcome = OutcomeAbandoned
	case consume.FinishReleased:
		hd.Outcome = OutcomeReleased
	}
	hd.DeadLetterBound = !hd.Deleted && maxReceive > 0 && receiveCount >= maxReceive
	return hd
}

// engineObserver turns the Received, Released, Request and Flow hooks into
// the engine's observer; unset hooks stay unset there.
func (s *Subscriber) engineObserver(q *queueInfo) consume.Observer {
	h := s.opts.Hooks
	var obs consume.Observer
	if h.Received != nil {
		obs.Received = func(d *consume.Delivery) {
			r := ReceivedMessage{QueueURL: q.url, SQSMessageID: d.ID(), ReceiveCount: d.ReceiveCount, MaxReceiveCount: int(q.maxReceive.Load())}
			if sent, ok := sentTimestamp(d.Msg.Attributes); ok {
				r.Age = max(0, time.Since(sent))
			}
			h.Received(r)
		}
	}
	if h.Released != nil {
		obs.Finished = func(d *consume.Delivery, f consume.Finish) {
			if f.Kind == consume.FinishReleased {
				h.Released(ReleasedMessage{QueueURL: q.url, SQSMessageID: d.ID(), AtShutdown: f.AtStop})
			}
		}
	}
	if h.Request != nil {
		obs.Request = func(r consume.Request) {
			h.Request(SQSRequest(r))
		}
	}
	if h.Flow != nil {
		obs.Flow = func(inFlight, receivers, window int) {
			h.Flow(FlowState{QueueURL: q.url, InFlight: inFlight, Receivers: receivers, Window: window})
		}
	}
	return obs
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
		if logx.DebugEnabled(s.log) {
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
