package snssqs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/sirupsen/logrus/hooks/test"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRegistrationRules(t *testing.T) {
	s, err := NewSubscriber(newFakeSQS())
	require.NoError(t, err)
	defer s.Close()
	nop := func(context.Context, *Message) error { return nil }

	_, err = s.Handle(queueA, "", nop)
	require.ErrorIs(t, err, ErrInvalidOptions)
	_, err = s.Handle("", "t", nop)
	require.ErrorIs(t, err, ErrInvalidOptions)
	_, err = s.Handle(queueA, "t", nil)
	require.ErrorIs(t, err, ErrInvalidOptions)

	r1, err := s.Handle(queueA, "t", nop)
	require.NoError(t, err)
	_, err = s.Handle(queueA, "t", nop)
	require.ErrorIs(t, err, ErrDuplicateHandler)
	_, err = s.Handle(queueB, "t", nop)
	require.NoError(t, err, "the same type on another queue is fine")

	r1.Remove()
	r2, err := s.Handle(queueA, "t", nop)
	require.NoError(t, err, "free again after Remove")
	r1.Remove() // a stale registration must not remove its successor
	assert.NotNil(t, s.routes.Load().lookup(queueA, "t"))
	r2.Remove()
	assert.Nil(t, s.routes.Load().lookup(queueA, "t"))
	_, ok := (*s.routes.Load())[queueA]
	assert.False(t, ok, "a queue without handlers leaves the table")
}

func TestRouteLookupPrefersTypeOverFallback(t *testing.T) {
	s, err := NewSubscriber(newFakeSQS())
	require.NoError(t, err)
	defer s.Close()
	var got string
	mk := func(name string) Handler {
		return func(context.Context, *Message) error { got = name; return nil }
	}
	_, err = s.Handle(queueA, "t", mk("typed"))
	require.NoError(t, err)
	fb, err := s.HandleFallback(queueA, mk("fallback"))
	require.NoError(t, err)

	require.NoError(t, s.routes.Load().lookup(queueA, "t")(context.Background(), &Message{}))
	assert.Equal(t, "typed", got)
	require.NoError(t, s.routes.Load().lookup(queueA, "other")(context.Background(), &Message{}))
	assert.Equal(t, "fallback", got)
	assert.Nil(t, s.routes.Load().lookup(queueB, "t"))
	fb.Remove()
	assert.Nil(t, s.routes.Load().lookup(queueA, "other"))
}

type cardCreated struct {
	ID     string `json:"id"`
	Amount int    `json:"amount"`
}

func TestHandleFuncDecodesData(t *testing.T) {
	h := newHarness(t)
	got := make(chan cardCreated, 1)
	_, err := HandleFunc(h.s, queueA, "card.created", func(_ context.Context, ev cardCreated, m *Message) error {
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

	_, err = HandleFunc[cardCreated](h.s, queueA, "x", nil)
	require.ErrorIs(t, err, ErrInvalidOptions)
}

func TestHandleFuncDecodeErrorIsMalformed(t *testing.T) {
	s, err := NewSubscriber(newFakeSQS())
	require.NoError(t, err)
	defer s.Close()
	_, err = HandleFunc(s, queueA, "t", func(context.Context, cardCreated, *Message) error { return nil })
	require.NoError(t, err)
	h := s.routes.Load().lookup(queueA, "t")
	err = h(context.Background(), &Message{Type: "t", Data: []byte(`[1,2]`)})
	require.ErrorIs(t, err, ErrMalformedMessage)
}

func TestChainOrder(t *testing.T) {
	var trace []string
	mw := func(name string) Middleware {
		return func(next Handler) Handler {
			return func(ctx context.Context, m *Message) error {
				trace = append(trace, name+">")
				err := next(ctx, m)
				trace = append(trace, "<"+name)
				return err
			}
		}
	}
	h := Chain(func(context.Context, *Message) error { trace = append(trace, "h"); return nil }, mw("a"), mw("b"))
	require.NoError(t, h(context.Background(), &Message{}))
	assert.Equal(t, []string{"a>", "b>", "h", "<b", "<a"}, trace)
}

func TestRecoverMiddleware(t *testing.T) {
	logger, hook := test.NewNullLogger()
	h := Recover(logger)(func(context.Context, *Message) error { panic(errors.New("bad state")) })
	err := h(context.Background(), &Message{QueueURL: queueA, SQSMessageID: "m1", Type: "t"})
	require.ErrorIs(t, err, ErrHandlerPanic)
	assert.Contains(t, err.Error(), "bad state")
	e := hook.LastEntry()
	require.NotNil(t, e)
	assert.Equal(t, logrus.ErrorLevel, e.Level)
	assert.Equal(t, "m1", e.Data["sqs_message_id"])
	assert.Equal(t, queueA, e.Data["queue"])
	assert.NotEmpty(t, e.Data["stack"])

	ok := Recover(logger)(func(context.Context, *Message) error { return nil })
	require.NoError(t, ok(context.Background(), &Message{}))
}

func TestLoggingMiddleware(t *testing.T) {
	m := &Message{QueueURL: queueA, SQSMessageID: "m1", Type: "t", ReceiveCount: 2, Data: []byte(`{"secret":"s3cr3t"}`)}
	run := func(level logrus.Level, result error) string {
		var buf bytes.Buffer
		logger := logrus.New()
		logger.SetOutput(&buf)
		logger.SetFormatter(&logrus.JSONFormatter{})
		logger.SetLevel(level)
		err := Logging(logger)(func(context.Context, *Message) error { return result })(context.Background(), m)
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
	h := Timeout(time.Nanosecond)(func(ctx context.Context, _ *Message) error {
		<-ctx.Done()
		return ctx.Err()
	})
	require.ErrorIs(t, h(context.Background(), &Message{}), context.DeadlineExceeded)
}
