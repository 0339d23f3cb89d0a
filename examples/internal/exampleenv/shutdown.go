package exampleenv

import (
	"context"
	"errors"
	"sync"
	"time"
)

// ShutdownTimeout bounds the graceful stop of an example's publishers and
// subscribers.
const ShutdownTimeout = 10 * time.Second

// Shutdown calls every stop function at once, for example a publisher's
// Shutdown or a Running subscriber's Stop, and returns their errors
// joined. They share a context that keeps ctx's values but not its
// cancellation (run's context is usually over by the time it stops things)
// and ends after ShutdownTimeout. Stopping several subscribers at once lets
// their last long polls end together.
func Shutdown(ctx context.Context, stops ...func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ShutdownTimeout)
	defer cancel()
	errs := make([]error, len(stops))
	var wg sync.WaitGroup
	for i, stop := range stops {
		wg.Go(func() { errs[i] = stop(ctx) })
	}
	wg.Wait()
	return errors.Join(errs...)
}
