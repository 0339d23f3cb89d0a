package snssqs_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/stretchr/testify/require"

	"github.com/snssqs/snssqs"
	"github.com/snssqs/snssqs/snssqstest"
)

func TestRetryThrottled(t *testing.T) {
	srv := snssqstest.Run(t)
	ctx := context.Background()
	plain := sns.NewFromConfig(srv.AWSConfig())
	topic, err := plain.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("throttled")})
	require.NoError(t, err)
	throttleOnce := func() {
		require.NoError(t, srv.SetFaults(snssqstest.Faults{Seed: 1, Rules: map[string]snssqstest.FaultRule{
			"sns:Publish": {ErrorRate: 1, Errors: []snssqstest.FaultError{snssqstest.FaultThrottled}, MaxFaults: 1},
		}}))
	}
	publish := func(c *sns.Client) error {
		_, err := c.Publish(ctx, &sns.PublishInput{TopicArn: topic.TopicArn, Message: aws.String("m")})
		return err
	}

	throttleOnce()
	err = publish(plain)
	var throttled *snstypes.ThrottledException
	require.True(t, errors.As(err, &throttled), "the standard retryer gives up on SNS Throttled: %v", err)

	throttleOnce()
	require.NoError(t, publish(sns.NewFromConfig(srv.AWSConfig(), snssqs.RetryThrottled)), "retried after one Throttled")
}
