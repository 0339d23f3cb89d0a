package publish

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sns/types"

	"github.com/snssqs/snssqs/internal/awslimits"
)

// SNSClient is the part of the SNS client the SNS Sender calls.
type SNSClient interface {
	Publish(ctx context.Context, in *sns.PublishInput, optFns ...func(*sns.Options)) (*sns.PublishOutput, error)
	PublishBatch(ctx context.Context, in *sns.PublishBatchInput, optFns ...func(*sns.Options)) (*sns.PublishBatchOutput, error)
}

// SNSSender returns the Sender that publishes to SNS topics through c:
// Publish and PublishBatch.
func SNSSender(c SNSClient) Sender {
	return apiSender[types.PublishBatchRequestEntry]{
		maxBytes: awslimits.MaxSNSMessageSize,
		entry: func(id *string, m *Message) types.PublishBatchRequestEntry {
			return types.PublishBatchRequestEntry{Id: id, Message: &m.Body, MessageAttributes: m.Attrs, MessageGroupId: stringOrNil(m.GroupID), MessageDeduplicationId: stringOrNil(m.DedupID)}
		},
		one: func(ctx context.Context, arn string, e types.PublishBatchRequestEntry) (id, seq *string, err error) {
			out, err := c.Publish(ctx, &sns.PublishInput{TopicArn: &arn, Message: e.Message, MessageAttributes: e.MessageAttributes, MessageGroupId: e.MessageGroupId, MessageDeduplicationId: e.MessageDeduplicationId})
			if err != nil || out == nil { // a nil answer has no MessageId
				return nil, nil, err
			}
			return out.MessageId, out.SequenceNumber, nil
		},
		batch: func(ctx context.Context, arn string, es []types.PublishBatchRequestEntry) ([]batchEntryOutcome, error) {
			out, err := c.PublishBatch(ctx, &sns.PublishBatchInput{TopicArn: &arn, PublishBatchRequestEntries: es})
			if err != nil || out == nil { // a nil answer answers no entry
				return nil, err
			}
			return outcomesOf(out.Successful, out.Failed, func(e types.PublishBatchResultEntry) batchEntryOutcome {
				return batchEntryOutcome{id: e.Id, messageID: e.MessageId, sequenceNumber: e.SequenceNumber}
			}, func(f types.BatchResultErrorEntry) batchEntryOutcome {
				return batchEntryOutcome{id: f.Id, code: f.Code, message: f.Message, senderFault: f.SenderFault}
			}), nil
		},
	}
}
