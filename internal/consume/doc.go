// Package consume is the Subscriber's engine for one queue: it receives
// messages, keeps them invisible while they wait for and run their handler,
// hands them to a bounded set of workers, and acknowledges each one in
// exactly one place.
//
// # Ownership
//
// An Engine is started by its owner with Run, which blocks until the engine
// has stopped; every goroutine the engine starts (receivers, workers, the
// heartbeat and the two ack batchers) is started and waited for inside Run.
// Stop begins a graceful stop, and canceling Run's context abandons running
// handlers. The engine holds no reference to its owner: it is given a
// handle function, a logger and an error callback.
//
// # Flow
//
//	receivers ─► dispatcher ─► workers ─► finish ─► deletes / visibility batcher
//	     │            │                      ▲
//	     └────────────┴──── heartbeat ───────┘ (stopped by finish)
//
// Every message ends in finish, with one of three outcomes: delete (its
// handler succeeded), nack (it comes back after the backoff) or release
// (visible again at once, unhandled). finish stops the message's heartbeat
// before it queues the acknowledgement, so an extension can never undo a
// nack or follow a delete.
//
// # Flow control
//
// The number of concurrent receives and the prefetch window adapt to what
// is measured (see flow): a receive is made only while a worker is free and
// places are left under the window, more receives run at once while the
// workers starve and receives come back full, and fewer after empty
// receives, within the bounds of the options.
package consume
