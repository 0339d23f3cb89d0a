package publish

import (
	"context"

	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/snssqs/snssqs/internal/awslimits"
)

// SQSClient is the part of the SQS client the SQS Sender calls.
type SQSClient interface {
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
	SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
}

// SQSSender returns the Sender that sends to SQS queues through c:
// SendMessage and SendMessageBatch.
func SQSSender(c SQSClient) Sender {
	return apiSender[types.SendMessageBatchRequestEntry]{
		maxBytes: awslimits.MaxSQSMessageSize,
		entry: func(id *string, m *Message) types.SendMessageBatchRequestEntry {
			return types.SendMessageBatchRequestEntry{Id: id, MessageBody: &m.Body, MessageAttributes: sqsAttributes(m.Attrs), MessageGroupId: stringOrNil(m.GroupID), MessageDeduplicationId: stringOrNil(m.DedupID), DelaySeconds: m.DelaySeconds}
		},
		one: func(ctx context.Context, url string, e types.SendMessageBatchRequestEntry) (id, seq *string, err error) {
			out, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: e.MessageBody, MessageAttributes: e.MessageAttributes, MessageGroupId: e.MessageGroupId, MessageDeduplicationId: e.MessageDeduplicationId, DelaySeconds: e.DelaySeconds})
			if err != nil || out == nil { // a nil answer has no MessageId
				return nil, nil, err
			}
			return out.MessageId, out.SequenceNumber, nil
		},
		batch: func(ctx context.Context, url string, es []types.SendMessageBatchRequestEntry) ([]batchEntryOutcome, error) {
			out, err := c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: &url, Entries: es})
			if err != nil || out == nil { // a nil answer answers no entry
				return nil, err
			}
			return outcomesOf(out.Successful, out.Failed, func(e types.SendMessageBatchResultEntry) batchEntryOutcome {
				return batchEntryOutcome{id: e.Id, messageID: e.MessageId, sequenceNumber: e.SequenceNumber}
			}, func(f types.BatchResultErrorEntry) batchEntryOutcome {
				return batchEntryOutcome{id: f.Id, code: f.Code, message: f.Message, senderFault: f.SenderFault}
			}), nil
		},
	}
}

// sqsAttributes converts validated message attributes to SQS's type.
func sqsAttributes(attrs map[string]snstypes.MessageAttributeValue) map[string]types.MessageAttributeValue {
	out := make(map[string]types.MessageAttributeValue, len(attrs))
	for name, a := range attrs {
		out[name] = types.MessageAttributeValue{DataType: a.DataType, StringValue: a.StringValue, BinaryValue: a.BinaryValue}
	}
	return out
}
