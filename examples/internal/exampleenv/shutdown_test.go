package exampleenv

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestShutdownRunsStopsAtOnceAndJoinsErrors(t *testing.T) {
	const n = 3
	started := make(chan struct{}, n)
	all := make(chan struct{})
	errA := errors.New("a")
	stop := func(err error) func(context.Context) error {
		return func(ctx context.Context) error {
			started <- struct{}{}
			select {
			case <-all: // only opens once every stop has started
				return err
			case <-ctx.Done(): // one at a time: the shutdown times out
				return ctx.Err()
			}
		}
	}
	go func() {
		for range n {
			<-started
		}
		close(all)
	}()
	err := Shutdown(context.Background(), stop(errA), stop(nil), stop(nil))
	assert.ErrorIs(t, err, errA)
	assert.NotErrorIs(t, err, context.DeadlineExceeded, "the stops ran at once")
}

func TestShutdownContextOutlivesCanceledParent(t *testing.T) {
	type key struct{}
	parent, cancel := context.WithCancel(context.WithValue(context.Background(), key{}, "v"))
	cancel()
	before := time.Now()
	err := Shutdown(parent, func(ctx context.Context) error {
		assert.NoError(t, ctx.Err(), "a canceled run context does not cancel the shutdown")
		assert.Equal(t, "v", ctx.Value(key{}))
		deadline, ok := ctx.Deadline()
		require.True(t, ok, "the shutdown is bounded")
		assert.WithinDuration(t, before.Add(ShutdownTimeout), deadline, time.Second)
		return nil
	})
	assert.NoError(t, err)
}

func TestShutdownWithoutStops(t *testing.T) {
	assert.NoError(t, Shutdown(context.Background()))
}
