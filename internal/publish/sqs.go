package publish

import (
	"context"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/snssqs/snssqs/internal/awslimits"
)

// SQSSender sends to SQS queues: SendMessage and SendMessageBatch.
type SQSSender struct{ Client SQSClient }

var _ Sender = SQSSender{}

// MaxBatchBytes is the limit of one SQS batch request.
func (s SQSSender) MaxBatchBytes() int { return awslimits.MaxSQSMessageSize }

func (s SQSSender) SendOne(ctx context.Context, queueURL string, m *Message) Result {
	out, err := s.Client.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl:               &queueURL,
		MessageBody:            &m.Body,
		MessageAttributes:      sqsAttributes(m.Attrs),
		MessageGroupId:         stringOrNil(m.GroupID),
		MessageDeduplicationId: stringOrNil(m.DedupID),
		DelaySeconds:           m.DelaySeconds,
	})
	if out == nil {
		out = &sqs.SendMessageOutput{}
	}
	return singleResult(queueURL, m, out.MessageId, out.SequenceNumber, err)
}

// SendBatch sends ms in one batch request.
func (s SQSSender) SendBatch(ctx context.Context, queueURL string, ms []*Message) ([]Result, error) {
	entries := make([]types.SendMessageBatchRequestEntry, len(ms))
	for i, m := range ms {
		entries[i] = types.SendMessageBatchRequestEntry{
			Id:                     aws.String(strconv.Itoa(i)),
			MessageBody:            &m.Body,
			MessageAttributes:      sqsAttributes(m.Attrs),
			MessageGroupId:         stringOrNil(m.GroupID),
			MessageDeduplicationId: stringOrNil(m.DedupID),
			DelaySeconds:           m.DelaySeconds,
		}
	}
	out, err := s.Client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: &queueURL, Entries: entries})
	if err != nil {
		return failAll(queueURL, ms, err), err
	}
	outcomes := outcomesOf(out.Successful, out.Failed,
		func(e types.SendMessageBatchResultEntry) batchEntryOutcome {
			return batchEntryOutcome{id: e.Id, messageID: e.MessageId, sequenceNumber: e.SequenceNumber}
		},
		func(f types.BatchResultErrorEntry) batchEntryOutcome {
			return batchEntryOutcome{id: f.Id, code: f.Code, message: f.Message, senderFault: f.SenderFault}
		})
	return batchResults(queueURL, ms, outcomes), nil
}

// sqsAttributes converts validated message attributes to SQS's type.
func sqsAttributes(attrs map[string]snstypes.MessageAttributeValue) map[string]types.MessageAttributeValue {
	out := make(map[string]types.MessageAttributeValue, len(attrs))
	for name, a := range attrs {
		out[name] = types.MessageAttributeValue{DataType: a.DataType, StringValue: a.StringValue, BinaryValue: a.BinaryValue}
	}
	return out
}

// SQSClient is the part of the SQS client SQSSender calls.
type SQSClient interface {
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
	SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
}
