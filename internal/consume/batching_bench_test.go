package consume

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/snssqs/snssqs/clock"
	"github.com/snssqs/snssqs/internal/awslimits"
	"github.com/snssqs/snssqs/internal/publish"
)

// BenchmarkAckBatching weighs the one batching mechanism issue 12 asks
// about: deletes through the ack batcher (a flush interval, fire and
// forget) against deletes through the publish engine's Batcher (group
// commit, a result per message, which an ack must wait for in a goroutine
// of its own so that its worker moves on). Both send to a stand-in whose
// batch call takes rtt; the figures are per delete.
func BenchmarkAckBatching(b *testing.B) {
	for _, rtt := range []time.Duration{0, time.Millisecond} {
		b.Run("ack-batcher/rtt="+rtt.String(), func(b *testing.B) {
			var calls atomic.Int64
			send := func(context.Context, []ackEntry) ([]entryFailure, error) {
				calls.Add(1)
				time.Sleep(rtt)
				return nil, nil
			}
			var done sync.WaitGroup
			ab := newAckBatcher(context.Background(), OpDelete, queueA, send, clock.Real(), 50*time.Millisecond, 3, func(*AckError) {})
			ab.start()
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					done.Add(1)
					ab.add(ackEntry{messageID: "m", receipt: "rh" + strconv.Itoa(i), done: done.Done})
					i++
				}
			})
			ab.close()
			done.Wait()
			b.ReportMetric(float64(calls.Load())/float64(b.N), "calls/delete")
		})
		b.Run("publish-batcher/rtt="+rtt.String(), func(b *testing.B) {
			s := &countingSender{rtt: rtt}
			log := logrus.New()
			log.SetLevel(logrus.PanicLevel)
			pb := publish.New(publish.Config{Sender: s, Clock: clock.Real(), Logger: log, MaxInFlight: ackSendsInFlight, ErrClosed: context.Canceled})
			var waiters sync.WaitGroup
			b.ReportAllocs()
			b.RunParallel(func(p *testing.PB) {
				for p.Next() {
					it := publish.NewItem(context.Background(), &publish.Message{Body: "rh", Size: 64})
					if err := pb.Enqueue(queueA, "orders", false, []*publish.Item{it}); err != nil {
						b.Error(err)
						return
					}
					waiters.Add(1)
					go func() { // the ack's done callback runs once its result is in
						defer waiters.Done()
						_ = pb.Wait(context.Background(), it)
					}()
				}
			})
			waiters.Wait()
			_ = pb.Shutdown(context.Background())
			b.ReportMetric(float64(s.calls.Load())/float64(b.N), "calls/delete")
		})
	}
}

// countingSender is a publish.Sender whose calls take rtt.
type countingSender struct {
	rtt   time.Duration
	calls atomic.Int64
}

func (s *countingSender) SendOne(context.Context, string, *publish.Message) publish.Result {
	s.calls.Add(1)
	time.Sleep(s.rtt)
	return publish.Result{MessageID: "m"}
}

func (s *countingSender) SendBatch(_ context.Context, _ string, ms []*publish.Message) ([]publish.Result, error) {
	s.calls.Add(1)
	time.Sleep(s.rtt)
	return make([]publish.Result, len(ms)), nil
}

func (s *countingSender) MaxBatchBytes() int { return awslimits.MaxSQSMessageSize }
