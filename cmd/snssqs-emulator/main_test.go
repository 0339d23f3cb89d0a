package main

import (
	"bufio"
	"context"
	"flag"
	"io"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRunServesUntilCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := run(ctx, []string{"-addr", "127.0.0.1:0", "-region", "eu-central-1", "-account", "111122223333"}, pw, io.Discard)
		_ = pw.Close()
		done <- err
	}()

	line, err := bufio.NewReader(pr).ReadString('\n')
	require.NoError(t, err)
	const prefix = "snssqs-emulator listening on "
	require.True(t, strings.HasPrefix(line, prefix), line)
	url := strings.TrimSpace(strings.TrimPrefix(line, prefix))
	assert.True(t, strings.HasPrefix(url, "http://127.0.0.1:"), url)

	cfg := aws.Config{Region: "eu-central-1", BaseEndpoint: aws.String(url), Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")}
	id, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	require.NoError(t, err)
	assert.Equal(t, "111122223333", aws.ToString(id.Account))
	topic, err := sns.NewFromConfig(cfg).CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("t")})
	require.NoError(t, err)
	assert.Equal(t, "arn:aws:sns:eu-central-1:111122223333:t", aws.ToString(topic.TopicArn))

	cancel()
	require.NoError(t, <-done)
}

func TestRunRejectsBadArguments(t *testing.T) {
	ctx := context.Background()
	err := run(ctx, []string{"-nosuchflag"}, io.Discard, io.Discard)
	require.Error(t, err)
	err = run(ctx, []string{"extra"}, io.Discard, io.Discard)
	require.Error(t, err)
	err = run(ctx, []string{"-h"}, io.Discard, io.Discard)
	require.ErrorIs(t, err, flag.ErrHelp)
	err = run(ctx, []string{"-addr", "256.0.0.1:99999"}, io.Discard, io.Discard)
	require.Error(t, err, "an address that cannot be listened on")
	err = run(ctx, []string{"-latency", "20ms-10ms"}, io.Discard, io.Discard)
	require.Error(t, err, "a latency range upside down")
}
