package consume

import "time"

// OpReceive names ReceiveMessage requests in Request.Op.
const OpReceive = "receive"

// Request is one SQS request the engine made, as the Observer sees it:
// the fields of snssqs.SQSRequest, documented there, which it converts to.
// Op is OpReceive, OpDelete, OpVisibility or OpHeartbeat; for receives
// Entries is the number asked for and Messages the number received, for
// batch calls the entries sent and those that succeeded; Failed counts the
// entries rejected, all of them when Err is set.
type Request struct {
	Op, QueueURL              string
	Entries, Messages, Failed int
	Duration                  time.Duration
	Err                       error
}

// FinishKind is how a message ended.
type FinishKind int

const (
	// FinishDeleted: queued for deletion.
	FinishDeleted FinishKind = iota
	// FinishNacked: made visible again after Finish.Visibility.
	FinishNacked
	// FinishReleased: made visible again at once, unhandled.
	FinishReleased
	// FinishAbandoned: its handler was abandoned; it comes back after its
	// visibility timeout.
	FinishAbandoned
)

// Finish describes how a message ended in the engine's finish.
type Finish struct {
	Kind FinishKind
	// Visibility is the nack's delay before the message is visible again.
	Visibility time.Duration
	// AtStop reports a release made because the engine was stopping (not
	// one behind a failed message of its FIFO group).
	AtStop bool
}

// Observer is told about an engine's messages and requests. Every field
// may be nil; the engine checks each before building what it would be
// given, so an unset Observer costs nothing. Its functions run on the
// engine's goroutines and must not block.
type Observer struct {
	// Received is called for each message received, before it waits for a
	// worker.
	Received func(d *Delivery)
	// Finished is called when a message ends, after Delivery.OnFinish.
	Finished func(d *Delivery, f Finish)
	// Request is called when an SQS request returned.
	Request func(r Request)
	// Flow is called after each successful receive with the messages in
	// flight, the receives allowed at once and the prefetch window.
	Flow func(inFlight, receivers, window int)
}

// batchCall is the Request of one batch call of n entries that took
// elapsed: failed of them rejected, or all of them when err is set.
func batchCall(op string, n, failed int, elapsed time.Duration, err error) Request {
	if err != nil {
		failed = n
	}
	return Request{Op: op, Entries: n, Messages: n - failed, Failed: failed, Duration: elapsed, Err: err}
}

// observeRequest reports one request to the observer, if it wants it.
func (e *Engine) observeRequest(r Request) {
	if fn := e.cfg.Observer.Request; fn != nil {
		r.QueueURL = e.cfg.QueueURL
		fn(r)
	}
}
