package conformance

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/snssqs/snssqs"
	"github.com/snssqs/snssqs/provision"
)

func libraryShutdownScenarios() []Scenario {
	return []Scenario{
		{Name: "Library/ShutdownWithoutLoss", Run: libraryShutdownWithoutLoss},
	}
}

// typeJob is the event type of the shutdown scenario.
const typeJob = "job.queued"

// job is the shutdown scenario's event.
type job struct {
	N int `json:"n"`
}

// jobLedger counts, per job, the handler runs that started and those that
// completed, across subscribers.
type jobLedger struct {
	mu        sync.Mutex
	started   map[int]int
	completed map[int]int
}

func newJobLedger() *jobLedger {
	return &jobLedger{started: map[int]int{}, completed: map[int]int{}}
}

// handler returns a handler that takes work to handle a job and records it
// in the ledger and in rec.
func (l *jobLedger) handler(name string, work time.Duration, rec *Recorder) func(context.Context, job, *snssqs.Message) error {
	return func(ctx context.Context, j job, m *snssqs.Message) error {
		l.mu.Lock()
		l.started[j.N]++
		l.mu.Unlock()
		timer := time.NewTimer(work)
		defer timer.Stop()
		select {
		case <-timer.C:
		case <-ctx.Done():
			return ctx.Err()
		}
		l.mu.Lock()
		l.completed[j.N]++
		l.mu.Unlock()
		rec.Record(name, m, j)
		return nil
	}
}

// duplicates returns the jobs whose handler started more than once.
func (l *jobLedger) duplicates() map[int]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	d := map[int]int{}
	for n, c := range l.started {
		if c > 1 {
			d[n] = c
		}
	}
	return d
}

// A subscriber shut down while working through a backlog loses nothing:
// handlers running finish and their messages are deleted, messages received
// but not started are released, and a second subscriber handles every job
// the first did not. Duplicates (AWS allows them on standard queues) would
// mean a completed job was not deleted or a released one was also handled;
// with the deletes flushed at shutdown there are none on snssqstest. On
// other targets they are reported, not failed.
func libraryShutdownWithoutLoss(t *testing.T, e *Env) {
	const (
		jobs = 50
		work = 150 * time.Millisecond
	)
	ctx := e.Context(t)
	topo, q := provisionQueue(t, e, e.Name("lib-shut"), provision.QueueSpec{RawMessageDelivery: true})

	entries := make([]snssqs.Entry, jobs)
	for i := range entries {
		entries[i] = snssqs.Entry{EventType: typeJob, Event: job{N: i}}
	}
	results, err := e.NewLibraryPublisher(t).PublishBatch(ctx, topo.TopicARN, entries)
	require.NoError(t, err, "PublishBatch")
	require.Len(t, results, jobs)
	for i, r := range results {
		require.NoError(t, r.Err, "entry %d", i)
		require.NotEmpty(t, r.MessageID, "entry %d", i)
	}

	ledger := newJobLedger()
	first, second := NewRecorder(), NewRecorder()
	opts := func(o *snssqs.SubscriberOptions) {
		o.Concurrency = 5
		o.MaxMessages = 5
	}
	sub1 := startHandling(t, e, q.URL, typeJob, ledger.handler("first", work, first), opts)
	first.AwaitN(ctx, t, "the first subscriber completed some jobs", 10)
	sub1.Stop() // mid-way: the backlog is far from done
	doneByFirst := first.Len()
	t.Logf("first subscriber completed %d of %d jobs before its shutdown returned", doneByFirst, jobs)
	require.Less(t, doneByFirst, jobs, "shutdown happened mid-way")

	sub2 := startHandling(t, e, q.URL, typeJob, ledger.handler("second", work, second), opts)
	handled := func() map[int]bool {
		seen := map[int]bool{}
		for _, h := range append(first.All(), second.All()...) {
			seen[h.Event.(job).N] = true
		}
		return seen
	}
	second.Await(ctx, t, "every job handled by one subscriber or the other", func([]Handled) bool { return len(handled()) == jobs })
	e.QueueDrained(t, q.URL)
	sub2.Stop()

	assert.Len(t, handled(), jobs, "every job was handled")
	firstJobs := map[int]bool{}
	for _, h := range first.All() {
		firstJobs[h.Event.(job).N] = true
	}
	var redone []int
	for _, h := range second.All() {
		if n := h.Event.(job).N; firstJobs[n] {
			redone = append(redone, n)
		}
	}
	dups := ledger.duplicates()
	t.Logf("duplicate handler runs: %d job(s) %v; completed by the first subscriber and redelivered: %v", len(dups), dups, redone)
	if e.Target == TargetSNSSQSTest {
		assert.Empty(t, dups, "no job handled twice")
		assert.Empty(t, redone, "no job completed before the shutdown was redelivered")
	}
	ledger.mu.Lock()
	defer ledger.mu.Unlock()
	for n := range jobs {
		assert.GreaterOrEqual(t, ledger.completed[n], 1, "job %d completed", n)
		assert.Equal(t, ledger.started[n], ledger.completed[n], "job %d: every handler run that started completed (none abandoned)", n)
	}
}
