package snssqs

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/snssqs/snssqs/internal/publish"
)

// core is what Publisher and QueuePublisher share: their options, their
// publish engine, the service it sends to, how a destination is checked,
// and the count of rejected messages.
type core struct {
	opts PublisherOptions
	b    *publish.Batcher
	svc  Service
	// resolve checks a topic ARN or queue URL.
	resolve  func(dest string) (destination, error)
	rejected atomic.Uint64
}

// newCore starts the publish engine of sender, a service's Sender, for
// destinations resolve checks.
func newCore(sender publish.Sender, svc Service, resolve func(string) (destination, error), o PublisherOptions) *core {
	c := &core{opts: o, svc: svc, resolve: resolve}
	c.b = publish.New(publish.Config{
		Sender:      sender,
		Clock:       o.Clock,
		Logger:      o.Logger,
		Linger:      o.Linger,
		MaxInFlight: o.MaxInFlightBatches,
		ErrClosed:   ErrClosed,
		Request:     requestHook(svc, o.Hooks.Request),
	})
	return c
}

// requestHook adapts the Request hook, if any, to the engine's.
func requestHook(svc Service, h func(context.Context, PublishRequest) (context.Context, func(PublishRequestDone))) func(context.Context, publish.Request) (context.Context, func(publish.RequestDone)) {
	if h == nil {
		return nil
	}
	return func(ctx context.Context, r publish.Request) (context.Context, func(publish.RequestDone)) {
		ctx, done := h(ctx, PublishRequest{Service: svc, Destination: r.Destination, DestinationName: r.DestinationName, Batch: r.Batch, Messages: r.Messages})
		if done == nil {
			return ctx, nil
		}
		return ctx, func(d publish.RequestDone) {
			done(PublishRequestDone{Duration: d.Duration, Failed: d.Failed, Err: d.Err})
		}
	}
}

// prepareToSend validates and builds a message (prepare) and, when its
// body is over PayloadThreshold, offloads the body to the PayloadStore.
func (c *core) prepareToSend(ctx context.Context, dst destination, eventType string, event any, pc *publishConfig) (*publish.Message, error) {
	m, err := prepare(ctx, &c.opts, dst, eventType, event, pc)
	if err != nil {
		return nil, err
	}
	if err := offload(ctx, &c.opts, m); err != nil {
		return nil, err
	}
	return &m.Message, nil
}

// logRejected counts and logs a message that failed validation.
func (c *core) logRejected(dest, eventType string, err error) {
	c.rejected.Add(1)
	key, what := "topic", "snssqs: publish rejected"
	if c.svc == ServiceSQS {
		key, what = "queue", "snssqs: send rejected"
	}
	c.opts.Logger.WithFields(logrus.Fields{key: dest, "type": eventType}).WithError(err).Warn(what)
}

// stats returns the engine's counters and gauges with the rejected count.
func (c *core) stats() PublisherStats {
	st := c.b.Stats()
	return PublisherStats{
		Published: st.Published, Failed: st.Failed, Rejected: c.rejected.Load(), Requests: st.Requests,
		Queued: st.Queued, InFlightRequests: st.InFlight, Closed: st.Closed,
	}
}

// closeWithin shuts the engine down within d: Close of both publishers.
func (c *core) closeWithin(d time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return c.b.Shutdown(ctx)
}

// check fails a call, before anything is validated, when ctx has ended or
// the publisher is shut down; batch tells PublishBatch and SendBatch.
func (c *core) check(ctx context.Context, batch bool) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("snssqs: %s not attempted: %w", c.callName(batch), err)
	}
	if c.b.Closed() {
		return fmt.Errorf("%w: publisher is shut down", ErrClosed)
	}
	return nil
}

// callName names the call in errors: "publish", "send batch", ...
func (c *core) callName(batch bool) string {
	switch {
	case c.svc == ServiceSQS && batch:
		return "send batch"
	case c.svc == ServiceSQS:
		return "send"
	case batch:
		return "publish batch"
	}
	return "publish"
}

// send validates one event, queues it for dest (a topic ARN or queue URL)
// and waits for its result: Publish and Send.
func (c *core) send(ctx context.Context, dest, eventType string, event any, opts []PublishOption) (string, error) {
	if err := c.check(ctx, false); err != nil {
		return "", err
	}
	dst, err := c.resolve(dest)
	if err != nil {
		c.logRejected(dest, eventType, err)
		return "", err
	}
	pc := publishConfigOf(&c.opts, opts)
	var done func(PublishDone)
	if c.opts.Hooks.Publish != nil {
		ctx, done = c.hookPublish(ctx, dest, dst, eventType, pc.eventID)
	}
	m, err := c.prepareToSend(ctx, dst, eventType, event, pc)
	if err != nil {
		c.logRejected(dest, eventType, err)
		endPublish(done, publish.Result{Err: err}, true)
		return "", err
	}
	it := publish.NewItem(ctx, m)
	if err := c.b.Enqueue(dest, dst.name, dst.fifo, []*publish.Item{it}); err != nil {
		endPublish(done, publish.Result{Err: err}, true)
		return "", err
	}
	r := c.b.Wait(ctx, it)
	endPublish(done, r, false)
	return r.MessageID, r.Err
}

// hookPublish calls the Publish hook for a message of eventType to dest.
func (c *core) hookPublish(ctx context.Context, dest string, dst destination, eventType, eventID string) (context.Context, func(PublishDone)) {
	return c.opts.Hooks.Publish(ctx, PublishInfo{Service: c.svc, Destination: dest, DestinationName: dst.name, EventType: eventType, EventID: eventID})
}

// endPublish calls a Publish hook's done, if any, with the message's
// result; rejected reports that no request carried it.
func endPublish(done func(PublishDone), r publish.Result, rejected bool) {
	if done == nil {
		return
	}
	done(PublishDone{MessageID: r.MessageID, Err: r.Err, Rejected: rejected})
}

// sendEntries validates entries, queues the valid ones for
// dest (a topic ARN or queue URL) and returns one Result per entry and a
// *BatchError naming the failed ones: the body of PublishBatch and
// SendBatch.
func (c *core) sendEntries(ctx context.Context, dest string, entries []Entry) ([]Result, error) {
	if err := c.check(ctx, true); err != nil {
		return failEntries(len(entries), err)
	}
	dst, err := c.resolve(dest)
	if err != nil {
		c.logRejected(dest, "", err)
		return failEntries(len(entries), err)
	}
	if len(entries) == 0 {
		return []Result{}, nil
	}
	results := make([]Result, len(entries))
	queued := make([]*publish.Item, 0, len(entries))
	index := make([]int, 0, len(entries))
	var dones []func(PublishDone) // per entry, when the Publish hook is set
	if c.opts.Hooks.Publish != nil {
		dones = make([]func(PublishDone), len(entries))
	}
	for i, e := range entries {
		ectx := ctx
		pc := publishConfigOf(&c.opts, e.Options)
		if dones != nil {
			ectx, dones[i] = c.hookPublish(ctx, dest, dst, e.EventType, pc.eventID)
		}
		m, err := c.prepareToSend(ectx, dst, e.EventType, e.Event, pc)
		if err != nil {
			c.logRejected(dest, e.EventType, err)
			results[i].Err = err
			if dones != nil {
				endPublish(dones[i], publish.Result{Err: err}, true)
			}
			continue
		}
		queued = append(queued, publish.NewItem(ectx, m))
		index = append(index, i)
	}
	if len(queued) > 0 {
		if err := c.b.Enqueue(dest, dst.name, dst.fifo, queued); err != nil {
			for _, i := range index {
				results[i].Err = err
				if dones != nil {
					endPublish(dones[i], publish.Result{Err: err}, true)
				}
			}
			queued = nil
		}
	}
	for j, qm := range queued {
		r := c.b.Wait(ctx, qm)
		results[index[j]] = Result{MessageID: r.MessageID, SequenceNumber: r.SequenceNumber, Err: r.Err}
		if dones != nil {
			endPublish(dones[index[j]], r, false)
		}
	}
	return results, batchErrorOf(results)
}

// failEntries is the answer of a batch call that fails before any entry
// is looked at: every one of n entries fails with err.
func failEntries(n int, err error) ([]Result, error) {
	results := make([]Result, n)
	for i := range results {
		results[i].Err = err
	}
	if n == 0 {
		return results, err
	}
	return results, batchErrorOf(results)
}

// batchErrorOf is the *BatchError naming the failed results, or nil.
func batchErrorOf(results []Result) error {
	var be *BatchError
	for i, r := range results {
		if r.Err != nil {
			if be == nil {
				be = &BatchError{Total: len(results)}
			}
			be.Failed = append(be.Failed, newBatchEntryError(i, r.Err))
		}
	}
	if be == nil {
		return nil // not a typed nil in the interface
	}
	return be
}
