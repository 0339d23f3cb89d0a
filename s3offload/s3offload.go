// Package s3offload stores message payloads too large for SNS (256 KiB) or
// SQS (1 MiB) in Amazon S3, as the AWS Extended Client Libraries for Java
// and Python do: the message carries a pointer to the object,
//
//	["software.amazon.payloadoffloading.PayloadS3Pointer",{"s3BucketName":"…","s3Key":"…"}]
//
// with the payload's size in the ExtendedPayloadSize message attribute, so
// a Java or Python service using those libraries reads the messages an
// snssqs Publisher or QueuePublisher sends through a Store, and a Subscriber
// with a Store reads theirs.
//
//	store, err := s3offload.New(s3.NewFromConfig(cfg), "my-payloads-bucket")
//	pub, err := snssqs.NewPublisher(snsClient, func(o *snssqs.PublisherOptions) { o.PayloadStore = store })
//	sub, err := snssqs.NewSubscriber(sqsClient, func(o *snssqs.SubscriberOptions) { o.PayloadStore = store })
//
// The Subscriber deletes each object once SQS has confirmed the deletion of
// the message pointing to it (Options.KeepObjects keeps them, e.g. when
// several queues receive the same SNS message: then expire them with an S3
// lifecycle rule instead). It is a nested module, so only programs that
// import it download the S3 client.
package s3offload

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/uuid"

	"github.com/snssqs/snssqs"
)

// S3API is the part of the S3 client a Store calls. *s3.Client implements
// it; tests substitute a stand-in.
type S3API interface {
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	DeleteObject(ctx context.Context, in *s3.DeleteObjectInput, optFns ...func(*s3.Options)) (*s3.DeleteObjectOutput, error)
}

var (
	_ S3API               = (*s3.Client)(nil)
	_ snssqs.PayloadStore = (*Store)(nil)
)

// ErrPayloadTooLarge is returned by Get for an object over
// Options.MaxPayloadSize.
var ErrPayloadTooLarge = errors.New("s3offload: payload too large")

// DefaultMaxPayloadSize is the default of Options.MaxPayloadSize: 2 GiB,
// the Extended Client Libraries' limit.
const DefaultMaxPayloadSize = 2 << 30

// Options configures a Store. The zero value of every field selects its
// default.
type Options struct {
	// KeyPrefix is prepended to every object key Put makes, e.g.
	// "payloads/". Default empty: keys are bare UUIDs, as the Extended
	// Client Libraries make them.
	KeyPrefix string
	// KeepObjects makes Delete do nothing, for payloads that several queues
	// receive (an SNS topic fanned out) or that a lifecycle rule expires.
	// Default false: Delete removes the object.
	KeepObjects bool
	// MaxPayloadSize bounds what Get reads, in bytes. Default
	// DefaultMaxPayloadSize.
	MaxPayloadSize int64
	// NewKey returns the key of each new object (after KeyPrefix). Default
	// uuid.NewString.
	NewKey func() string
}

// Store keeps payloads in one S3 bucket. It is safe for concurrent use.
type Store struct {
	client S3API
	bucket string
	opts   Options
}

// New returns a Store for bucket through client (usually an *s3.Client;
// against LocalStack or moto set s3.Options.UsePathStyle). optFns modify the
// zero Options.
func New(client S3API, bucket string, optFns ...func(*Options)) (*Store, error) {
	if client == nil {
		return nil, fmt.Errorf("%w: nil S3 client", snssqs.ErrInvalidOptions)
	}
	if bucket == "" {
		return nil, fmt.Errorf("%w: empty bucket name", snssqs.ErrInvalidOptions)
	}
	var o Options
	for _, fn := range optFns {
		if fn != nil {
			fn(&o)
		}
	}
	if o.MaxPayloadSize == 0 {
		o.MaxPayloadSize = DefaultMaxPayloadSize
	}
	if o.MaxPayloadSize < 0 {
		return nil, fmt.Errorf("%w: MaxPayloadSize %d is negative", snssqs.ErrInvalidOptions, o.MaxPayloadSize)
	}
	if o.NewKey == nil {
		o.NewKey = uuid.NewString
	}
	return &Store{client: client, bucket: bucket, opts: o}, nil
}

// Put stores payload under a new key and returns its pointer.
func (s *Store) Put(ctx context.Context, payload []byte) (snssqs.PayloadPointer, error) {
	p := snssqs.PayloadPointer{Bucket: s.bucket, Key: s.opts.KeyPrefix + s.opts.NewKey()}
	_, err := s.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        aws.String(p.Bucket),
		Key:           aws.String(p.Key),
		Body:          bytes.NewReader(payload),
		ContentLength: aws.Int64(int64(len(payload))),
	})
	if err != nil {
		return snssqs.PayloadPointer{}, fmt.Errorf("s3offload: put s3://%s/%s: %w", p.Bucket, p.Key, err)
	}
	return p, nil
}

// Get reads the payload p points to, from whatever bucket it names (a
// message from another producer may use another bucket).
func (s *Store) Get(ctx context.Context, p snssqs.PayloadPointer) ([]byte, error) {
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(p.Bucket), Key: aws.String(p.Key)})
	if err != nil {
		return nil, fmt.Errorf("s3offload: get s3://%s/%s: %w", p.Bucket, p.Key, err)
	}
	defer out.Body.Close()
	if out.ContentLength != nil && *out.ContentLength > s.opts.MaxPayloadSize {
		return nil, fmt.Errorf("%w: s3://%s/%s is %d bytes, over %d", ErrPayloadTooLarge, p.Bucket, p.Key, *out.ContentLength, s.opts.MaxPayloadSize)
	}
	b, err := io.ReadAll(io.LimitReader(out.Body, s.opts.MaxPayloadSize+1))
	if err != nil {
		return nil, fmt.Errorf("s3offload: read s3://%s/%s: %w", p.Bucket, p.Key, err)
	}
	if int64(len(b)) > s.opts.MaxPayloadSize {
		return nil, fmt.Errorf("%w: s3://%s/%s is over %d bytes", ErrPayloadTooLarge, p.Bucket, p.Key, s.opts.MaxPayloadSize)
	}
	return b, nil
}

// Delete removes the object p points to, unless Options.KeepObjects is
// set. Deleting an object that is already gone succeeds, as S3 answers.
func (s *Store) Delete(ctx context.Context, p snssqs.PayloadPointer) error {
	if s.opts.KeepObjects {
		return nil
	}
	if _, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(p.Bucket), Key: aws.String(p.Key)}); err != nil {
		return fmt.Errorf("s3offload: delete s3://%s/%s: %w", p.Bucket, p.Key, err)
	}
	return nil
}
