package snssqs_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/snssqs/snssqs"
)

// TestBatchCallsFailInOneShape checks that PublishBatch and SendBatch answer
// a call that fails before any request with one failed Result per entry and
// a *BatchError, as they answer entries that fail one by one.
func TestBatchCallsFailInOneShape(t *testing.T) {
	entries := []snssqs.Entry{{EventType: "a", Event: 1}, {EventType: "b", Event: 2}}
	const topic = "arn:aws:sns:us-east-1:123456789012:t"
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	newPub := func(t *testing.T) *snssqs.Publisher {
		p, err := snssqs.NewPublisher(failingSNS{errors.New("unused")})
		require.NoError(t, err)
		t.Cleanup(func() { _ = p.Close() })
		return p
	}
	closed := newPub(t)
	require.NoError(t, closed.Close())
	qp, err := snssqs.NewQueuePublisher(nopSQSSend{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = qp.Close() })

	cases := []struct {
		name string
		call func() ([]snssqs.Result, error)
		want error
	}{
		{"invalid topic ARN", func() ([]snssqs.Result, error) {
			return newPub(t).PublishBatch(context.Background(), "arn:aws:sqs:x", entries)
		}, snssqs.ErrInvalidARN},
		{"publisher shut down", func() ([]snssqs.Result, error) { return closed.PublishBatch(context.Background(), topic, entries) }, snssqs.ErrClosed},
		{"context ended", func() ([]snssqs.Result, error) { return newPub(t).PublishBatch(canceled, topic, entries) }, context.Canceled},
		{"invalid queue URL", func() ([]snssqs.Result, error) { return qp.SendBatch(context.Background(), "not a url", entries) }, snssqs.ErrInvalidQueueURL},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := tc.call()
			require.Len(t, res, len(entries))
			for _, r := range res {
				assert.ErrorIs(t, r.Err, tc.want)
				assert.Empty(t, r.MessageID)
			}
			var be *snssqs.BatchError
			require.ErrorAs(t, err, &be)
			assert.Equal(t, len(entries), be.Total)
			assert.Len(t, be.Failed, len(entries))
			assert.ErrorIs(t, err, snssqs.ErrBatchFailed)
			assert.ErrorIs(t, err, tc.want)
		})
	}
}

// nopSQSSend is an SQSSendAPI the tests above never reach.
type nopSQSSend struct{}

func (nopSQSSend) SendMessage(context.Context, *sqs.SendMessageInput, ...func(*sqs.Options)) (*sqs.SendMessageOutput, error) {
	return nil, errors.New("nopSQSSend: not reached")
}

func (nopSQSSend) SendMessageBatch(context.Context, *sqs.SendMessageBatchInput, ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	return nil, errors.New("nopSQSSend: not reached")
}
