package s3offload_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/snssqs/snssqs"
	"github.com/snssqs/snssqs/provision"
	"github.com/snssqs/snssqs/s3offload"
	"github.com/snssqs/snssqs/s3offload/s3offloadtest"
	"github.com/snssqs/snssqs/snssqstest"
)

func newStandIn(t *testing.T) *s3offloadtest.Server {
	s, err := s3offloadtest.NewServer()
	require.NoError(t, err)
	t.Cleanup(s.Close)
	return s
}

func TestStorePutGetDelete(t *testing.T) {
	stub := newStandIn(t)
	ctx := context.Background()
	store, err := s3offload.New(stub.Client(), "payloads", func(o *s3offload.Options) {
		o.KeyPrefix = "big/"
		o.NewKey = func() string { return "k1" }
	})
	require.NoError(t, err)
	p, err := store.Put(ctx, []byte("a large payload"))
	require.NoError(t, err)
	assert.Equal(t, snssqs.PayloadPointer{Bucket: "payloads", Key: "big/k1"}, p)
	got, err := store.Get(ctx, p)
	require.NoError(t, err)
	assert.Equal(t, "a large payload", string(got))
	require.NoError(t, store.Delete(ctx, p))
	assert.Zero(t, stub.Objects())

	_, err = store.Get(ctx, p)
	var noKey *types.NoSuchKey
	assert.True(t, errors.As(err, &noKey), "the S3 error stays reachable: %v", err)

	keep, err := s3offload.New(stub.Client(), "payloads", func(o *s3offload.Options) { o.KeepObjects = true; o.MaxPayloadSize = 4 })
	require.NoError(t, err)
	p, err = keep.Put(ctx, []byte("kept"))
	require.NoError(t, err)
	require.NoError(t, keep.Delete(ctx, p))
	assert.Equal(t, 1, stub.Objects(), "KeepObjects leaves the object")
	p2, err := keep.Put(ctx, []byte("too big"))
	require.NoError(t, err)
	_, err = keep.Get(ctx, p2)
	assert.ErrorIs(t, err, s3offload.ErrPayloadTooLarge)

	for _, bad := range []func() (*s3offload.Store, error){
		func() (*s3offload.Store, error) { return s3offload.New(nil, "b") },
		func() (*s3offload.Store, error) { return s3offload.New(stub.Client(), "") },
		func() (*s3offload.Store, error) {
			return s3offload.New(stub.Client(), "b", func(o *s3offload.Options) { o.MaxPayloadSize = -1 })
		},
	} {
		_, err := bad()
		assert.ErrorIs(t, err, snssqs.ErrInvalidOptions)
	}
}

// offloadRoundTrip sends a 300 KiB event (over SNS's limit, so over the
// threshold below) and a small one through a QueuePublisher with store, and
// checks that a Subscriber with store handles both whole and that the
// object is gone once its message is deleted.
func offloadRoundTrip(t *testing.T, sqsClient *sqs.Client, store *s3offload.Store, objects func() int) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	q, err := provision.ApplyQueue(ctx, sqsClient, provision.QueueSpec{Name: "offload-" + time.Now().Format("150405.000000")[7:]})
	require.NoError(t, err)
	pub, err := snssqs.NewQueuePublisher(sqsClient, func(o *snssqs.PublisherOptions) {
		o.PayloadStore = store
		o.PayloadThreshold = snssqs.MaxSNSMessageSize // as an SNS topic would need
	})
	require.NoError(t, err)
	defer pub.Close()
	big := strings.Repeat("z", 300<<10)
	_, err = pub.Send(ctx, q.URL, "doc.stored", map[string]string{"text": big})
	require.NoError(t, err)
	_, err = pub.Send(ctx, q.URL, "doc.stored", map[string]string{"text": "small"})
	require.NoError(t, err)
	assert.Equal(t, 1, objects(), "the big payload is in S3")

	got := make(chan string, 2)
	sub, err := snssqs.NewSubscriber(sqsClient, func(o *snssqs.SubscriberOptions) {
		o.PayloadStore = store
		o.WaitTime = time.Second
	})
	require.NoError(t, err)
	_, err = snssqs.HandleFunc(sub, q.URL, "doc.stored", func(_ context.Context, ev map[string]string, _ *snssqs.Message) error {
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
		case <-ctx.Done():
			t.Fatal("events not handled")
		}
	}
	require.NoError(t, sub.Close())
	require.NoError(t, <-done)
	assert.True(t, texts[big], "the big event arrived whole")
	assert.True(t, texts["small"])
	assert.Zero(t, objects(), "the object is deleted with its message")
}

func TestOffloadWithEmulatorAndS3StandIn(t *testing.T) {
	stub := newStandIn(t)
	srv := snssqstest.Run(t)
	store, err := s3offload.New(stub.Client(), "payloads")
	require.NoError(t, err)
	offloadRoundTrip(t, sqs.NewFromConfig(srv.AWSConfig()), store, stub.Objects)
}

// TestOffloadOnMoto runs the round trip against moto's SQS and S3 (with the
// SDK's default checksums), when SNSSQS_TEST_ENDPOINT names a moto server
// (.ci/run starts one).
func TestOffloadOnMoto(t *testing.T) {
	endpoint := os.Getenv("SNSSQS_TEST_ENDPOINT")
	if endpoint == "" || os.Getenv("SNSSQS_TEST_TARGET") != "moto" {
		t.Skip("set SNSSQS_TEST_ENDPOINT and SNSSQS_TEST_TARGET=moto to run against moto")
	}
	ctx := context.Background()
	client := s3.New(s3.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(endpoint), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
	bucket := "snssqs-offload-" + strings.ToLower(time.Now().Format("150405.000"))[7:]
	_, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)})
	require.NoError(t, err)
	store, err := s3offload.New(client, bucket)
	require.NoError(t, err)
	objects := func() int {
		out, err := client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
		require.NoError(t, err)
		return len(out.Contents)
	}
	sqsClient := sqs.New(sqs.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
	offloadRoundTrip(t, sqsClient, store, objects)
}
