package conformance

import (
	"fmt"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// DLQ redrive: StartMessageMoveTask, ListMessageMoveTasks and
// CancelMessageMoveTask.
func redriveScenarios() []Scenario {
	return []Scenario{
		{Name: "SQS/MessageMoveTaskBackToSource", Run: redriveBackToSource},
		{Name: "SQS/MessageMoveTaskToDestinationCancelled", Run: redriveToDestinationCancelled},
		{Name: "SQS/MessageMoveTaskNeedsADeadLetterQueue", Run: redriveNeedsDLQ},
	}
}

const motoNoMoveTasks = "moto 5.2.1 answers StartMessageMoveTask and ListMessageMoveTasks with a 500: it does not implement DLQ redrive (SQS API Reference, StartMessageMoveTask)"

// deadLettered makes a source queue (maxReceiveCount 1, visibility 1 s)
// and its DLQ, and moves n messages into the DLQ the way SQS does: by
// receiving each one more time than maxReceiveCount allows.
func (e *Env) deadLettered(t *testing.T, n int) (src, dlq Queue, bodies []string) {
	t.Helper()
	ctx := e.Context(t)
	dlq = e.CreateQueue(t, e.Name("mdlq"), nil)
	src = e.CreateQueue(t, e.Name("msrc"), map[string]string{
		"VisibilityTimeout": "1",
		"RedrivePolicy":     fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":"1"}`, dlq.ARN),
	})
	for i := range n {
		bodies = append(bodies, fmt.Sprintf("dead-%d", i))
		e.Send(ctx, t, src.URL, bodies[i])
	}
	e.ReceiveUntil(ctx, t, src.URL, false, func(got []sqstypes.Message) bool { return len(got) >= n }) // receive count 1
	e.Eventually(t, "every message in the DLQ", func() bool {
		e.ReceiveOnce(ctx, t, src.URL, 10, 1) // the next attempt moves them
		return e.QueueAttributes(t, dlq.URL, sqstypes.QueueAttributeNameApproximateNumberOfMessages)["ApproximateNumberOfMessages"] == fmt.Sprint(n)
	})
	return src, dlq, bodies
}

// listMoveTasks returns the most recent move task of source.
func (e *Env) lastMoveTask(t *testing.T, source string) sqstypes.ListMessageMoveTasksResultEntry {
	t.Helper()
	out, err := e.SQS.ListMessageMoveTasks(e.Context(t), &sqs.ListMessageMoveTasksInput{SourceArn: aws.String(source)})
	require.NoError(t, err)
	require.NotEmpty(t, out.Results)
	return out.Results[0]
}

// "If you don't specify DestinationArn, the messages are moved back to the
// original source queue." The task completes, counting what it moved.
func redriveBackToSource(t *testing.T, e *Env) {
	e.SkipOnMoto(t, motoNoMoveTasks)
	ctx := e.Context(t)
	src, dlq, bodies := e.deadLettered(t, 3)
	out, err := e.SQS.StartMessageMoveTask(ctx, &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(dlq.ARN)})
	require.NoError(t, err)
	assert.NotEmpty(t, aws.ToString(out.TaskHandle))
	e.Eventually(t, "the task completes", func() bool { return aws.ToString(e.lastMoveTask(t, dlq.ARN).Status) == "COMPLETED" })
	task := e.lastMoveTask(t, dlq.ARN)
	assert.Equal(t, int64(3), task.ApproximateNumberOfMessagesMoved)
	assert.Equal(t, dlq.ARN, aws.ToString(task.SourceArn))
	assert.Positive(t, task.StartedTimestamp)

	got := e.ReceiveN(ctx, t, src.URL, 3, true)
	var gotBodies []string
	for _, m := range got {
		gotBodies = append(gotBodies, aws.ToString(m.Body))
	}
	slices.Sort(gotBodies)
	assert.Equal(t, bodies, gotBodies, "every message is back in its source queue")
	assert.Equal(t, "0", e.QueueAttributes(t, dlq.URL, sqstypes.QueueAttributeNameApproximateNumberOfMessages)["ApproximateNumberOfMessages"])
}

// A task with a destination and MaxNumberOfMessagesPerSecond 1 is RUNNING
// (with its handle) until cancelled; CancelMessageMoveTask stops it and
// reports what it moved, and the rest stays in the DLQ.
func redriveToDestinationCancelled(t *testing.T, e *Env) {
	e.SkipOnMoto(t, motoNoMoveTasks)
	ctx := e.Context(t)
	_, dlq, _ := e.deadLettered(t, 3)
	dest := e.CreateQueue(t, e.Name("mdest"), nil)
	out, err := e.SQS.StartMessageMoveTask(ctx, &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(dlq.ARN),
		DestinationArn: aws.String(dest.ARN), MaxNumberOfMessagesPerSecond: aws.Int32(1)})
	require.NoError(t, err)
	running := e.lastMoveTask(t, dlq.ARN)
	assert.Equal(t, "RUNNING", aws.ToString(running.Status))
	assert.Equal(t, aws.ToString(out.TaskHandle), aws.ToString(running.TaskHandle), "a running task carries its handle")
	assert.Equal(t, dest.ARN, aws.ToString(running.DestinationArn))
	assert.Equal(t, int32(1), aws.ToInt32(running.MaxNumberOfMessagesPerSecond))

	_, err = e.SQS.StartMessageMoveTask(ctx, &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(dlq.ARN)})
	assertAPIError(t, err, "InvalidParameterValue") // one active task per source queue

	cancelled, err := e.SQS.CancelMessageMoveTask(ctx, &sqs.CancelMessageMoveTaskInput{TaskHandle: out.TaskHandle})
	require.NoError(t, err)
	assert.Less(t, cancelled.ApproximateNumberOfMessagesMoved, int64(3))
	e.Eventually(t, "the task is cancelled", func() bool { return aws.ToString(e.lastMoveTask(t, dlq.ARN).Status) == "CANCELLED" })
	moved := e.lastMoveTask(t, dlq.ARN).ApproximateNumberOfMessagesMoved
	attrs := e.QueueAttributes(t, dlq.URL, sqstypes.QueueAttributeNameApproximateNumberOfMessages)
	assert.Equal(t, fmt.Sprint(3-moved), attrs["ApproximateNumberOfMessages"], "what was not moved stays in the DLQ")
}

// "Only dead-letter queues (DLQs) whose sources are other Amazon SQS queues
// are supported": a queue no redrive policy names is refused.
func redriveNeedsDLQ(t *testing.T, e *Env) {
	e.SkipOnMoto(t, motoNoMoveTasks)
	q := e.CreateQueue(t, e.Name("plain"), nil)
	_, err := e.SQS.StartMessageMoveTask(e.Context(t), &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(q.ARN)})
	assertAPIError(t, err, "InvalidParameterValue")
}
