package exampleenv

import (
	"context"
	"errors"
	"time"
)

// PollWait is the subscribers' long-poll duration in the examples. A
// subscriber's Shutdown lets a long poll in progress finish rather than
// cancel it (SQS would still hand messages to a canceled poll and hide
// them for a visibility timeout), so stopping takes up to one PollWait. One
// second lets the examples exit promptly; a long-running service keeps the
// 20 s default, which makes fewer requests.
const PollWait = time.Second

// Runner is what Start runs: a *snssqs.Subscriber.
type Runner interface {
	Run(ctx context.Context) error
	Shutdown(ctx context.Context) error
}

// Running is a Runner whose Run was started by Start.
type Running struct {
	r      Runner
	exited chan struct{}
	err    error // Run's, set before exited is closed
}

// Start calls r.Run(ctx) in a new goroutine. Stop it with Stop (through
// Shutdown) before the program ends.
func Start(ctx context.Context, r Runner) *Running {
	run := &Running{r: r, exited: make(chan struct{})}
	go func() {
		defer close(run.exited)
		run.err = r.Run(ctx)
	}()
	return run
}

// Exited is closed when Run has returned, whether Stop made it return or
// not: a subscriber that exits while the example still waits for messages
// has failed, or its context has ended.
func (run *Running) Exited() <-chan struct{} { return run.exited }

// Stop shuts the Runner down within ctx, waits for Run to return, and
// returns Shutdown's and Run's errors joined. It may be called more than
// once.
func (run *Running) Stop(ctx context.Context) error {
	err := run.r.Shutdown(ctx)
	<-run.exited
	return errors.Join(err, run.err)
}
