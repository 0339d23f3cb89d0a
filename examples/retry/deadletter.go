package main

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/sirupsen/logrus"

	"github.com/snssqs/snssqs"
)

// deadLetter is a message read from the dead-letter queue.
type deadLetter struct {
	*snssqs.Message
	receipt string
}

// awaitDeadLetter long-polls the dead-letter queue with plain SQS calls,
// as an operator's tool would, until the message whose CloudEvents id is
// eventID arrives, or ctx ends. Dead letters of earlier runs are logged
// and left in the queue.
func awaitDeadLetter(ctx context.Context, client *sqs.Client, dlqURL, eventID string, log logrus.FieldLogger) (*deadLetter, error) {
	for {
		out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:                    aws.String(dlqURL),
			MaxNumberOfMessages:         10,
			WaitTimeSeconds:             1,
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameApproximateReceiveCount},
		})
		if err != nil {
			return nil, fmt.Errorf("reading the dead-letter queue: %w", err)
		}
		for _, m := range out.Messages {
			dl, err := parseDeadLetter(dlqURL, m)
			if err != nil {
				log.WithError(err).WithField("sqs_message_id", aws.ToString(m.MessageId)).Warn("dead-letter queue: message not from this example; left there")
				continue
			}
			if dl.ID == eventID {
				return dl, nil
			}
			log.WithField("id", dl.ID).Info("dead-letter queue: poison message of an earlier run; left there")
		}
	}
}

// parseDeadLetter decodes a dead-lettered message as the subscriber would:
// an SNS notification whose Message is the CloudEvents envelope, or the
// envelope itself when the subscription uses raw message delivery.
func parseDeadLetter(dlqURL string, m types.Message) (*deadLetter, error) {
	msg, err := snssqs.DecodeSQSMessage(dlqURL, m)
	if err != nil {
		return nil, err
	}
	if !msg.IsEnvelope {
		return nil, fmt.Errorf("not a CloudEvents envelope")
	}
	return &deadLetter{Message: msg, receipt: aws.ToString(m.ReceiptHandle)}, nil
}

// remove deletes the dead letter from the queue.
func (dl *deadLetter) remove(ctx context.Context, client *sqs.Client, dlqURL string) error {
	if _, err := client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(dlqURL), ReceiptHandle: aws.String(dl.receipt)}); err != nil {
		return fmt.Errorf("deleting the dead letter %s: %w", dl.SQSMessageID, err)
	}
	return nil
}
