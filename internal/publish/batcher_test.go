package publish

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/snssqs/snssqs/clock"
	"github.com/snssqs/snssqs/internal/awslimits"
)

var errClosed = fmt.Errorf("closed")

// fakeSender answers every request at once and counts them.
type fakeSender struct {
	mu       sync.Mutex
	requests int
	sent     int
}

func (f *fakeSender) SendOne(_ context.Context, _ string, m *Message) Result {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests++
	f.sent++
	return Result{MessageID: "m-" + m.ID}
}

func (f *fakeSender) SendBatch(_ context.Context, _ string, ms []*Message) ([]Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests++
	f.sent += len(ms)
	out := make([]Result, len(ms))
	for i, m := range ms {
		out[i].MessageID = "m-" + m.ID
	}
	return out, nil
}

func (f *fakeSender) MaxBatchBytes() int { return awslimits.MaxSNSMessageSize }

func newTestBatcher(s Sender, maxInFlight int) *Batcher {
	if maxInFlight == 0 {
		maxInFlight = 8
	}
	log := logrus.New()
	log.SetLevel(logrus.PanicLevel)
	return New(Config{Sender: s, Clock: clock.Real(), Logger: log, MaxInFlight: maxInFlight, ErrClosed: errClosed})
}

func TestCollectSkipsBusyAndOversizedGroups(t *testing.T) {
	b := newTestBatcher(&fakeSender{}, 0)
	defer b.Shutdown(context.Background())
	queue := func(fifo bool, msgs ...string) *topicQueue {
		tq := &topicQueue{fifo: fifo}
		for _, s := range msgs { // "group:size:name"
			parts := strings.Split(s, ":")
			size, _ := strconv.Atoi(parts[1])
			tq.push(&Item{ctx: context.Background(), msg: &Message{GroupID: parts[0], Size: size, ID: parts[2]}})
		}
		return tq
	}
	names := func(batch []*Item) []string {
		var out []string
		for _, qm := range batch {
			out = append(out, qm.msg.ID)
		}
		return out
	}

	tq := queue(true, "A:1:a1", "A:1:a2", "B:1:b1", "A:1:a3", "C:1:c1", "B:1:b2")
	tq.busy = map[string]struct{}{"A": {}}
	batch, full := b.collectLocked(tq)
	assert.Equal(t, []string{"b1", "c1", "b2"}, names(batch), "busy group A is skipped entirely")
	assert.False(t, full)

	tq = queue(true, "A:100000:a1", "B:100000:b1", "A:100000:a2", "A:10:a3", "C:10:c1")
	batch, full = b.collectLocked(tq)
	assert.Equal(t, []string{"a1", "b1", "c1"}, names(batch), "after a2 does not fit, a3 must wait too")
	assert.True(t, full)

	tq = queue(false, ":100000:m1", ":100000:m2", ":100000:m3", ":10:m4")
	batch, full = b.collectLocked(tq)
	assert.Equal(t, []string{"m1", "m2"}, names(batch))
	assert.True(t, full)

	var msgs []string
	for i := 0; i < 12; i++ {
		msgs = append(msgs, fmt.Sprintf(":1:m%d", i))
	}
	batch, full = b.collectLocked(queue(false, msgs...))
	assert.Len(t, batch, 10)
	assert.True(t, full)
}

// Once its sends are done the Batcher forgets every destination and keeps
// only idle senders, at most MaxInFlight of them whatever the number of
// destinations; Shutdown ends them. synctest.Test fails if a goroutine of
// the bubble outlives the test.
func TestForgetsIdleTopicsAndKeepsAtMostMaxInFlightIdleSenders(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeSender{}
		b := newTestBatcher(f, 3)
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Go(func() {
				dest := fmt.Sprintf("topic-%d", i%5)
				for j := range 20 {
					it := NewItem(context.Background(), &Message{ID: strconv.Itoa(i*100 + j), Size: 1})
					require.NoError(t, b.Enqueue(dest, dest, false, []*Item{it}))
					assert.NoError(t, b.Wait(context.Background(), it).Err)
				}
			})
		}
		wg.Wait()
		synctest.Wait() // every sender is done or parked
		b.mu.Lock()
		assert.Empty(t, b.topics, "idle destinations are forgotten")
		b.mu.Unlock()
		assert.Positive(t, b.senders.Idle(), "senders are kept for the next requests")
		assert.LessOrEqual(t, b.senders.Idle(), 3)
		st := b.Stats()
		assert.Equal(t, Stats{Published: 400, Requests: uint64(f.requests)}, st)

		require.NoError(t, b.Shutdown(context.Background()))
		assert.Zero(t, b.senders.Idle(), "Shutdown ends the idle senders")
		err := b.Enqueue("topic-0", "topic-0", false, []*Item{NewItem(context.Background(), &Message{ID: "late"})})
		assert.ErrorIs(t, err, errClosed)
	})
}
