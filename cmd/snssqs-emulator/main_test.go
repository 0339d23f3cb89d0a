package main

import (
	"bufio"
	"context"
	"flag"
	"io"
	"strings"
	"sync"
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

// -h names every admin endpoint the server answers.
func TestHelpListsAdminEndpoints(t *testing.T) {
	var help strings.Builder
	err := run(context.Background(), []string{"-h"}, io.Discard, &help)
	require.ErrorIs(t, err, flag.ErrHelp)
	for _, want := range []string{"-v", "-latency", "GET    /_snssqstest/health", "GET    /_snssqstest/requests",
		"DELETE /_snssqstest/requests", "GET    /_snssqstest/latency", "PUT    /_snssqstest/latency"} {
		assert.Contains(t, help.String(), want)
	}
}

// -v logs each request's service, operation and status, and no secret.
func TestVerboseLogsRequestsWithoutCredentials(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	var log syncBuffer
	done := make(chan error, 1)
	go func() {
		err := run(ctx, []string{"-addr", "127.0.0.1:0", "-v"}, pw, &log)
		_ = pw.Close()
		done <- err
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	require.NoError(t, err)
	url := strings.TrimSpace(strings.TrimPrefix(line, "snssqs-emulator listening on "))
	cfg := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(url), Credentials: credentials.NewStaticCredentialsProvider("AKIDSECRETKEYID", "sEcReTaCcEsSkEy", "")}
	_, err = sns.NewFromConfig(cfg).CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("logged")})
	require.NoError(t, err)
	_, err = sns.NewFromConfig(cfg).GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: aws.String("arn:aws:sns:us-east-1:000000000000:missing")})
	require.Error(t, err)
	cancel()
	require.NoError(t, <-done)

	out := log.String()
	assert.Regexp(t, `(?m)^\d{4}-\d\d-\d\dT\S+Z sns CreateTopic 200 \S+$`, out)
	assert.Regexp(t, `(?m)^\S+ sns GetTopicAttributes 404 \S+$`, out, "the status of a failed request")
	assert.NotContains(t, out, "AKIDSECRETKEYID")
	assert.NotContains(t, out, "sEcReTaCcEsSkEy")
	assert.NotContains(t, out, "Credential=")
}

// syncBuffer is a strings.Builder safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
