package snssqs

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws/retry"

	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// SNSPublishAPI is the part of the SNS client the Publisher calls. *sns.Client
// implements it; tests substitute a mock.
type SNSPublishAPI interface {
	Publish(ctx context.Context, in *sns.PublishInput, optFns ...func(*sns.Options)) (*sns.PublishOutput, error)
	PublishBatch(ctx context.Context, in *sns.PublishBatchInput, optFns ...func(*sns.Options)) (*sns.PublishBatchOutput, error)
}

// SQSSendAPI is the part of the SQS client the QueuePublisher calls.
// *sqs.Client implements it; tests substitute a mock.
type SQSSendAPI interface {
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
	SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
}

// SQSConsumeAPI is the part of the SQS client the Subscriber calls: it
// receives, deletes in batches and changes visibility in batches (nacks,
// releases and heartbeats). *sqs.Client implements it; tests substitute a
// mock.
type SQSConsumeAPI interface {
	ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, optFns ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	DeleteMessageBatch(ctx context.Context, in *sqs.DeleteMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error)
	ChangeMessageVisibilityBatch(ctx context.Context, in *sqs.ChangeMessageVisibilityBatchInput, optFns ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityBatchOutput, error)
}

// Compile-time checks that the SDK clients satisfy the narrow interfaces.
var (
	_ SNSPublishAPI = (*sns.Client)(nil)
	_ SQSConsumeAPI = (*sqs.Client)(nil)
	_ SQSSendAPI    = (*sqs.Client)(nil)
)

// SNSThrottledErrorCode is the error code SNS answers when a request rate
// exceeds the account's limit (HTTP 429, *types.ThrottledException).
const SNSThrottledErrorCode = "Throttled"

// RetryThrottled is an SNS client option that makes the client's retryer
// retry SNS's Throttled errors too, which the SDK's standard retryer does not
// (it retries "Throttling" but not SNS's "Throttled"), so bursts of publishes
// back off and succeed instead of failing:
//
//	snsClient := sns.NewFromConfig(cfg, snssqs.RetryThrottled)
func RetryThrottled(o *sns.Options) {
	if o.Retryer == nil {
		o.Retryer = retry.NewStandard()
	}
	o.Retryer = retry.AddWithErrorCodes(o.Retryer, SNSThrottledErrorCode)
}
