package snssqs

import (
	"context"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// sqsSender sends to SQS queues: SendMessage and SendMessageBatch.
type sqsSender struct{ client SQSSendAPI }

var _ batchSender = sqsSender{}

func (s sqsSender) service() Service { return ServiceSQS }

func (s sqsSender) maxBatchBytes() int { return MaxSQSMessageSize }

func (s sqsSender) sendOne(ctx context.Context, queueURL string, m *outMessage) publishResult {
	out, err := s.client.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl:               &queueURL,
		MessageBody:            &m.body,
		MessageAttributes:      sqsAttributes(m.attrs),
		MessageGroupId:         stringOrNil(m.groupID),
		MessageDeduplicationId: stringOrNil(m.dedupID),
		DelaySeconds:           m.delaySeconds,
	})
	if out == nil {
		out = &sqs.SendMessageOutput{}
	}
	return singleResult(queueURL, m, out.MessageId, out.SequenceNumber, err)
}

func (s sqsSender) sendBatch(ctx context.Context, queueURL string, ms []*outMessage) ([]publishResult, error) {
	entries := make([]types.SendMessageBatchRequestEntry, len(ms))
	for i, m := range ms {
		entries[i] = types.SendMessageBatchRequestEntry{
			Id:                     aws.String(strconv.Itoa(i)),
			MessageBody:            &m.body,
			MessageAttributes:      sqsAttributes(m.attrs),
			MessageGroupId:         stringOrNil(m.groupID),
			MessageDeduplicationId: stringOrNil(m.dedupID),
			DelaySeconds:           m.delaySeconds,
		}
	}
	out, err := s.client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: &queueURL, Entries: entries})
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
