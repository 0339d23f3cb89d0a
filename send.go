package snssqs

import (
	"context"
	"time"
)

// prepareToSend validates and builds a message (prepare) and, when its
// body is over PayloadThreshold, offloads the body to the PayloadStore.
func prepareToSend(ctx context.Context, o *PublisherOptions, dst destination, eventType string, event any, c *publishConfig) (*outMessage, error) {
	m, err := prepare(ctx, o, dst, eventType, event, c)
	if err != nil {
		return nil, err
	}
	if err := offload(ctx, o, m); err != nil {
		return nil, err
	}
	return m, nil
}

// sendOne validates one event for dst, queues it with b for dest (a topic
// ARN or queue URL) and waits for its result: the body of Publish and Send.
func sendOne(ctx context.Context, b *batcher, o *PublisherOptions, dest string, dst destination, eventType string, event any, opts []PublishOption, logRejected func(dest, eventType string, err error)) (string, error) {
	c := publishConfigOf(o, opts)
	var done func(PublishDone)
	if o.Hooks.Publish != nil {
		ctx, done = hookPublish(ctx, b, dest, dst, eventType, c.eventID)
	}
	m, err := prepareToSend(ctx, o, dst, eventType, event, c)
	if err != nil {
		logRejected(dest, eventType, err)
		endPublish(done, publishResult{err: err}, true)
		return "", err
	}
	qm := newQueuedMessage(ctx, m)
	if err := b.enqueue(dest, dst, []*queuedMessage{qm}); err != nil {
		endPublish(done, publishResult{err: err}, true)
		return "", err
	}
	r := b.wait(ctx, qm)
	endPublish(done, r, false)
	return r.messageID, r.err
}

// hookPublish calls the Publish hook for a message of eventType to dest.
func hookPublish(ctx context.Context, b *batcher, dest string, dst destination, eventType, eventID string) (context.Context, func(PublishDone)) {
	return b.publishHook(ctx, PublishInfo{Service: b.sender.service(), Destination: dest, DestinationName: dst.name, EventType: eventType, EventID: eventID})
}

// endPublish calls a Publish hook's done, if any, with the message's
// result; rejected reports that no request carried it.
func endPublish(done func(PublishDone), r publishResult, rejected bool) {
	if done == nil {
		return
	}
	done(PublishDone{MessageID: r.messageID, Err: r.err, Rejected: rejected})
}

// sendEntries validates entries for dst, queues the valid ones with b for
// dest (a topic ARN or queue URL) and returns one Result per entry and a
// *BatchError naming the failed ones: the body of PublishBatch and
// SendBatch.
func sendEntries(ctx context.Context, b *batcher, o *PublisherOptions, dest string, dst destination, entries []Entry, logRejected func(dest, eventType string, err error)) ([]Result, error) {
	if len(entries) == 0 {
		return []Result{}, nil
	}
	results := make([]Result, len(entries))
	queued := make([]*queuedMessage, 0, len(entries))
	index := make([]int, 0, len(entries))
	var dones []func(PublishDone) // per entry, when the Publish hook is set
	if o.Hooks.Publish != nil {
		dones = make([]func(PublishDone), len(entries))
	}
	for i, e := range entries {
		ectx := ctx
		c := publishConfigOf(o, e.Options)
		if dones != nil {
			ectx, dones[i] = hookPublish(ctx, b, dest, dst, e.EventType, c.eventID)
		}
		m, err := prepareToSend(ectx, o, dst, e.EventType, e.Event, c)
		if err != nil {
			logRejected(dest, e.EventType, err)
			results[i].Err = err
			if dones != nil {
				endPublish(dones[i], publishResult{err: err}, true)
			}
			continue
		}
		queued = append(queued, newQueuedMessage(ectx, m))
		index = append(index, i)
	}
	if len(queued) > 0 {
		if err := b.enqueue(dest, dst, queued); err != nil {
			for _, i := range index {
				results[i].Err = err
				if dones != nil {
					endPublish(dones[i], publishResult{err: err}, true)
				}
			}
			queued = nil
		}
	}
	for j, qm := range queued {
		r := b.wait(ctx, qm)
		results[index[j]] = Result{MessageID: r.messageID, SequenceNumber: r.sequenceNumber, Err: r.err}
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

// closeWithin shuts b down within d: Close of both publishers.
func closeWithin(b *batcher, d time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return b.shutdown(ctx)
}
