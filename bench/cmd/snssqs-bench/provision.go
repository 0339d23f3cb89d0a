package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// queueRef names the topic and queue of one run.
type queueRef struct {
	topicARN string
	queueURL string
	queueARN string
}

// provision creates a fresh topic and queue named name, allows the topic to
// send to the queue and subscribes the queue with raw delivery off, so every
// contender receives SNS notification JSON. It uses the raw SDK for every
// contender, so provisioning is identical and not measured.
func provision(ctx context.Context, cl awsClients, name string) (queueRef, error) {
	topic, err := cl.sns.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(name)})
	if err != nil {
		return queueRef{}, fmt.Errorf("create topic %s: %w", name, err)
	}
	q, err := cl.sqs.CreateQueue(ctx, &sqs.CreateQueueInput{
		QueueName:  aws.String(name),
		Attributes: map[string]string{"VisibilityTimeout": "30"},
	})
	if err != nil {
		return queueRef{}, fmt.Errorf("create queue %s: %w", name, err)
	}
	attrs, err := cl.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       q.QueueUrl,
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn},
	})
	if err != nil {
		return queueRef{}, fmt.Errorf("get queue ARN of %s: %w", name, err)
	}
	ref := queueRef{
		topicARN: aws.ToString(topic.TopicArn),
		queueURL: aws.ToString(q.QueueUrl),
		queueARN: attrs.Attributes[string(sqstypes.QueueAttributeNameQueueArn)],
	}
	policy, err := queuePolicy(ref)
	if err != nil {
		return queueRef{}, err
	}
	if _, err := cl.sqs.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{
		QueueUrl:   q.QueueUrl,
		Attributes: map[string]string{string(sqstypes.QueueAttributeNamePolicy): policy},
	}); err != nil {
		return queueRef{}, fmt.Errorf("set policy of %s: %w", name, err)
	}
	if _, err := cl.sns.Subscribe(ctx, &sns.SubscribeInput{
		TopicArn:              topic.TopicArn,
		Protocol:              aws.String("sqs"),
		Endpoint:              aws.String(ref.queueARN),
		Attributes:            map[string]string{"RawMessageDelivery": "false"},
		ReturnSubscriptionArn: true,
	}); err != nil {
		return queueRef{}, fmt.Errorf("subscribe %s: %w", name, err)
	}
	return ref, nil
}

// queuePolicy allows the topic, and only it, to send to the queue, as AWS
// requires for an SNS→SQS subscription.
func queuePolicy(ref queueRef) (string, error) {
	doc := map[string]any{
		"Version": "2012-10-17",
		"Statement": []map[string]any{{
			"Effect":    "Allow",
			"Principal": map[string]string{"Service": "sns.amazonaws.com"},
			"Action":    "sqs:SendMessage",
			"Resource":  ref.queueARN,
			"Condition": map[string]any{"ArnEquals": map[string]string{"aws:SourceArn": ref.topicARN}},
		}},
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return "", fmt.Errorf("encode queue policy: %w", err)
	}
	return string(b), nil
}

// queueDepth returns the visible plus in-flight messages left in the queue;
// after a run whose consumer deleted everything it is 0.
func queueDepth(ctx context.Context, cl awsClients, queueURL string) (int, error) {
	out, err := cl.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(queueURL),
		AttributeNames: []sqstypes.QueueAttributeName{
			sqstypes.QueueAttributeNameApproximateNumberOfMessages,
			sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
		},
	})
	if err != nil {
		return 0, fmt.Errorf("get queue depth: %w", err)
	}
	n := 0
	for _, k := range []sqstypes.QueueAttributeName{
		sqstypes.QueueAttributeNameApproximateNumberOfMessages,
		sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
	} {
		v, err := strconv.Atoi(out.Attributes[string(k)])
		if err != nil {
			return 0, fmt.Errorf("parse %s %q: %w", k, out.Attributes[string(k)], err)
		}
		n += v
	}
	return n, nil
}

// unprovision deletes the run's topic and queue; failures are returned but
// are not fatal to the benchmark.
func unprovision(ctx context.Context, cl awsClients, ref queueRef) error {
	if _, err := cl.sns.DeleteTopic(ctx, &sns.DeleteTopicInput{TopicArn: aws.String(ref.topicARN)}); err != nil {
		return fmt.Errorf("delete topic: %w", err)
	}
	if _, err := cl.sqs.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: aws.String(ref.queueURL)}); err != nil {
		return fmt.Errorf("delete queue: %w", err)
	}
	return nil
}
