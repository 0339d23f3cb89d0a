package conformance

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/snssqs/snssqs"
)

// fifoRecording wraps the subscriber's SQS client in a FIFO scenario and
// records what the server hands out and what the handler starts, with each
// message's group and sequence: the evidence of who reorders a group.
//
// SQS guarantees that while a message of a group is in flight (received,
// neither deleted nor made visible again), no receive returns another
// message of that group, and that one receive returns a group's messages in
// order. A server that breaks this is recorded as a violation.
type fifoRecording struct {
	snssqs.SQSConsumeAPI
	start time.Time

	mu         sync.Mutex
	log        []string
	inFlight   map[string]map[string]int // group -> receipt handle -> seq
	violations []string
}

func newFIFORecording(client snssqs.SQSConsumeAPI) *fifoRecording {
	return &fifoRecording{SQSConsumeAPI: client, start: time.Now(), inFlight: map[string]map[string]int{}}
}

func (r *fifoRecording) ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, optFns ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error) {
	out, err := r.SQSConsumeAPI.ReceiveMessage(ctx, in, optFns...)
	if err != nil || len(out.Messages) == 0 {
		return out, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var got []string
	last := map[string]int{}
	for _, m := range out.Messages {
		group, seq := m.Attributes[string(types.MessageSystemAttributeNameMessageGroupId)], seqOfBody(aws.ToString(m.Body))
		got = append(got, fmt.Sprintf("%s#%d", group, seq))
		if prev, ok := last[group]; ok && seq < prev {
			r.violations = append(r.violations, fmt.Sprintf("one receive returned %s#%d after %s#%d", group, seq, group, prev))
		}
		last[group] = seq
		if others := othersThan(r.inFlight[group], seq); others != "" { // the same seq again is a redelivery
			r.violations = append(r.violations, fmt.Sprintf("a receive returned %s#%d while %s was in flight", group, seq, group+"#"+others))
		}
	}
	for _, m := range out.Messages {
		group := m.Attributes[string(types.MessageSystemAttributeNameMessageGroupId)]
		if r.inFlight[group] == nil {
			r.inFlight[group] = map[string]int{}
		}
		r.inFlight[group][aws.ToString(m.ReceiptHandle)] = seqOfBody(aws.ToString(m.Body))
	}
	r.logf("receive -> %s", strings.Join(got, " "))
	return out, err
}

func (r *fifoRecording) DeleteMessageBatch(ctx context.Context, in *sqs.DeleteMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error) {
	handles := map[string]string{}
	for _, e := range in.Entries {
		handles[aws.ToString(e.Id)] = aws.ToString(e.ReceiptHandle)
	}
	// Out of flight once the request is on its way: the server may apply it
	// before its answer arrives, and before the answer to a receive made
	// meanwhile. Entries that failed are back in flight after the answer.
	left := r.leave("delete", handles)
	out, err := r.SQSConsumeAPI.DeleteMessageBatch(ctx, in, optFns...)
	var failed []types.BatchResultErrorEntry
	if out != nil {
		failed = out.Failed
	}
	r.restore(left, err, failed)
	return out, err
}

func (r *fifoRecording) ChangeMessageVisibilityBatch(ctx context.Context, in *sqs.ChangeMessageVisibilityBatchInput, optFns ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityBatchOutput, error) {
	// A zero visibility (a release) makes the message visible again; a
	// longer one is a heartbeat or a backoff, after which it is still its
	// group's head.
	handles := map[string]string{}
	for _, e := range in.Entries {
		if e.VisibilityTimeout == 0 {
			handles[aws.ToString(e.Id)] = aws.ToString(e.ReceiptHandle)
		}
	}
	left := r.leave("release", handles)
	out, err := r.SQSConsumeAPI.ChangeMessageVisibilityBatch(ctx, in, optFns...)
	var failed []types.BatchResultErrorEntry
	if out != nil {
		failed = out.Failed
	}
	r.restore(left, err, failed)
	return out, err
}

// inFlightEntry is a message taken out of flight by a request in progress.
type inFlightEntry struct {
	id, group, handle string
	seq               int
}

// handlerStarted records the start of the handler of group's seq.
func (r *fifoRecording) handlerStarted(group string, seq int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.logf("handle  %s#%d", group, seq)
}

// leave takes the messages of handles (batch entry id -> receipt handle)
// out of flight and returns them.
func (r *fifoRecording) leave(what string, handles map[string]string) []inFlightEntry {
	r.mu.Lock()
	defer r.mu.Unlock()
	var left []inFlightEntry
	var names []string
	for id, h := range handles {
		for group, held := range r.inFlight {
			if seq, ok := held[h]; ok {
				delete(held, h)
				left = append(left, inFlightEntry{id: id, group: group, handle: h, seq: seq})
				names = append(names, fmt.Sprintf("%s#%d", group, seq))
			}
		}
	}
	if len(names) > 0 {
		sort.Strings(names)
		r.logf("%s  %s", what, strings.Join(names, " "))
	}
	return left
}

// restore puts back in flight the entries whose request failed, wholly
// (err) or for their entry id.
func (r *fifoRecording) restore(left []inFlightEntry, err error, failed []types.BatchResultErrorEntry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range left {
		if err == nil && !failedEntry(failed, e.id) {
			continue
		}
		r.inFlight[e.group][e.handle] = e.seq
		r.logf("failed  %s#%d: in flight again", e.group, e.seq)
	}
}

func (r *fifoRecording) logf(format string, args ...any) {
	r.log = append(r.log, fmt.Sprintf("%8.1fms ", float64(time.Since(r.start).Microseconds())/1000)+fmt.Sprintf(format, args...))
}

// report returns the violations by the server and the whole recording.
func (r *fifoRecording) report() (violations []string, recording string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.violations...), strings.Join(r.log, "\n")
}

func failedEntry(failed []types.BatchResultErrorEntry, id string) bool {
	for _, f := range failed {
		if aws.ToString(f.Id) == id {
			return true
		}
	}
	return false
}

// othersThan lists the sequence numbers in held other than seq.
func othersThan(held map[string]int, seq int) string {
	var s []string
	for _, other := range held {
		if other != seq {
			s = append(s, fmt.Sprint(other))
		}
	}
	sort.Strings(s)
	return strings.Join(s, ",")
}

// seqOfBody reads the sequence number of a seqEvent from a message body: an
// SNS notification wrapping the envelope, or the envelope. -1 when there is
// none.
func seqOfBody(body string) int {
	var n struct{ Type, Message string }
	raw := body
	if json.Unmarshal([]byte(body), &n) == nil && n.Type == "Notification" {
		raw = n.Message
	}
	var env struct {
		Data seqEvent `json:"data"`
	}
	if json.Unmarshal([]byte(raw), &env) != nil {
		return -1
	}
	return env.Data.Seq
}
