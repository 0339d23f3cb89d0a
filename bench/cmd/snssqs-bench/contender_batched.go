package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/google/uuid"
)

// batchedLoops is how many receive loops the batched ceiling runs by default.
const batchedLoops = 4

// batchedContender is the hand-tuned raw-SDK ceiling: PublishBatch of 10,
// several receive loops of ReceiveMessage(10), DeleteMessageBatch of 10 sent
// without blocking the next receive. It has no features (no retries policy,
// no visibility heartbeat): it is the cost floor. Without envelope it sends
// the bare event JSON; with it ("batched-ce") it wraps each event in the
// same CloudEvents envelope snssqs sends, written and read with
// encoding/json as a hand-written consumer would, so that comparing it with
// snssqs measures the library apart from its message format.
type batchedContender struct{ envelope bool }

func (b batchedContender) name() string {
	if b.envelope {
		return "batched-ce"
	}
	return "batched"
}

func (b batchedContender) description() string {
	if b.envelope {
		return "the batched ceiling sending the CloudEvents envelope snssqs sends (encoding/json both ways): the same wire bytes, without the library"
	}
	return "raw aws-sdk-go-v2 ceiling: sns.PublishBatch of 10; 4 loops of sqs.ReceiveMessage(MaxNumberOfMessages=10, WaitTimeSeconds=20), sqs.DeleteMessageBatch of 10 in the background"
}
func (batchedContender) batchSize() int            { return 10 }
func (batchedContender) supportsConcurrency() bool { return true }

func (b batchedContender) openPublisher(_ context.Context, cl awsClients, ref queueRef) (publisher, error) {
	topicARN := ref.topicARN
	encode := encodeEvent
	if b.envelope {
		encode = encodeEnvelope
	}
	return &batchedPublisher{rawTopic: rawTopic{sns: cl.sns, topicARN: topicARN}, encode: encode}, nil
}

type batchedPublisher struct {
	rawTopic
	encode func(benchEvent) (*string, error)
}

func (p *batchedPublisher) publish(ctx context.Context, events []benchEvent) error {
	for len(events) > 0 {
		chunk := events[:min(10, len(events))]
		events = events[len(chunk):]
		entries := make([]snstypes.PublishBatchRequestEntry, len(chunk))
		for i, ev := range chunk {
			body, err := p.encode(ev)
			if err != nil {
				return err
			}
			entries[i] = snstypes.PublishBatchRequestEntry{
				Id:                aws.String(strconv.Itoa(i)),
				Message:           body,
				MessageAttributes: eventTypeAttributes(),
			}
		}
		out, err := p.sns.PublishBatch(ctx, &sns.PublishBatchInput{TopicArn: aws.String(p.topicARN), PublishBatchRequestEntries: entries})
		if err != nil {
			return fmt.Errorf("sns.PublishBatch: %w", err)
		}
		if len(out.Failed) > 0 {
			f := out.Failed[0]
			return fmt.Errorf("sns.PublishBatch: %d entries failed, first %s: %s", len(out.Failed), aws.ToString(f.Code), aws.ToString(f.Message))
		}
	}
	return nil
}

// startConsumer runs batchedLoops receive loops, or enough loops of 10 to
// reach spec.concurrency when it is set; with a concurrency the ten messages
// of a receive are handled in parallel.
func (b batchedContender) startConsumer(ctx context.Context, cl awsClients, spec consumerSpec, h handlerFunc) (consumer, error) {
	ctx, c := newLoopConsumer(ctx)
	if b.envelope {
		c.decode = decodeEnvelopeNotification
	}
	loops := batchedLoops
	parallel := spec.concurrency > 0
	if parallel {
		loops = (spec.concurrency + 9) / 10
	}
	var deletes sync.WaitGroup
	for range loops {
		c.wg.Go(func() {
			defer deletes.Wait()
			for ctx.Err() == nil {
				out, err := c.receive(ctx, cl, spec.queueURL, 10)
				if err != nil {
					continue
				}
				ok := make([]bool, len(out.Messages))
				handle := func(i int) { ok[i] = c.handle(ctx, h, out.Messages[i]) }
				if parallel {
					var hw sync.WaitGroup
					for i := range out.Messages {
						hw.Go(func() { handle(i) })
					}
					hw.Wait()
				} else {
					for i := range out.Messages {
						handle(i)
					}
				}
				var entries []sqstypes.DeleteMessageBatchRequestEntry
				for i, m := range out.Messages {
					if ok[i] {
						entries = append(entries, sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle})
					}
				}
				if len(entries) == 0 {
					continue
				}
				deletes.Go(func() {
					// Deletes outlive the receive context so stopping flushes them.
					dctx := context.WithoutCancel(ctx)
					out, err := cl.sqs.DeleteMessageBatch(dctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(spec.queueURL), Entries: entries})
					switch {
					case err != nil:
						c.recordErr(dctx, fmt.Errorf("sqs.DeleteMessageBatch: %w", err))
					case len(out.Failed) > 0:
						c.recordErr(dctx, fmt.Errorf("sqs.DeleteMessageBatch: %d entries failed", len(out.Failed)))
					}
				})
			}
		})
	}
	return c, nil
}

// encodeEnvelope encodes ev wrapped in the CloudEvents envelope snssqs
// sends (same members, same values), with encoding/json.
func encodeEnvelope(ev benchEvent) (*string, error) {
	env := struct {
		SpecVersion     string     `json:"specversion"`
		ID              string     `json:"id"`
		Source          string     `json:"source"`
		Type            string     `json:"type"`
		Time            time.Time  `json:"time"`
		DataContentType string     `json:"datacontenttype"`
		Data            benchEvent `json:"data"`
	}{"1.0", uuid.NewString(), benchSource, eventType, time.Now().UTC(), "application/json", ev}
	body, err := json.Marshal(env)
	if err != nil {
		return nil, fmt.Errorf("encode envelope: %w", err)
	}
	return aws.String(string(body)), nil
}
