package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// eventType is the event type every contender publishes and subscribes to.
const eventType = "bench.event"

// eventTypeAttribute is the message attribute the raw-SDK and gocloud
// contenders attach, so every contender sends an event type next to the body
// the way snssqs does with ce_type.
const eventTypeAttribute = "event_type"

// filler pads each event to a realistic small-event size (~200 bytes of JSON).
const filler = "The quick brown fox jumps over the lazy dog; pack my box with five dozen liquor jugs. 0123456789abcdef0123456789abcdef"

// benchEvent is the payload published by every contender. SentUnixNano is the
// wall-clock time the publish call started, so the handler can compute the
// publish-to-handler latency.
type benchEvent struct {
	Seq          int64  `json:"seq"`
	SentUnixNano int64  `json:"sent_unix_nano"`
	Note         string `json:"note"`
}

// handlerFunc is the benchmark's handler: every contender calls it once per
// delivered event, with the message's SQS ApproximateReceiveCount (0 when
// unknown), and acknowledges (deletes) the message only when it returns nil.
type handlerFunc func(ctx context.Context, ev benchEvent, receiveCount int) error

// awsClients are the SDK clients one run of a contender uses.
type awsClients struct {
	sns *sns.Client
	sqs *sqs.Client
}

// consumerSpec tells a consumer how to run. Concurrency 0 means the
// contender's own default.
type consumerSpec struct {
	queueURL    string
	topicARN    string
	concurrency int
}

// publisher sends events to one topic (or, for snssqs-sqs, straight to
// the queue).
type publisher interface {
	// publish sends the events; it returns when all were accepted by SNS.
	publish(ctx context.Context, events []benchEvent) error
	// close flushes and releases the publisher.
	close(ctx context.Context) error
}

// consumer is a running receive loop; stop ends it, waits for running
// handlers and flushes pending acknowledgements.
type consumer interface {
	stop(ctx context.Context) error
}

// contender is one way of doing the same end-to-end work.
type contender interface {
	// name is the contender's short name, used in flags and reports.
	name() string
	// description is one line for the report.
	description() string
	// batchSize is how many events the harness hands to one publish call.
	batchSize() int
	// supportsConcurrency reports whether the consumer runs handlers
	// concurrently (the slow-handler run is skipped otherwise).
	supportsConcurrency() bool
	openPublisher(ctx context.Context, cl awsClients, ref queueRef) (publisher, error)
	startConsumer(ctx context.Context, cl awsClients, spec consumerSpec, h handlerFunc) (consumer, error)
}

// benchSource is the CloudEvents source of the events the contenders that
// send envelopes publish.
const benchSource = "snssqs-bench"

// allContenders returns the contenders in report order.
func allContenders() []contender {
	return []contender{snssqsContender{}, snssqsContender{otel: true}, snssqsQueueContender{}, gocloudContender{}, naiveContender{}, batchedContender{}, batchedContender{envelope: true}}
}

// selectContenders returns the contenders named in the comma-separated list.
func selectContenders(list string) ([]contender, error) {
	all := allContenders()
	if strings.TrimSpace(list) == "" || list == "all" {
		return all, nil
	}
	var out []contender
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		found := false
		for _, c := range all {
			if c.name() == name {
				out = append(out, c)
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("unknown contender %q (want snssqs, snssqs-otel, snssqs-sqs, gocloud, naive, batched, batched-ce)", name)
		}
	}
	return out, nil
}

// snsNotification is the part of the SNS notification JSON the raw-SDK
// contenders read to unwrap the published body.
type snsNotification struct {
	Type      string `json:"Type"`
	MessageID string `json:"MessageId"`
	TopicArn  string `json:"TopicArn"`
	Message   string `json:"Message"`
}

// receiveCount returns the ApproximateReceiveCount system attribute, 0 when
// absent.
func receiveCount(attrs map[string]string) int {
	n, _ := strconv.Atoi(attrs[string(sqstypes.MessageSystemAttributeNameApproximateReceiveCount)])
	return n
}

// decodeNotification unwraps an SNS notification body and decodes the event
// inside, as a hand-written raw-SDK consumer does.
func decodeNotification(body string) (benchEvent, error) {
	msg, err := notificationMessage(body)
	if err != nil {
		return benchEvent{}, err
	}
	var ev benchEvent
	if err := json.Unmarshal([]byte(msg), &ev); err != nil {
		return benchEvent{}, fmt.Errorf("decode event: %w", err)
	}
	return ev, nil
}

// decodeEnvelopeNotification unwraps an SNS notification whose message is
// a CloudEvents envelope and decodes the event in its data, as a
// hand-written raw-SDK consumer of such messages does.
func decodeEnvelopeNotification(body string) (benchEvent, error) {
	msg, err := notificationMessage(body)
	if err != nil {
		return benchEvent{}, err
	}
	var env struct {
		SpecVersion string     `json:"specversion"`
		Type        string     `json:"type"`
		Data        benchEvent `json:"data"`
	}
	if err := json.Unmarshal([]byte(msg), &env); err != nil {
		return benchEvent{}, fmt.Errorf("decode envelope: %w", err)
	}
	if env.SpecVersion != "1.0" || env.Type != eventType {
		return benchEvent{}, fmt.Errorf("decode envelope: specversion %q, type %q", env.SpecVersion, env.Type)
	}
	return env.Data, nil
}

// notificationMessage returns the Message of an SNS notification body.
func notificationMessage(body string) (string, error) {
	var n snsNotification
	if err := json.Unmarshal([]byte(body), &n); err != nil {
		return "", fmt.Errorf("decode SNS notification: %w", err)
	}
	if n.Type != "Notification" {
		return "", fmt.Errorf("decode SNS notification: type %q", n.Type)
	}
	return n.Message, nil
}
