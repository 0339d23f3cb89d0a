package snssqs

import (
	"context"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sns/types"
)

// snsSender publishes to SNS topics: Publish and PublishBatch.
type snsSender struct{ client SNSPublishAPI }

var _ batchSender = snsSender{}

func (s snsSender) service() Service { return ServiceSNS }

func (s snsSender) maxBatchBytes() int { return MaxSNSMessageSize }

func (s snsSender) sendOne(ctx context.Context, arn string, m *outMessage) publishResult {
	out, err := s.client.Publish(ctx, &sns.PublishInput{
		TopicArn:               &arn,
		Message:                &m.body,
		MessageAttributes:      m.attrs,
		MessageGroupId:         stringOrNil(m.groupID),
		MessageDeduplicationId: stringOrNil(m.dedupID),
	})
	if out == nil {
		out = &sns.PublishOutput{}
	}
	return singleResult(arn, m, out.MessageId, out.SequenceNumber, err)
}

func (s snsSender) sendBatch(ctx context.Context, arn string, ms []*outMessage) ([]publishResult, error) {
	entries := make([]types.PublishBatchRequestEntry, len(ms))
	for i, m := range ms {
		entries[i] = types.PublishBatchRequestEntry{
			Id:                     aws.String(strconv.Itoa(i)),
			Message:                &m.body,
			MessageAttributes:      m.attrs,
			MessageGroupId:         stringOrNil(m.groupID),
			MessageDeduplicationId: stringOrNil(m.dedupID),
		}
	}
	out, err := s.client.PublishBatch(ctx, &sns.PublishBatchInput{TopicArn: &arn, PublishBatchRequestEntries: entries})
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
