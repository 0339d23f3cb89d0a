package snssqs

import (
	"context"
	"fmt"
	"sync"
)

// Handler handles one message: returning nil deletes the message; returning
// an error makes it come back later, after a backoff, until the queue's
// redrive policy moves it to its dead-letter queue. A handler must return
// promptly once ctx is done; the message may be delivered more than once, so
// handlers must be idempotent.
type Handler func(ctx context.Context, m *Message) error

// Middleware wraps a Handler with cross-cutting behaviour (logging, timeouts,
// metrics, tracing).
type Middleware func(Handler) Handler

// Chain applies mws around h, the first middleware outermost.
func Chain(h Handler, mws ...Middleware) Handler {
	for i := len(mws) - 1; i >= 0; i-- {
		h = mws[i](h)
	}
	return h
}

// Registration is a handler registered with a Subscriber.
type Registration struct {
	s         *Subscriber
	queueURL  string
	eventType string
	fallback  bool
	once      sync.Once
}

// Remove unregisters the handler. Messages already being handled finish
// normally; removing the last handler of a queue stops polling it (a long
// poll in progress ends within WaitTime and its messages are released). Remove is
// idempotent and safe to call from a handler.
func (r *Registration) Remove() {
	r.once.Do(func() { r.s.unregister(r) })
}

// route is a registered handler, already wrapped with the middleware chain.
type route struct {
	h   Handler
	reg *Registration
}

// queueRoutes are the handlers of one queue.
type queueRoutes struct {
	byType   map[string]*route
	fallback *route
}

func (q *queueRoutes) empty() bool { return q == nil || (len(q.byType) == 0 && q.fallback == nil) }

func (q *queueRoutes) clone() *queueRoutes {
	c := &queueRoutes{byType: make(map[string]*route, len(q.byType)+1), fallback: q.fallback}
	for k, v := range q.byType {
		c.byType[k] = v
	}
	return c
}

// routeTable maps queue URLs to their handlers. It is immutable once
// published: writers copy it (copy-on-write), so the dispatch path reads it
// without locking.
type routeTable map[string]*queueRoutes

// lookup returns the handler for eventType on queueURL, or the queue's
// fallback, or nil.
func (t routeTable) lookup(queueURL, eventType string) Handler {
	q := t[queueURL]
	if q == nil {
		return nil
	}
	if r := q.byType[eventType]; r != nil {
		return r.h
	}
	if q.fallback != nil {
		return q.fallback.h
	}
	return nil
}

// with returns a copy of t with r added for reg's queue and type.
func (t routeTable) with(reg *Registration, r *route) (routeTable, error) {
	old := t[reg.queueURL]
	var q *queueRoutes
	if old == nil {
		q = &queueRoutes{byType: make(map[string]*route, 1)}
	} else {
		q = old.clone()
	}
	if reg.fallback {
		if q.fallback != nil {
			return nil, fmt.Errorf("%w: fallback for queue %s", ErrDuplicateHandler, reg.queueURL)
		}
		q.fallback = r
	} else {
		if q.byType[reg.eventType] != nil {
			return nil, fmt.Errorf("%w: type %q on queue %s", ErrDuplicateHandler, reg.eventType, reg.queueURL)
		}
		q.byType[reg.eventType] = r
	}
	return t.withQueue(reg.queueURL, q), nil
}

// without returns a copy of t without reg, and whether reg was present.
func (t routeTable) without(reg *Registration) (routeTable, bool) {
	old := t[reg.queueURL]
	if old == nil {
		return t, false
	}
	q := old.clone()
	if reg.fallback {
		if q.fallback == nil || q.fallback.reg != reg {
			return t, false
		}
		q.fallback = nil
	} else {
		if r := q.byType[reg.eventType]; r == nil || r.reg != reg {
			return t, false
		}
		delete(q.byType, reg.eventType)
	}
	if q.empty() {
		q = nil
	}
	return t.withQueue(reg.queueURL, q), true
}

// withQueue returns a copy of t with queueURL's routes set to q (removed
// when q is nil).
func (t routeTable) withQueue(queueURL string, q *queueRoutes) routeTable {
	c := make(routeTable, len(t)+1)
	for k, v := range t {
		c[k] = v
	}
	if q == nil {
		delete(c, queueURL)
	} else {
		c[queueURL] = q
	}
	return c
}

// Handle registers h for messages of eventType received from queueURL and,
// if Run is active, starts polling queueURL. Registering a second handler for
// the same queue and type fails with ErrDuplicateHandler; after Shutdown it
// fails with ErrClosed.
func (s *Subscriber) Handle(queueURL, eventType string, h Handler) (*Registration, error) {
	if eventType == "" {
		return nil, fmt.Errorf("%w: empty event type (use HandleFallback)", ErrInvalidOptions)
	}
	return s.register(&Registration{s: s, queueURL: queueURL, eventType: eventType}, h)
}

// HandleFallback registers h for messages from queueURL whose type has no
// handler, including bodies that are not CloudEvents envelopes (their Type
// is empty). A queue has at most one fallback.
func (s *Subscriber) HandleFallback(queueURL string, h Handler) (*Registration, error) {
	return s.register(&Registration{s: s, queueURL: queueURL, fallback: true}, h)
}

// HandleFunc registers fn for messages of eventType from queueURL, decoding
// each message's JSON data into a T first. Data that does not decode into T
// fails the message with an error wrapping ErrMalformedMessage, so it is
// retried and eventually dead-lettered like any failure.
func HandleFunc[T any](s *Subscriber, queueURL, eventType string, fn func(ctx context.Context, event T, m *Message) error) (*Registration, error) {
	if fn == nil {
		return nil, fmt.Errorf("%w: nil handler func", ErrInvalidOptions)
	}
	return s.Handle(queueURL, eventType, func(ctx context.Context, m *Message) error {
		var event T
		if err := m.Decode(&event); err != nil {
			return err
		}
		return fn(ctx, event, m)
	})
}

// wrap applies the subscriber's middleware to h with panic recovery both
// innermost (so middleware sees a panic as an error) and outermost (so a
// panicking middleware is caught too).
func (s *Subscriber) wrap(h Handler) Handler {
	rec := Recover(s.log)
	return rec(Chain(rec(h), s.opts.Middleware...))
}
