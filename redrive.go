package snssqs

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/snssqs/snssqs/internal/codec"
)

// queueAttributesAPI is implemented by clients that can read queue
// attributes, as *sqs.Client does. A Subscriber whose hooks want it reads
// each queue's redrive policy through it; SQSConsumeAPI does not require it.
type queueAttributesAPI interface {
	GetQueueAttributes(ctx context.Context, in *sqs.GetQueueAttributesInput, optFns ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
}

// redriveReadTimeout bounds the read of a queue's redrive policy.
const redriveReadTimeout = 10 * time.Second

// maxReceiveCount returns the maxReceiveCount of queueURL's redrive
// policy, or 0 when the queue has none, the client cannot read it, or the
// read fails (logged: hooks then see MaxReceiveCount 0).
func (s *Subscriber) maxReceiveCount(ctx context.Context, queueURL string) int {
	getter, ok := s.client.(queueAttributesAPI)
	if !ok {
		return 0
	}
	ctx, cancel := context.WithTimeout(ctx, redriveReadTimeout)
	defer cancel()
	out, err := getter.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       &queueURL,
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameRedrivePolicy},
	})
	if err != nil {
		s.log.WithField("queue", queueURL).WithError(err).Warn("snssqs: reading the queue's redrive policy failed; hooks will not know its maxReceiveCount")
		return 0
	}
	return parseMaxReceiveCount(out.Attributes[string(types.QueueAttributeNameRedrivePolicy)])
}

// parseMaxReceiveCount reads maxReceiveCount from a RedrivePolicy, which
// SQS writes as a number or a string; 0 when absent or invalid.
func parseMaxReceiveCount(policy string) int {
	if policy == "" {
		return 0
	}
	var p struct {
		MaxReceiveCount json.RawMessage `json:"maxReceiveCount"`
	}
	if json.Unmarshal([]byte(policy), &p) != nil {
		return 0
	}
	raw := string(p.MaxReceiveCount)
	if s, ok := codec.Unquote(p.MaxReceiveCount); ok {
		raw = s
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 0 {
		return 0
	}
	return n
}
