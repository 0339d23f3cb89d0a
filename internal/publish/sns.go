package publish

import (
	"context"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sns/types"

	"github.com/snssqs/snssqs/internal/awslimits"
)

// SNSSender publishes to SNS topics: Publish and PublishBatch.
type SNSSender struct{ Client SNSClient }

var _ Sender = SNSSender{}

// MaxBatchBytes is the limit of one SNS batch request.
func (s SNSSender) MaxBatchBytes() int { return awslimits.MaxSNSMessageSize }

func (s SNSSender) SendOne(ctx context.Context, arn string, m *Message) Result {
	out, err := s.Client.Publish(ctx, &sns.PublishInput{
		TopicArn:               &arn,
		Message:                &m.Body,
		MessageAttributes:      m.Attrs,
		MessageGroupId:         stringOrNil(m.GroupID),
		MessageDeduplicationId: stringOrNil(m.DedupID),
	})
	if out == nil {
		out = &sns.PublishOutput{}
	}
	return singleResult(arn, m, out.MessageId, out.SequenceNumber, err)
}

// SendBatch sends ms in one batch request.
func (s SNSSender) SendBatch(ctx context.Context, arn string, ms []*Message) ([]Result, error) {
	entries := make([]types.PublishBatchRequestEntry, len(ms))
	for i, m := range ms {
		entries[i] = types.PublishBatchRequestEntry{
			Id:                     aws.String(strconv.Itoa(i)),
			Message:                &m.Body,
			MessageAttributes:      m.Attrs,
			MessageGroupId:         stringOrNil(m.GroupID),
			MessageDeduplicationId: stringOrNil(m.DedupID),
		}
	}
	out, err := s.Client.PublishBatch(ctx, &sns.PublishBatchInput{TopicArn: &arn, PublishBatchRequestEntries: entries})
	if err != nil {
		return failAll(arn, ms, err), err
	}
	outcomes := outcomesOf(out.Successful, out.Failed,
		func(e types.PublishBatchResultEntry) batchEntryOutcome {
			return batchEntryOutcome{id: e.Id, messageID: e.MessageId, sequenceNumber: e.SequenceNumber}
		},
		func(f types.BatchResultErrorEntry) batchEntryOutcome {
			return batchEntryOutcome{id: f.Id, code: f.Code, message: f.Message, senderFault: f.SenderFault}
		})
	return batchResults(arn, ms, outcomes), nil
}

// SNSClient is the part of the SNS client SNSSender calls.
type SNSClient interface {
	Publish(ctx context.Context, in *sns.PublishInput, optFns ...func(*sns.Options)) (*sns.PublishOutput, error)
	PublishBatch(ctx context.Context, in *sns.PublishBatchInput, optFns ...func(*sns.Options)) (*sns.PublishBatchOutput, error)
}
