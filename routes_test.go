package snssqs

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The route table: registration, lookup and removal, seen from inside.

func TestRegistrationRules(t *testing.T) {
	s, err := NewSubscriber(discardSQS{})
	require.NoError(t, err)
	defer s.Close()
	nop := func(context.Context, *Message) error { return nil }

	_, err = s.Handle(routeQueueA, "", nop)
	require.ErrorIs(t, err, ErrInvalidOptions)
	_, err = s.Handle("", "t", nop)
	require.ErrorIs(t, err, ErrInvalidOptions)
	_, err = s.Handle(routeQueueA, "t", nil)
	require.ErrorIs(t, err, ErrInvalidOptions)

	r1, err := s.Handle(routeQueueA, "t", nop)
	require.NoError(t, err)
	_, err = s.Handle(routeQueueA, "t", nop)
	require.ErrorIs(t, err, ErrDuplicateHandler)
	_, err = s.Handle(routeQueueB, "t", nop)
	require.NoError(t, err, "the same type on another queue is fine")

	r1.Remove()
	r2, err := s.Handle(routeQueueA, "t", nop)
	require.NoError(t, err, "free again after Remove")
	r1.Remove() // a stale registration must not remove its successor
	assert.NotNil(t, s.routes.Load().lookup(routeQueueA, "t"))
	r2.Remove()
	assert.Nil(t, s.routes.Load().lookup(routeQueueA, "t"))
	_, ok := (*s.routes.Load())[routeQueueA]
	assert.False(t, ok, "a queue without handlers leaves the table")
}

func TestRouteLookupPrefersTypeOverFallback(t *testing.T) {
	s, err := NewSubscriber(discardSQS{})
	require.NoError(t, err)
	defer s.Close()
	var got string
	mk := func(name string) Handler {
		return func(context.Context, *Message) error { got = name; return nil }
	}
	_, err = s.Handle(routeQueueA, "t", mk("typed"))
	require.NoError(t, err)
	fb, err := s.HandleFallback(routeQueueA, mk("fallback"))
	require.NoError(t, err)

	require.NoError(t, s.routes.Load().lookup(routeQueueA, "t")(context.Background(), &Message{}))
	assert.Equal(t, "typed", got)
	require.NoError(t, s.routes.Load().lookup(routeQueueA, "other")(context.Background(), &Message{}))
	assert.Equal(t, "fallback", got)
	assert.Nil(t, s.routes.Load().lookup(routeQueueB, "t"))
	fb.Remove()
	assert.Nil(t, s.routes.Load().lookup(routeQueueA, "other"))
}

func TestHandleFuncDecodeErrorIsMalformed(t *testing.T) {
	s, err := NewSubscriber(discardSQS{})
	require.NoError(t, err)
	defer s.Close()
	_, err = HandleFunc(s, routeQueueA, "t", func(context.Context, cardCreated, *Message) error { return nil })
	require.NoError(t, err)
	h := s.routes.Load().lookup(routeQueueA, "t")
	err = h(context.Background(), &Message{Type: "t", Data: []byte(`[1,2]`)})
	require.ErrorIs(t, err, ErrMalformedMessage)
}

const (
	routeQueueA = "https://sqs.eu-west-1.amazonaws.com/123456789012/orders"
	routeQueueB = "https://sqs.eu-west-1.amazonaws.com/123456789012/audit"
)
