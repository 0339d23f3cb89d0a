package snssqs

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
)

// Payloads larger than a message may carry travel outside it: the body is
// stored elsewhere (S3, with package s3offload) and the message carries a
// pointer to it, in the format of the AWS Extended Client Libraries for Java
// and Python (amazon-sqs-java-extended-client-lib,
// amazon-sns-java-extended-client-lib, payload-offloading-java-common):
//
//	["software.amazon.payloadoffloading.PayloadS3Pointer",{"s3BucketName":"b","s3Key":"k"}]
//
// with the payload's size in bytes in the Number message attribute
// ExtendedPayloadSize. A service using those libraries reads the messages a
// Publisher or QueuePublisher with a PayloadStore sends, and a Subscriber
// with a PayloadStore reads theirs.
const (
	// ExtendedPayloadSizeAttribute is the message attribute holding an
	// offloaded payload's size.
	ExtendedPayloadSizeAttribute = "ExtendedPayloadSize"
	// legacyPayloadSizeAttribute is the name older SQS Extended Clients use.
	legacyPayloadSizeAttribute = "SQSLargePayloadSize"
	// payloadPointerClass is the first element of a pointer body.
	payloadPointerClass = "software.amazon.payloadoffloading.PayloadS3Pointer"
)

// PayloadPointer locates an offloaded payload.
type PayloadPointer struct {
	// Bucket is the S3 bucket.
	Bucket string `json:"s3BucketName"`
	// Key is the object key.
	Key string `json:"s3Key"`
}

// Body is the message body that carries the pointer, as the Extended Client
// Libraries write it.
func (p PayloadPointer) Body() string {
	b, _ := json.Marshal([]any{payloadPointerClass, p}) // strings only: cannot fail
	return string(b)
}

// ParsePayloadPointer reads a pointer body. ok is false (and err nil) for a
// body that is not one; err wraps ErrMalformedMessage for a body that names
// the pointer class but is not a valid pointer.
func ParsePayloadPointer(body []byte) (p PayloadPointer, ok bool, err error) {
	if len(body) == 0 || body[0] != '[' {
		return p, false, nil
	}
	var parts []json.RawMessage
	if json.Unmarshal(body, &parts) != nil || len(parts) != 2 {
		return p, false, nil
	}
	var class string
	if json.Unmarshal(parts[0], &class) != nil || class != payloadPointerClass {
		return p, false, nil
	}
	if err := json.Unmarshal(parts[1], &p); err != nil || p.Bucket == "" || p.Key == "" {
		return PayloadPointer{}, true, fmt.Errorf("%w: S3 payload pointer without a bucket and a key", ErrMalformedMessage)
	}
	return p, true, nil
}

// PayloadStore keeps payloads too large for a message. Package s3offload
// implements it on S3; tests substitute a map. Its methods must be safe for
// concurrent use.
type PayloadStore interface {
	// Put stores payload and returns where.
	Put(ctx context.Context, payload []byte) (PayloadPointer, error)
	// Get returns the payload p points to.
	Get(ctx context.Context, p PayloadPointer) ([]byte, error)
	// Delete removes the payload p points to; the Subscriber calls it once
	// the message carrying p is deleted. A store configured to keep
	// payloads does nothing.
	Delete(ctx context.Context, p PayloadPointer) error
}

// payloadSizeAttribute is the ExtendedPayloadSize attribute of a payload of
// n bytes.
func payloadSizeAttribute(n int) Attribute {
	return NumberAttribute(strconv.Itoa(n))
}
