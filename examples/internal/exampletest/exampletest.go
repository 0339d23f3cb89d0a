// Package exampletest runs an example program's run function in a test:
// against the embedded emulator, with its log captured, checking that it
// returns promptly and leaves no goroutine behind. It also checks the flags
// every example shares and the log entries of a run.
package exampletest

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"
	"github.com/stretchr/testify/require"

	"github.com/snssqs/snssqs/examples/internal/exampleenv"
)

// leakGrace is how long goroutines that are already ending (HTTP
// connections closed by the emulator's shutdown) get to exit.
const leakGrace = 5 * time.Second

// Run calls run with args plus "-endpoint=" (the embedded emulator, even if
// AWS_ENDPOINT_URL is set), requires it to return nil within maxDuration and
// to leave no goroutine behind, and returns the entries it logged.
func Run(t *testing.T, run exampleenv.RunFunc, maxDuration time.Duration, args ...string) []*logrus.Entry {
	t.Helper()
	before := runtime.NumGoroutine()
	log, hook := logtest.NewNullLogger()
	log.SetLevel(logrus.DebugLevel)

	start := time.Now()
	require.NoError(t, run(context.Background(), append([]string{"-endpoint="}, args...), log))
	require.Less(t, time.Since(start), maxDuration, "the example must exit promptly once done")
	RequireNoLeak(t, before)
	return hook.AllEntries()
}

// RequireNoLeak fails t if, within a grace period, the number of goroutines
// does not drop back to before. It polls with a ticker in this goroutine
// (testify's Eventually would count its own goroutines).
func RequireNoLeak(t *testing.T, before int) {
	t.Helper()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.NewTimer(leakGrace)
	defer deadline.Stop()
	for runtime.NumGoroutine() > before {
		select {
		case <-tick.C:
		case <-deadline.C:
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("%d goroutines before the run, %d after it:\n%s", before, runtime.NumGoroutine(), buf)
		}
	}
}
