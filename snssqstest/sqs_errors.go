package snssqstest

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
)

// sqsError is an SQS API error, rendered in the JSON protocol as
// {"__type":"com.amazonaws.sqs#Shape","message":...} plus the
// x-amzn-query-error header, and in the query protocol as an XML
// ErrorResponse carrying the query code.
type sqsError struct {
	shape     string // JSON shape name, e.g. "QueueDoesNotExist"
	queryCode string // query code, e.g. "AWS.SimpleQueueService.NonExistentQueue"
	status    int
	sender    bool
	message   string
}

func (e *sqsError) Error() string { return e.queryCode + ": " + e.message }

// fault is the query-protocol fault type: Sender or Receiver.
func (e *sqsError) fault() string {
	if e.sender {
		return "Sender"
	}
	return "Receiver"
}

func newSQSError(shape, queryCode string, status int, format string, args ...any) *sqsError {
	return &sqsError{shape: shape, queryCode: queryCode, status: status, sender: true, message: fmt.Sprintf(format, args...)}
}

func errQueueDoesNotExist() *sqsError {
	return newSQSError("QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue", http.StatusBadRequest,
		"The specified queue does not exist.")
}

func errQueueNameExists(attr string) *sqsError {
	return newSQSError("QueueNameExists", "QueueAlreadyExists", http.StatusBadRequest,
		"A queue already exists with the same name and a different value for attribute %s", attr)
}

func errPurgeQueueInProgress(queueURL string) *sqsError {
	return newSQSError("PurgeQueueInProgress", "AWS.SimpleQueueService.PurgeQueueInProgress", http.StatusForbidden,
		"Only one PurgeQueue operation on %s is allowed every 60 seconds.", queueURL)
}

func errInvalidParameterValue(format string, args ...any) *sqsError {
	return newSQSError("InvalidParameterValue", "InvalidParameterValue", http.StatusBadRequest, format, args...)
}

func errMissingParameter(name string) *sqsError {
	return newSQSError("MissingParameter", "MissingParameter", http.StatusBadRequest,
		"The request must contain the parameter %s.", name)
}

func errInvalidAttributeName(format string, args ...any) *sqsError {
	return newSQSError("InvalidAttributeName", "InvalidAttributeName", http.StatusBadRequest, format, args...)
}

func errInvalidAttributeValue(name string) *sqsError {
	return newSQSError("InvalidAttributeValue", "InvalidAttributeValue", http.StatusBadRequest,
		"Invalid value for the parameter %s.", name)
}

func errInvalidMessageContents() *sqsError {
	return newSQSError("InvalidMessageContents", "InvalidMessageContents", http.StatusBadRequest,
		"Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF")
}

func errReceiptHandleIsInvalid(handle string) *sqsError {
	return newSQSError("ReceiptHandleIsInvalid", "ReceiptHandleIsInvalid", http.StatusNotFound,
		"The input receipt handle %q is not a valid receipt handle.", handle)
}

func errMessageNotInflight() *sqsError {
	return newSQSError("MessageNotInflight", "AWS.SimpleQueueService.MessageNotInflight", http.StatusBadRequest,
		"The message referred to isn't in flight.")
}

func errEmptyBatchRequest(entry string) *sqsError {
	return newSQSError("EmptyBatchRequest", "AWS.SimpleQueueService.EmptyBatchRequest", http.StatusBadRequest,
		"There should be at least one %s in the request.", entry)
}

func errTooManyEntriesInBatchRequest(n int) *sqsError {
	return newSQSError("TooManyEntriesInBatchRequest", "AWS.SimpleQueueService.TooManyEntriesInBatchRequest", http.StatusBadRequest,
		"Maximum number of entries per request are 10. You have sent %d.", n)
}

func errBatchEntryIdsNotDistinct(id string) *sqsError {
	return newSQSError("BatchEntryIdsNotDistinct", "AWS.SimpleQueueService.BatchEntryIdsNotDistinct", http.StatusBadRequest,
		"Id %s repeated.", id)
}

func errInvalidBatchEntryID() *sqsError {
	return newSQSError("InvalidBatchEntryId", "AWS.SimpleQueueService.InvalidBatchEntryId", http.StatusBadRequest,
		"A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.")
}

func errBatchRequestTooLong(size, limit int) *sqsError {
	return newSQSError("BatchRequestTooLong", "AWS.SimpleQueueService.BatchRequestTooLong", http.StatusBadRequest,
		"Batch requests cannot be longer than %d bytes. You have sent %d bytes.", limit, size)
}

func errInvalidAction(action string) *sqsError {
	return newSQSError("InvalidAction", "InvalidAction", http.StatusBadRequest,
		"The action %s is not valid for this endpoint.", action)
}

// errUnknownOperation is the JSON protocol's answer to an unknown X-Amz-Target
// operation: coral's UnknownOperationException, whose query code is InvalidAction.
func errUnknownOperation(op string) *sqsError {
	return newSQSError("UnknownOperationException", "InvalidAction", http.StatusBadRequest,
		"The action %s is not valid for this endpoint.", op)
}

func errSerialization(format string, args ...any) *sqsError {
	return newSQSError("SerializationException", "SerializationException", http.StatusBadRequest, format, args...)
}

func errUnsupportedOperation(format string, args ...any) *sqsError {
	return newSQSError("UnsupportedOperation", "AWS.SimpleQueueService.UnsupportedOperation", http.StatusBadRequest, format, args...)
}

// jsonType is the JSON protocol's __type: modelled SQS errors live in the
// com.amazonaws.sqs namespace; the generic ones use coral's namespaces as AWS does.
func (e *sqsError) jsonType() string {
	switch e.shape {
	case "SerializationException", "UnknownOperationException":
		return "com.amazon.coral.service#" + e.shape
	}
	return "com.amazonaws.sqs#" + e.shape
}

// writeJSONError writes e in the JSON 1.0 protocol's error shape.
func writeJSONError(w http.ResponseWriter, requestID string, e *sqsError) {
	body, _ := json.Marshal(struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}{e.jsonType(), e.message})
	h := w.Header()
	h.Set("Content-Type", "application/x-amz-json-1.0")
	h.Set("x-amzn-RequestId", requestID)
	h.Set("x-amzn-query-error", e.queryCode+";"+e.fault())
	w.WriteHeader(e.status)
	_, _ = w.Write(body)
}

type xmlErrorResponse struct {
	XMLName   xml.Name `xml:"ErrorResponse"`
	Xmlns     string   `xml:"xmlns,attr"`
	Type      string   `xml:"Error>Type"`
	Code      string   `xml:"Error>Code"`
	Message   string   `xml:"Error>Message"`
	Detail    string   `xml:"Error>Detail"`
	RequestID string   `xml:"RequestId"`
}

// writeQueryError writes e in the query protocol's XML error shape.
func writeQueryError(w http.ResponseWriter, requestID string, e *sqsError) {
	body, _ := xml.Marshal(xmlErrorResponse{
		Xmlns: sqsXMLNS, Type: e.fault(), Code: e.queryCode, Message: e.message, RequestID: requestID,
	})
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("x-amzn-RequestId", requestID)
	w.WriteHeader(e.status)
	_, _ = w.Write([]byte(xml.Header))
	_, _ = w.Write(body)
}
