package consume

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/stretchr/testify/assert"
)

// TestStopReleasesOnlyAfterEveryReceiveReturned: a message that a long poll
// brings after Stop is held while another receive of the engine is still in
// progress, and released only once it has returned, so that the engine
// cannot receive it again (and burn a second receive count) on its way out.
func TestStopReleasesOnlyAfterEveryReceiveReturned(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newScriptedSQS()
		handled := make(chan string, 1)
		e := New(testConfig(f, "https://sqs.test/q", func(_ context.Context, d *Delivery) Outcome {
			handled <- d.ID()
			return Delete
		}))
		e.flow.receivers = 2 // two long polls in progress at the stop
		stop := running(t, e)
		f.waitFor(t, "two long polls", func() bool { return len(f.pending) == 2 })

		_ = stop
		stopped := make(chan struct{})
		go func() {
			defer close(stopped)
			e.Stop()
		}()
		<-e.stopCh
		f.answer(t, message("late", "")) // the first poll brings a message after the stop
		synctest.Wait()
		assert.Equal(t, uint64(1), e.Stats().Received, "the message is held")
		f.with(func() { assert.Empty(t, f.vis, "not released while the other poll may still receive") })

		f.answer(t) // the other poll reaches its wait time, empty
		<-stopped
		stop()
		f.with(func() {
			assert.Len(t, f.vis, 1, "released once every receive returned")
			assert.Equal(t, "rh-late", aws.ToString(f.vis[0].ReceiptHandle))
			assert.Zero(t, f.vis[0].VisibilityTimeout)
			assert.Equal(t, 2, f.receives, "no receive after Stop")
		})
		assert.Empty(t, handled, "not handled after Stop")
		st := e.Stats()
		assert.Equal(t, uint64(1), st.Released)
		assert.Zero(t, st.InFlight)
	})
}

// TestFIFOGroupInOrderAcrossReceives: on a FIFO queue a group's message
// from a second receive waits until the message of the first receive is
// done, however the receives interleave.
func TestFIFOGroupInOrderAcrossReceives(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newScriptedSQS()
		var mu sync.Mutex
		var order []string
		firstStarted, releaseFirst := make(chan struct{}), make(chan struct{})
		e := New(testConfig(f, "https://sqs.test/q.fifo", func(_ context.Context, d *Delivery) Outcome {
			mu.Lock()
			order = append(order, d.ID())
			mu.Unlock()
			if d.ID() == "g1" {
				close(firstStarted)
				<-releaseFirst
			}
			return Delete
		}))
		e.flow.receivers = 2
		running(t, e)
		f.answer(t, message("g1", "g"))
		<-firstStarted
		f.answer(t, message("g2", "g"), message("other", "h"))
		f.waitFor(t, "the other group's message", func() bool { return len(f.deleted) == 1 })
		mu.Lock()
		assert.Equal(t, []string{"g1", "other"}, order, "g2 waits behind g1, another group does not")
		mu.Unlock()
		close(releaseFirst)
		f.waitFor(t, "three deletes", func() bool { return len(f.deleted) == 3 })
		mu.Lock()
		assert.Equal(t, []string{"g1", "other", "g2"}, order)
		mu.Unlock()
	})
}

// TestFIFOFailureReleasesGroupsLaterMessages: when a FIFO message fails, the
// messages of its group received after it are released, unhandled, so that
// they come back behind it.
func TestFIFOFailureReleasesGroupsLaterMessages(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newScriptedSQS()
		e := New(testConfig(f, "https://sqs.test/q.fifo", func(_ context.Context, d *Delivery) Outcome {
			if d.ID() == "g1" {
				return Retry
			}
			return Delete
		}))
		running(t, e)
		f.answer(t, message("g1", "g"), message("g2", "g"), message("g3", "g"))
		f.waitFor(t, "the nack and two releases", func() bool { return len(f.vis) == 3 })
		f.with(func() {
			byReceipt := map[string]int32{}
			for _, v := range f.vis {
				byReceipt[aws.ToString(v.ReceiptHandle)] = v.VisibilityTimeout
			}
			assert.Equal(t, map[string]int32{"rh-g1": 2, "rh-g2": 0, "rh-g3": 0}, byReceipt)
			assert.Empty(t, f.deleted)
		})
		st := e.Stats()
		assert.Equal(t, uint64(1), st.Nacked)
		assert.Equal(t, uint64(2), st.Released)
	})
}

// TestStandardQueueGroupsAreNotSerialized: a MessageGroupId on a standard
// queue (a fair queue) does not order anything.
func TestStandardQueueGroupsAreNotSerialized(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newScriptedSQS()
		started := make(chan struct{}, 3)
		release := make(chan struct{})
		e := New(testConfig(f, "https://sqs.test/q", func(context.Context, *Delivery) Outcome {
			started <- struct{}{}
			<-release
			return Delete
		}))
		running(t, e)
		f.answer(t, message("a", "t"), message("b", "t"), message("c", "t"))
		for range 3 {
			<-started
		}
		close(release)
		f.waitFor(t, "three deletes", func() bool { return len(f.deleted) == 3 })
	})
}
