package exampleenv

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
)

// fakeRunner runs until its context ends or Shutdown is called, like a
// subscriber, and returns the errors it was given.
type fakeRunner struct {
	runErr, shutdownErr error
	shutdown            chan struct{}
	shutdownCtx         chan context.Context
}

func newFakeRunner(runErr, shutdownErr error) *fakeRunner {
	return &fakeRunner{runErr: runErr, shutdownErr: shutdownErr, shutdown: make(chan struct{}), shutdownCtx: make(chan context.Context, 1)}
}

func (f *fakeRunner) Run(ctx context.Context) error {
	select {
	case <-ctx.Done():
	case <-f.shutdown:
	}
	return f.runErr
}

func (f *fakeRunner) Shutdown(ctx context.Context) error {
	f.shutdownCtx <- ctx
	close(f.shutdown)
	return f.shutdownErr
}

func TestStartStopReportsRunAndShutdownErrors(t *testing.T) {
	errRun, errShutdown := errors.New("run"), errors.New("shutdown")
	r := newFakeRunner(errRun, errShutdown)
	running := Start(context.Background(), r)
	select {
	case <-running.Exited():
		t.Fatal("Run returned before Stop")
	default:
	}
	type key struct{}
	ctx := context.WithValue(context.Background(), key{}, "v")
	err := running.Stop(ctx)
	assert.ErrorIs(t, err, errRun)
	assert.ErrorIs(t, err, errShutdown)
	assert.Equal(t, "v", (<-r.shutdownCtx).Value(key{}), "Shutdown gets Stop's context")
	<-running.Exited() // closed: Stop waited for Run
}

func TestStartExitedWhenRunReturnsOnItsOwn(t *testing.T) {
	r := newFakeRunner(nil, nil)
	ctx, cancel := context.WithCancel(context.Background())
	running := Start(ctx, r)
	cancel()
	<-running.Exited()
	assert.NoError(t, running.Stop(context.Background()), "nothing failed")
}
