package snssqstest

import (
	"encoding/base64"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Message move tasks (StartMessageMoveTask, ListMessageMoveTasks,
// CancelMessageMoveTask): a task moves the messages a dead-letter queue
// holds when it starts back to the queue each came from, or to a given
// destination, at most MaxNumberOfMessagesPerSecond a second (500 when not
// given, the SQS maximum). The sqsService owns each task's goroutine, which
// ends when the task does or the server closes.

// Move task statuses, as ListMessageMoveTasks reports them.
const (
	moveRunning    = "RUNNING"
	moveCompleted  = "COMPLETED"
	moveCancelling = "CANCELLING"
	moveCancelled  = "CANCELLED"
	moveFailed     = "FAILED"
	maxMoveRate    = 500
)

// moveTask is one message move task; its fields are guarded by mu.
type moveTask struct {
	mu             sync.Mutex
	handle         string
	sourceARN      string
	destinationARN string // "" moves each message back to its source
	rate           int    // 0: not given
	status         string
	moved, toMove  int
	failure        string
	started        time.Time
	cancel         chan struct{}
}

// moveTasks are a service's tasks, most recent last per source.
type moveTasks struct {
	mu    sync.Mutex
	all   map[string]*moveTask   // by handle
	bySrc map[string][]*moveTask // by source ARN, in start order
	wg    sync.WaitGroup
}

func errResourceNotFound(format string, args ...any) *sqsError {
	return newSQSError("ResourceNotFoundException", "ResourceNotFoundException", http.StatusBadRequest, format, args...)
}

// startMoveTask validates and starts a task; it returns the task handle.
func (q *sqsService) startMoveTask(sourceARN, destinationARN string, rate *int) (string, *sqsError) {
	if sourceARN == "" {
		return "", errMissingParameter("SourceArn")
	}
	select {
	case <-q.closing: // no task starts once the server is closing
		return "", errUnsupportedOperation("The server is shutting down.")
	default:
	}
	src := q.queueByARN(sourceARN)
	if src == nil {
		return "", errResourceNotFound("The resource that you specified for the SourceArn parameter doesn't exist.")
	}
	if !q.isDeadLetterQueue(sourceARN) {
		return "", errInvalidParameterValue("Source queue must be configured as a Dead Letter Queue.")
	}
	if destinationARN != "" {
		if q.queueByARN(destinationARN) == nil {
			return "", errResourceNotFound("The resource that you specified for the DestinationArn parameter doesn't exist.")
		}
		if destinationARN == sourceARN {
			return "", errInvalidParameterValue("Value %s for parameter DestinationArn is invalid. Reason: The source and destination queues must be different.", destinationARN)
		}
	}
	r := 0
	if rate != nil {
		if *rate < 1 || *rate > maxMoveRate {
			return "", errInvalidParameterValue("Value %d for parameter MaxNumberOfMessagesPerSecond is invalid. Reason: must be between 1 and %d.", *rate, maxMoveRate)
		}
		r = *rate
	}
	t := &q.moves
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, old := range t.bySrc[sourceARN] {
		old.mu.Lock()
		active := old.status == moveRunning || old.status == moveCancelling
		old.mu.Unlock()
		if active {
			return "", errInvalidParameterValue("Value %s for parameter SourceArn is invalid. Reason: There is already a task running. Only one active task is allowed for a source queue arn at a given time.", sourceARN)
		}
	}
	src.mu.Lock()
	toMove := src.nVisible
	src.mu.Unlock()
	task := &moveTask{
		handle:    base64.StdEncoding.EncodeToString([]byte(`{"taskId":"` + uuid.NewString() + `","sourceArn":"` + sourceARN + `"}`)),
		sourceARN: sourceARN, destinationARN: destinationARN, rate: r,
		status: moveRunning, toMove: toMove, started: q.clk.Now(), cancel: make(chan struct{}),
	}
	if t.all == nil {
		t.all, t.bySrc = map[string]*moveTask{}, map[string][]*moveTask{}
	}
	t.all[task.handle] = task
	t.bySrc[sourceARN] = append(t.bySrc[sourceARN], task)
	t.wg.Add(1)
	go q.runMoveTask(src, task)
	return task.handle, nil
}

// isDeadLetterQueue reports whether some queue's redrive policy targets arn.
func (q *sqsService) isDeadLetterQueue(arn string) bool {
	for _, x := range q.allQueues() {
		x.mu.Lock()
		is := x.cfg.dlqARN == arn
		x.mu.Unlock()
		if is {
			return true
		}
	}
	return false
}

// runMoveTask moves task.toMove messages, a second's worth at a time, until
// they are moved, one cannot be, or the task is cancelled.
func (q *sqsService) runMoveTask(src *queue, task *moveTask) {
	defer q.moves.wg.Done()
	perTick := task.rate
	if perTick == 0 {
		perTick = maxMoveRate
	}
	for {
		task.mu.Lock()
		left, status := task.toMove-task.moved, task.status
		task.mu.Unlock()
		if status != moveRunning || left <= 0 {
			task.finish()
			return
		}
		moved, failure := q.moveSome(src, task.destinationARN, min(perTick, left))
		task.mu.Lock()
		task.moved += moved
		if failure != "" {
			task.status, task.failure = moveFailed, failure
		} else if moved == 0 { // someone else took them: nothing left to move
			task.toMove = task.moved
		}
		done := task.moved >= task.toMove
		task.mu.Unlock()
		if failure != "" || done || !q.waitMoveTick(task) {
			task.finish()
			return
		}
	}
}

// finish sets the status a task ends with: CANCELLED once cancelled,
// COMPLETED when it was still running; FAILED stays.
func (t *moveTask) finish() {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch t.status {
	case moveCancelling:
		t.status = moveCancelled
	case moveRunning:
		t.status = moveCompleted
	}
}

// waitMoveTick waits a second on the server's clock; it reports false when
// the task is cancelled or the server closes first.
func (q *sqsService) waitMoveTick(task *moveTask) bool {
	t := q.clk.NewTimer(time.Second)
	defer t.Stop()
	select {
	case <-t.C():
		return true
	case <-task.cancel:
		return false
	case <-q.closing:
		return false
	}
}

// moveSome moves up to n visible messages of src, oldest first, to
// destinationARN or back to each one's source. failure names why a message
// could not be moved (its destination is gone, or it has no source).
func (q *sqsService) moveSome(src *queue, destinationARN string, n int) (moved int, failure string) {
	src.mu.Lock()
	var take []*sqsMessage
	for i := 0; i < src.bySent.len() && len(take) < n; i++ {
		if m := src.bySent.at(i); m.state == stateVisible {
			take = append(take, m)
		}
	}
	sort.SliceStable(take, func(i, j int) bool { return take[i].sentAt.Before(take[j].sentAt) })
	var out []*sqsMessage
	for _, m := range take {
		dest := destinationARN
		if dest == "" {
			dest = m.dlqSource
		}
		if dest == "" || q.queueByARN(dest) == nil {
			failure = "AWS.SimpleQueueService.NonExistentQueue"
			break
		}
		src.removeLocked(m)
		out = append(out, m)
	}
	src.mu.Unlock()
	for _, m := range out {
		dest := destinationARN
		if dest == "" {
			dest = m.dlqSource
		}
		dq := q.queueByARN(dest)
		dq.mu.Lock()
		c := &sqsMessage{
			id: m.id, body: m.body, attrs: m.attrs, sysAttrs: m.sysAttrs,
			md5Body: m.md5Body, md5Attrs: m.md5Attrs, md5SysAttrs: m.md5SysAttrs,
			sentAt: m.sentAt, senderID: m.senderID, groupID: m.groupID, dedupID: m.dedupID,
		}
		if dq.fifo {
			dq.seq++
			c.seq = strconv.FormatUint(dq.seq, 10)
			if c.groupID == "" {
				c.groupID = "redrive"
			}
		}
		if _, dup := dq.msgs[c.id]; !dup && !dq.deleted {
			dq.insertLocked(c, q.clk.Now(), 0)
		}
		dq.mu.Unlock()
		moved++
	}
	return moved, failure
}

// moveTaskResult is one row of ListMessageMoveTasks.
type moveTaskResult struct {
	TaskHandle                        string `json:"TaskHandle,omitempty" xml:"TaskHandle,omitempty"`
	Status                            string `json:"Status" xml:"Status"`
	SourceArn                         string `json:"SourceArn" xml:"SourceArn"`
	DestinationArn                    string `json:"DestinationArn,omitempty" xml:"DestinationArn,omitempty"`
	MaxNumberOfMessagesPerSecond      *int   `json:"MaxNumberOfMessagesPerSecond,omitempty" xml:"MaxNumberOfMessagesPerSecond,omitempty"`
	ApproximateNumberOfMessagesMoved  int64  `json:"ApproximateNumberOfMessagesMoved" xml:"ApproximateNumberOfMessagesMoved"`
	ApproximateNumberOfMessagesToMove *int64 `json:"ApproximateNumberOfMessagesToMove,omitempty" xml:"ApproximateNumberOfMessagesToMove,omitempty"`
	FailureReason                     string `json:"FailureReason,omitempty" xml:"FailureReason,omitempty"`
	StartedTimestamp                  int64  `json:"StartedTimestamp" xml:"StartedTimestamp"`
}

// listMoveTasks returns up to max (1..10, default 1) tasks of sourceARN,
// the most recent first; only a running task carries its handle.
func (q *sqsService) listMoveTasks(sourceARN string, max *int) ([]moveTaskResult, *sqsError) {
	if sourceARN == "" {
		return nil, errMissingParameter("SourceArn")
	}
	if q.queueByARN(sourceARN) == nil {
		return nil, errResourceNotFound("The resource that you specified for the SourceArn parameter doesn't exist.")
	}
	n := 1
	if max != nil {
		if *max < 1 || *max > 10 {
			return nil, errInvalidParameterValue("Value %d for parameter MaxResults is invalid. Reason: must be between 1 and 10.", *max)
		}
		n = *max
	}
	q.moves.mu.Lock()
	tasks := append([]*moveTask(nil), q.moves.bySrc[sourceARN]...)
	q.moves.mu.Unlock()
	out := []moveTaskResult{}
	for i := len(tasks) - 1; i >= 0 && len(out) < n; i-- {
		t := tasks[i]
		t.mu.Lock()
		r := moveTaskResult{Status: t.status, SourceArn: t.sourceARN, DestinationArn: t.destinationARN,
			ApproximateNumberOfMessagesMoved: int64(t.moved), FailureReason: t.failure, StartedTimestamp: t.started.UnixMilli()}
		if t.rate > 0 {
			rate := t.rate
			r.MaxNumberOfMessagesPerSecond = &rate
		}
		if t.status == moveRunning {
			r.TaskHandle = t.handle
			toMove := int64(t.toMove)
			r.ApproximateNumberOfMessagesToMove = &toMove
		}
		t.mu.Unlock()
		out = append(out, r)
	}
	return out, nil
}

// cancelMoveTask cancels a running task and returns how many messages it
// moved.
func (q *sqsService) cancelMoveTask(handle string) (int64, *sqsError) {
	if handle == "" {
		return 0, errMissingParameter("TaskHandle")
	}
	q.moves.mu.Lock()
	t := q.moves.all[handle]
	q.moves.mu.Unlock()
	if t == nil {
		return 0, errResourceNotFound("Task does not exist.")
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.status != moveRunning {
		return 0, errInvalidParameterValue("Value %s for parameter TaskHandle is invalid. Reason: Task is in %s status. Only a task in RUNNING status can be cancelled.", handle, t.status)
	}
	t.status = moveCancelling
	close(t.cancel)
	return int64(t.moved), nil
}
