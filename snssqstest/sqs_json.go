package snssqstest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
)

// The SQS JSON 1.0 protocol (aws-sdk-go-v2 sqs v1.53+, current CLIs):
// POST / with X-Amz-Target: AmazonSQS.<Op>, a JSON body, JSON responses and
// errors as {"__type":..., "message":...} plus x-amzn-query-error.

// maxRequestBody bounds what the emulator reads of one request.
const maxRequestBody = 16 << 20

type jsonMessageAttribute struct {
	DataType         string   `json:"DataType"`
	StringValue      *string  `json:"StringValue,omitempty"`
	BinaryValue      []byte   `json:"BinaryValue,omitempty"`
	StringListValues []string `json:"StringListValues,omitempty"`
	BinaryListValues [][]byte `json:"BinaryListValues,omitempty"`
}

func fromJSONAttrs(in map[string]jsonMessageAttribute) map[string]messageAttribute {
	if len(in) == 0 {
		return nil
	}
	out := make(map[string]messageAttribute, len(in))
	for k, v := range in {
		a := messageAttribute{DataType: v.DataType, BinaryValue: v.BinaryValue}
		if v.StringValue != nil {
			a.StringValue = *v.StringValue
		}
		out[k] = a
	}
	return out
}

func toJSONAttrs(in map[string]messageAttribute) map[string]jsonMessageAttribute {
	if len(in) == 0 {
		return nil
	}
	out := make(map[string]jsonMessageAttribute, len(in))
	for k, v := range in {
		a := jsonMessageAttribute{DataType: v.DataType}
		if dataTypeBaseOf(v.DataType) == "Binary" {
			a.BinaryValue = v.BinaryValue
		} else {
			s := v.StringValue
			a.StringValue = &s
		}
		out[k] = a
	}
	return out
}

type jsonSendEntry struct {
	ID                      string                          `json:"Id"`
	QueueURL                string                          `json:"QueueUrl"`
	MessageBody             *string                         `json:"MessageBody"`
	DelaySeconds            *int                            `json:"DelaySeconds"`
	MessageAttributes       map[string]jsonMessageAttribute `json:"MessageAttributes"`
	MessageSystemAttributes map[string]jsonMessageAttribute `json:"MessageSystemAttributes"`
	MessageGroupID          string                          `json:"MessageGroupId"`
	MessageDeduplicationID  string                          `json:"MessageDeduplicationId"`
}

func (e jsonSendEntry) toEntry() sendEntry {
	se := sendEntry{
		ID:               e.ID,
		DelaySeconds:     e.DelaySeconds,
		Attributes:       fromJSONAttrs(e.MessageAttributes),
		SystemAttributes: fromJSONAttrs(e.MessageSystemAttributes),
		GroupID:          e.MessageGroupID,
		DedupID:          e.MessageDeduplicationID,
	}
	if e.MessageBody != nil {
		se.Body, se.HasBody = *e.MessageBody, true
	}
	return se
}

type jsonBatchFailure struct {
	ID          string `json:"Id"`
	Code        string `json:"Code"`
	Message     string `json:"Message,omitempty"`
	SenderFault bool   `json:"SenderFault"`
}

func toJSONFailures(f []batchFailure) []jsonBatchFailure {
	out := make([]jsonBatchFailure, len(f))
	for i, x := range f {
		out[i] = jsonBatchFailure(x)
	}
	return out
}

type jsonHandleEntry struct {
	ID                string `json:"Id"`
	ReceiptHandle     string `json:"ReceiptHandle"`
	VisibilityTimeout *int   `json:"VisibilityTimeout"`
}

func toHandleEntries(in []jsonHandleEntry) []handleEntry {
	out := make([]handleEntry, len(in))
	for i, e := range in {
		out[i] = handleEntry{ID: e.ID, ReceiptHandle: e.ReceiptHandle, Visibility: e.VisibilityTimeout}
	}
	return out
}

type jsonIDEntry struct {
	ID string `json:"Id"`
}

func toIDEntries(ids []string) []jsonIDEntry {
	out := make([]jsonIDEntry, len(ids))
	for i, id := range ids {
		out[i] = jsonIDEntry{ID: id}
	}
	return out
}

type jsonRequest struct {
	QueueURL                     string                          `json:"QueueUrl"`
	QueueName                    string                          `json:"QueueName"`
	QueueNamePrefix              string                          `json:"QueueNamePrefix"`
	QueueOwnerAWSAccountID       string                          `json:"QueueOwnerAWSAccountId"`
	Attributes                   map[string]string               `json:"Attributes"`
	Tags                         map[string]string               `json:"Tags"` // TagQueue "Tags", CreateQueue "tags" (case-insensitive)
	TagKeys                      []string                        `json:"TagKeys"`
	AttributeNames               []string                        `json:"AttributeNames"`
	MessageSystemAttributeNames  []string                        `json:"MessageSystemAttributeNames"`
	MessageAttributeNames        []string                        `json:"MessageAttributeNames"`
	MaxNumberOfMessages          *int                            `json:"MaxNumberOfMessages"`
	WaitTimeSeconds              *int                            `json:"WaitTimeSeconds"`
	VisibilityTimeout            *int                            `json:"VisibilityTimeout"`
	ReceiveRequestAttemptID      string                          `json:"ReceiveRequestAttemptId"`
	ReceiptHandle                string                          `json:"ReceiptHandle"`
	MaxResults                   *int                            `json:"MaxResults"`
	NextToken                    string                          `json:"NextToken"`
	MessageBody                  *string                         `json:"MessageBody"`
	DelaySeconds                 *int                            `json:"DelaySeconds"`
	MessageAttributes            map[string]jsonMessageAttribute `json:"MessageAttributes"`
	MessageSystemAttributes      map[string]jsonMessageAttribute `json:"MessageSystemAttributes"`
	MessageGroupID               string                          `json:"MessageGroupId"`
	MessageDeduplicationID       string                          `json:"MessageDeduplicationId"`
	Entries                      json.RawMessage                 `json:"Entries"`
	Label                        string                          `json:"Label"`
	AWSAccountIDs                []string                        `json:"AWSAccountIds"`
	Actions                      []string                        `json:"Actions"`
	SourceArn                    string                          `json:"SourceArn"`
	DestinationArn               string                          `json:"DestinationArn"`
	MaxNumberOfMessagesPerSecond *int                            `json:"MaxNumberOfMessagesPerSecond"`
	TaskHandle                   string                          `json:"TaskHandle"`
}

type jsonMessage struct {
	MessageID              string                          `json:"MessageId"`
	ReceiptHandle          string                          `json:"ReceiptHandle"`
	MD5OfBody              string                          `json:"MD5OfBody"`
	Body                   string                          `json:"Body"`
	Attributes             map[string]string               `json:"Attributes,omitempty"`
	MD5OfMessageAttributes string                          `json:"MD5OfMessageAttributes,omitempty"`
	MessageAttributes      map[string]jsonMessageAttribute `json:"MessageAttributes,omitempty"`
}

type jsonSendResult struct {
	ID                           string `json:"Id,omitempty"`
	MessageID                    string `json:"MessageId"`
	MD5OfMessageBody             string `json:"MD5OfMessageBody"`
	MD5OfMessageAttributes       string `json:"MD5OfMessageAttributes,omitempty"`
	MD5OfMessageSystemAttributes string `json:"MD5OfMessageSystemAttributes,omitempty"`
	SequenceNumber               string `json:"SequenceNumber,omitempty"`
}

func toJSONSendResult(r sendResult) jsonSendResult {
	return jsonSendResult{ID: r.ID, MessageID: r.MessageID, MD5OfMessageBody: r.MD5Body,
		MD5OfMessageAttributes: r.MD5Attrs, MD5OfMessageSystemAttributes: r.MD5SysAttrs, SequenceNumber: r.Seq}
}

type jsonBatchResult[T any] struct {
	Successful []T                `json:"Successful"`
	Failed     []jsonBatchFailure `json:"Failed"`
}

// serveJSON answers one JSON-protocol request.
func (q *sqsService) serveJSON(w http.ResponseWriter, r *http.Request, op string) {
	requestID := newUUID()
	if r.Method != http.MethodPost {
		writeJSONError(w, requestID, errInvalidAction(op))
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody))
	if err != nil {
		writeJSONError(w, requestID, errSerialization("could not read the request body"))
		return
	}
	var req jsonRequest
	if len(bytes.TrimSpace(body)) > 0 {
		if err := json.Unmarshal(body, &req); err != nil {
			writeJSONError(w, requestID, jsonDecodeError(err))
			return
		}
	}
	out, serr := q.dispatchJSON(r.Context(), r, op, &req)
	if serr != nil {
		writeJSONError(w, requestID, serr)
		return
	}
	if out == nil {
		out = struct{}{}
	}
	payload, err := json.Marshal(out)
	if err != nil {
		writeJSONError(w, requestID, newSQSError("InternalError", "InternalError", http.StatusInternalServerError, "could not encode the response"))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/x-amz-json-1.0")
	h.Set("x-amzn-RequestId", requestID)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(payload)
}

func jsonDecodeError(err error) *sqsError {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return errSerialization("Unexpected value of type %s for field %s", te.Value, te.Field)
	}
	return errSerialization("Malformed JSON request body")
}

func decodeEntries[T any](raw json.RawMessage, entryName string) ([]T, *sqsError) {
	var out []T
	if len(raw) == 0 || string(raw) == "null" {
		return nil, errEmptyBatchRequest(entryName)
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, jsonDecodeError(err)
	}
	return out, nil
}

// jsonHandleBatch serves DeleteMessageBatch or ChangeMessageVisibilityBatch
// in the JSON protocol: the queue is resolved before the entries are decoded
// (so a missing queue is reported before a malformed batch), then run
// applies the decoded entries.
func (q *sqsService) jsonHandleBatch(req *jsonRequest, entryName string,
	run func(queueURL string, entries []handleEntry) ([]string, []batchFailure, *sqsError)) (any, *sqsError) {
	if _, err := q.resolve(req.QueueURL); err != nil {
		return nil, err
	}
	raw, err := decodeEntries[jsonHandleEntry](req.Entries, entryName)
	if err != nil {
		return nil, err
	}
	ok, failed, err := run(req.QueueURL, toHandleEntries(raw))
	if err != nil {
		return nil, err
	}
	return jsonBatchResult[jsonIDEntry]{Successful: toIDEntries(ok), Failed: toJSONFailures(failed)}, nil
}

func (q *sqsService) dispatchJSON(ctx context.Context, r *http.Request, op string, req *jsonRequest) (any, *sqsError) {
	switch op {
	case "CreateQueue":
		u, err := q.createQueue(req.QueueName, req.Attributes, req.Tags)
		if err != nil {
			return nil, err
		}
		return map[string]string{"QueueUrl": u}, nil
	case "DeleteQueue":
		return nil, q.deleteQueue(req.QueueURL)
	case "GetQueueUrl":
		u, err := q.getQueueURL(req.QueueName, req.QueueOwnerAWSAccountID)
		if err != nil {
			return nil, err
		}
		return map[string]string{"QueueUrl": u}, nil
	case "ListQueues":
		max := 0
		if req.MaxResults != nil {
			max = *req.MaxResults
			if max < 1 {
				return nil, errInvalidParameterValue("Value %d for parameter MaxResults is invalid. Reason: MaxResults must be an integer between 1 and 1000.", max)
			}
		}
		urls, token, err := q.listQueues(req.QueueNamePrefix, max, req.NextToken)
		if err != nil {
			return nil, err
		}
		return struct {
			QueueUrls []string `json:"QueueUrls,omitempty"`
			NextToken string   `json:"NextToken,omitempty"`
		}{urls, token}, nil
	case "GetQueueAttributes":
		attrs, err := q.getQueueAttributes(req.QueueURL, req.AttributeNames)
		if err != nil {
			return nil, err
		}
		return struct {
			Attributes map[string]string `json:"Attributes,omitempty"`
		}{attrs}, nil
	case "SetQueueAttributes":
		return nil, q.setQueueAttributes(req.QueueURL, req.Attributes)
	case "PurgeQueue":
		return nil, q.purgeQueue(req.QueueURL)
	case "TagQueue":
		return nil, q.tagQueue(req.QueueURL, req.Tags)
	case "UntagQueue":
		return nil, q.untagQueue(req.QueueURL, req.TagKeys)
	case "ListQueueTags":
		tags, err := q.listQueueTags(req.QueueURL)
		if err != nil {
			return nil, err
		}
		return struct {
			Tags map[string]string `json:"Tags,omitempty"`
		}{tags}, nil
	case "ListDeadLetterSourceQueues":
		urls, err := q.listDeadLetterSourceQueues(req.QueueURL)
		if err != nil {
			return nil, err
		}
		return struct {
			QueueUrls []string `json:"queueUrls"`
		}{urls}, nil
	case "SendMessage":
		e := jsonSendEntry{MessageBody: req.MessageBody, DelaySeconds: req.DelaySeconds, MessageAttributes: req.MessageAttributes,
			MessageSystemAttributes: req.MessageSystemAttributes, MessageGroupID: req.MessageGroupID, MessageDeduplicationID: req.MessageDeduplicationID}
		res, err := q.sendMessage(req.QueueURL, e.toEntry(), q.senderIDOf(r))
		if err != nil {
			return nil, err
		}
		return toJSONSendResult(res), nil
	case "SendMessageBatch":
		if _, err := q.resolve(req.QueueURL); err != nil {
			return nil, err
		}
		raw, err := decodeEntries[jsonSendEntry](req.Entries, "SendMessageBatchRequestEntry")
		if err != nil {
			return nil, err
		}
		entries := make([]sendEntry, len(raw))
		for i, e := range raw {
			entries[i] = e.toEntry()
		}
		ok, failed, err := q.sendMessageBatch(req.QueueURL, entries, q.senderIDOf(r))
		if err != nil {
			return nil, err
		}
		res := jsonBatchResult[jsonSendResult]{Successful: make([]jsonSendResult, len(ok)), Failed: toJSONFailures(failed)}
		for i, x := range ok {
			res.Successful[i] = toJSONSendResult(x)
		}
		return res, nil
	case "ReceiveMessage":
		msgs, err := q.receiveMessage(ctx, receiveRequest{
			QueueURL: req.QueueURL, Max: req.MaxNumberOfMessages, Wait: req.WaitTimeSeconds, Visibility: req.VisibilityTimeout,
			SystemAttrNames:  append(append([]string(nil), req.AttributeNames...), req.MessageSystemAttributeNames...),
			MessageAttrNames: req.MessageAttributeNames, ReceiveAttemptID: req.ReceiveRequestAttemptID,
		})
		if err != nil {
			return nil, err
		}
		if len(msgs) == 0 {
			return struct{}{}, nil
		}
		out := make([]jsonMessage, len(msgs))
		for i, m := range msgs {
			out[i] = jsonMessage{MessageID: m.MessageID, ReceiptHandle: m.ReceiptHandle, MD5OfBody: m.MD5Body, Body: m.Body,
				Attributes: m.Attributes, MD5OfMessageAttributes: m.MD5Attrs, MessageAttributes: toJSONAttrs(m.MessageAttributes)}
		}
		return struct {
			Messages []jsonMessage `json:"Messages"`
		}{out}, nil
	case "DeleteMessage":
		return nil, q.deleteMessage(req.QueueURL, req.ReceiptHandle)
	case "DeleteMessageBatch":
		return q.jsonHandleBatch(req, "DeleteMessageBatchRequestEntry", q.deleteMessageBatch)
	case "ChangeMessageVisibility":
		return nil, q.changeMessageVisibility(req.QueueURL, req.ReceiptHandle, req.VisibilityTimeout)
	case "ChangeMessageVisibilityBatch":
		return q.jsonHandleBatch(req, "ChangeMessageVisibilityBatchRequestEntry", q.changeMessageVisibilityBatch)
	case "AddPermission":
		return nil, q.addPermission(req.QueueURL, req.Label, req.AWSAccountIDs, req.Actions)
	case "RemovePermission":
		return nil, q.removePermission(req.QueueURL, req.Label)
	case "StartMessageMoveTask":
		h, err := q.startMoveTask(req.SourceArn, req.DestinationArn, req.MaxNumberOfMessagesPerSecond)
		if err != nil {
			return nil, err
		}
		return map[string]string{"TaskHandle": h}, nil
	case "ListMessageMoveTasks":
		res, err := q.listMoveTasks(req.SourceArn, req.MaxResults)
		if err != nil {
			return nil, err
		}
		return struct {
			Results []moveTaskResult `json:"Results"`
		}{res}, nil
	case "CancelMessageMoveTask":
		n, err := q.cancelMoveTask(req.TaskHandle)
		if err != nil {
			return nil, err
		}
		return map[string]int64{"ApproximateNumberOfMessagesMoved": n}, nil
	}
	return nil, errUnknownOperation(op)
}
