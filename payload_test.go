package snssqs_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/snssqs/snssqs"
	"github.com/snssqs/snssqs/provision"
	"github.com/snssqs/snssqs/snssqstest"
)

// memStore is an in-memory PayloadStore; failGets fails that many Gets.
type memStore struct {
	mu       sync.Mutex
	objects  map[string][]byte
	n        int
	failGets int
	gets     int
}

func newMemStore() *memStore { return &memStore{objects: map[string][]byte{}} }

func (s *memStore) Put(_ context.Context, payload []byte) (snssqs.PayloadPointer, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	key := fmt.Sprintf("payload-%d", s.n)
	s.objects[key] = append([]byte(nil), payload...)
	return snssqs.PayloadPointer{Bucket: "mem", Key: key}, nil
}

func (s *memStore) Get(_ context.Context, p snssqs.PayloadPointer) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gets++
	if s.failGets > 0 {
		s.failGets--
		return nil, errors.New("store unavailable")
	}
	b, ok := s.objects[p.Key]
	if !ok {
		return nil, fmt.Errorf("no object %s", p.Key)
	}
	return b, nil
}

func (s *memStore) Delete(_ context.Context, p snssqs.PayloadPointer) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.objects, p.Key)
	return nil
}

func (s *memStore) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.objects)
}

// The pointer as the Java Extended Client Libraries write it (their
// documentation and payload-offloading-java-common's PayloadS3Pointer).
const javaPointer = `["software.amazon.payloadoffloading.PayloadS3Pointer",{"s3BucketName":"extended-client-bucket","s3Key":"3f8c3d2b-9a8e-4d36-8c1e-5b8d2f0c9e11"}]`

func TestPayloadPointerInterop(t *testing.T) {
	p, ok, err := snssqs.ParsePayloadPointer([]byte(javaPointer))
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, snssqs.PayloadPointer{Bucket: "extended-client-bucket", Key: "3f8c3d2b-9a8e-4d36-8c1e-5b8d2f0c9e11"}, p)
	assert.Equal(t, javaPointer, p.Body(), "a pointer we write is byte for byte the Java client's")

	for _, notPointer := range []string{``, `{"specversion":"1.0"}`, `["x",{}]`, `[1,2,3]`, `["software.amazon.payloadoffloading.PayloadS3Pointer"]`} {
		_, ok, err := snssqs.ParsePayloadPointer([]byte(notPointer))
		assert.False(t, ok, notPointer)
		assert.NoError(t, err, notPointer)
	}
	_, ok, err = snssqs.ParsePayloadPointer([]byte(`["software.amazon.payloadoffloading.PayloadS3Pointer",{"s3BucketName":""}]`))
	assert.True(t, ok)
	assert.ErrorIs(t, err, snssqs.ErrMalformedMessage)

	// A pointer message read without a PayloadStore is malformed, with the
	// pointer kept in Data.
	m, err := snssqs.DecodeSQSMessage("q", sqstypes.Message{Body: aws.String(javaPointer)})
	assert.ErrorIs(t, err, snssqs.ErrMalformedMessage)
	assert.Equal(t, javaPointer, string(m.Data))
}

// An event over the threshold goes to the store; its message carries the
// pointer and ExtendedPayloadSize; the Subscriber fetches it (retrying a
// failed fetch like a handler error) and deletes it once the message is
// deleted. A small event is sent as it is.
func TestPayloadOffloadEndToEnd(t *testing.T) {
	srv := snssqstest.Run(t)
	cfg := srv.AWSConfig()
	client := sqs.NewFromConfig(cfg)
	ctx := context.Background()
	q, err := provision.ApplyQueue(ctx, client, provision.QueueSpec{Name: "big"})
	require.NoError(t, err)
	store := newMemStore()
	pub, err := snssqs.NewQueuePublisher(client, func(o *snssqs.PublisherOptions) {
		o.PayloadStore = store
		o.PayloadThreshold = 4096
	})
	require.NoError(t, err)
	defer pub.Close()

	big := strings.Repeat("x", 64<<10)
	_, err = pub.Send(ctx, q.URL, "doc.stored", map[string]string{"text": big})
	require.NoError(t, err)
	_, err = pub.Send(ctx, q.URL, "doc.stored", map[string]string{"text": "small"})
	require.NoError(t, err)
	require.Equal(t, 1, store.len(), "only the big event was offloaded")

	// On the wire: the pointer and its size attribute.
	var onWire []string
	for _, m := range srv.Messages("big") {
		onWire = append(onWire, m.Body)
		if strings.HasPrefix(m.Body, "[") {
			assert.Equal(t, "Number", m.Attributes[snssqs.ExtendedPayloadSizeAttribute].DataType)
			assert.Greater(t, len(m.Body), 10)
			assert.Less(t, len(m.Body), 200, "the message carries the pointer, not the payload")
		}
	}
	require.Len(t, onWire, 2)

	store.mu.Lock()
	store.failGets = 1 // the first fetch fails: the message must come back
	store.mu.Unlock()
	got := make(chan string, 4)
	sub, err := snssqs.NewSubscriber(client, func(o *snssqs.SubscriberOptions) {
		o.PayloadStore = store
		o.WaitTime = time.Second
		o.BackoffMin, o.BackoffMax = time.Second, time.Second
	})
	require.NoError(t, err)
	_, err = snssqs.HandleFunc(sub, q.URL, "doc.stored", func(_ context.Context, ev map[string]string, m *snssqs.Message) error {
		assert.NotContains(t, m.Attributes, snssqs.ExtendedPayloadSizeAttribute, "the handler sees the payload's attributes")
		got <- ev["text"]
		return nil
	})
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- sub.Run(ctx) }()
	texts := map[string]bool{}
	for range 2 {
		select {
		case text := <-got:
			texts[text] = true
		case <-time.After(20 * time.Second):
			t.Fatal("events not handled")
		}
	}
	assert.True(t, texts[big], "the big event arrived whole")
	assert.True(t, texts["small"])
	require.NoError(t, sub.Close())
	require.NoError(t, <-done)
	assert.Zero(t, store.len(), "the payload is deleted once its message is")
	store.mu.Lock()
	assert.Equal(t, 2, store.gets, "one failed fetch, retried once")
	store.mu.Unlock()
}

func TestPayloadOffloadLimits(t *testing.T) {
	store := newMemStore()
	_, err := snssqs.NewQueuePublisher(&sqs.Client{}, func(o *snssqs.PublisherOptions) {
		o.PayloadStore = store
		o.MaxMessageSize = 2048
		o.PayloadThreshold = 4096
	})
	assert.ErrorIs(t, err, snssqs.ErrInvalidOptions, "the threshold is within MaxMessageSize")

	srv := snssqstest.Run(t)
	client := sqs.NewFromConfig(srv.AWSConfig())
	q, err := provision.ApplyQueue(context.Background(), client, provision.QueueSpec{Name: "attrs"})
	require.NoError(t, err)
	pub, err := snssqs.NewQueuePublisher(client, func(o *snssqs.PublisherOptions) {
		o.PayloadStore = store
		o.PayloadThreshold = 1024
	})
	require.NoError(t, err)
	defer pub.Close()
	var opts []snssqs.PublishOption
	for i := range 9 { // with ce_type, the 10 SQS allows: no room for ExtendedPayloadSize
		opts = append(opts, snssqs.WithAttribute(fmt.Sprint("a", i), snssqs.StringAttribute("v")))
	}
	_, err = pub.Send(context.Background(), q.URL, "doc", strings.Repeat("y", 2048), opts...)
	assert.ErrorIs(t, err, snssqs.ErrInvalidAttribute)
	assert.Zero(t, store.len(), "nothing stored for a message that cannot be sent")
}
