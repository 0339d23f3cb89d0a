package snssqs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/sirupsen/logrus/hooks/test"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/snssqs/snssqs"
)

func TestHandleFuncDecodesData(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		got := make(chan cardCreated, 1)
		_, err := snssqs.HandleFunc(h.s, queueA, "card.created", func(_ context.Context, ev cardCreated, m *snssqs.Message) error {
			assert.Equal(t, "card.created", m.Type)
			got <- ev
			return nil
		})
		require.NoError(t, err)
		good := h.sqs.send(queueA, envelopeBody(t, "card.created", cardCreated{ID: "c1", Amount: 5}))
		bad := h.sqs.send(queueA, envelopeBody(t, "card.created", "not an object"))
		h.start()

		assert.Equal(t, cardCreated{ID: "c1", Amount: 5}, next(t, got))
		h.waitDeleted(receiptOf(good, 1))
		assert.Equal(t, int32(2), h.waitVisibility(receiptOf(bad, 1)), "undecodable data takes the nack path")
		assert.Empty(t, got)

		_, err = snssqs.HandleFunc[cardCreated](h.s, queueA, "x", nil)
		require.ErrorIs(t, err, snssqs.ErrInvalidOptions)
	})
}

func TestChainOrder(t *testing.T) {
	var trace []string
	mw := func(name string) snssqs.Middleware {
		return func(next snssqs.Handler) snssqs.Handler {
			return func(ctx context.Context, m *snssqs.Message) error {
				trace = append(trace, name+">")
				err := next(ctx, m)
				trace = append(trace, "<"+name)
				return err
			}
		}
	}
	h := snssqs.Chain(func(context.Context, *snssqs.Message) error { trace = append(trace, "h"); return nil }, mw("a"), mw("b"))
	require.NoError(t, h(context.Background(), &snssqs.Message{}))
	assert.Equal(t, []string{"a>", "b>", "h", "<b", "<a"}, trace)
}

func TestRecoverMiddleware(t *testing.T) {
	logger, hook := test.NewNullLogger()
	h := snssqs.Recover(logger)(func(context.Context, *snssqs.Message) error { panic(errors.New("bad state")) })
	err := h(context.Background(), &snssqs.Message{QueueURL: queueA, SQSMessageID: "m1", Type: "t"})
	require.ErrorIs(t, err, snssqs.ErrHandlerPanic)
	assert.Contains(t, err.Error(), "bad state")
	e := hook.LastEntry()
	require.NotNil(t, e)
	assert.Equal(t, logrus.ErrorLevel, e.Level)
	assert.Equal(t, "m1", e.Data["sqs_message_id"])
	assert.Equal(t, queueA, e.Data["queue"])
	assert.NotEmpty(t, e.Data["stack"])

	ok := snssqs.Recover(logger)(func(context.Context, *snssqs.Message) error { return nil })
	require.NoError(t, ok(context.Background(), &snssqs.Message{}))
}

func TestLoggingMiddleware(t *testing.T) {
	m := &snssqs.Message{QueueURL: queueA, SQSMessageID: "m1", Type: "t", ReceiveCount: 2, Data: []byte(`{"secret":"s3cr3t"}`)}
	run := func(level logrus.Level, result error) string {
		var buf bytes.Buffer
		logger := logrus.New()
		logger.SetOutput(&buf)
		logger.SetFormatter(&logrus.JSONFormatter{})
		logger.SetLevel(level)
		err := snssqs.Logging(logger)(func(context.Context, *snssqs.Message) error { return result })(context.Background(), m)
		assert.Equal(t, result, err)
		return buf.String()
	}

	out := run(logrus.InfoLevel, nil)
	assert.NotContains(t, out, "s3cr3t", "no body above Debug")
	var entry map[string]any
	require.NoError(t, json.Unmarshal([]byte(strings.TrimSpace(out)), &entry))
	assert.Equal(t, "snssqs: handled message", entry["msg"])
	assert.Equal(t, "t", entry["type"])
	assert.Equal(t, "m1", entry["sqs_message_id"])
	assert.Equal(t, float64(2), entry["receive_count"])
	assert.Contains(t, entry, "duration")

	out = run(logrus.InfoLevel, errors.New("nope"))
	assert.Contains(t, out, `"level":"warning"`)
	assert.Contains(t, out, "nope")

	out = run(logrus.DebugLevel, nil)
	assert.Contains(t, out, "s3cr3t", "body at Debug")
}

func TestTimeoutMiddleware(t *testing.T) {
	h := snssqs.Timeout(time.Nanosecond)(func(ctx context.Context, _ *snssqs.Message) error {
		<-ctx.Done()
		return ctx.Err()
	})
	require.ErrorIs(t, h(context.Background(), &snssqs.Message{}), context.DeadlineExceeded)
}
