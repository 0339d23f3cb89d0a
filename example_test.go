package snssqs_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/snssqs/snssqs"
	"github.com/snssqs/snssqs/provision"
	"github.com/snssqs/snssqs/snssqstest"
)

// CardCreated is the event of the examples: a bank card was created.
type CardCreated struct {
	CardID string `json:"cardId"`
	UserID string `json:"userId"`
}

// startEmulator starts the in-process emulator that stands in for AWS in the
// examples; the caller closes it.
func startEmulator() *snssqstest.Server {
	srv, err := snssqstest.NewServer()
	if err != nil {
		log.Fatal(err)
	}
	return srv
}

// provisionCardCreated provisions topic_card_created with one queue,
// queue_card_created, on srv and returns the clients of srv with the
// topology.
func provisionCardCreated(ctx context.Context, srv *snssqstest.Server, queue provision.QueueSpec) (*sns.Client, *sqs.Client, *provision.Topology) {
	cfg := srv.AWSConfig()
	snsClient, sqsClient := sns.NewFromConfig(cfg), sqs.NewFromConfig(cfg)
	queue.Name = "queue_card_created"
	topo, err := provision.Apply(ctx, snsClient, sqsClient, provision.TopologySpec{
		TopicName: "topic_card_created",
		Queues:    []provision.QueueSpec{queue},
	})
	if err != nil {
		log.Fatal(err)
	}
	return snsClient, sqsClient, topo
}

// publishAndHandle runs subscriber, publishes one CardCreated to topicARN
// with publisher, and shuts the subscriber down once done is closed (by the
// handler).
func publishAndHandle(ctx context.Context, subscriber *snssqs.Subscriber, publisher *snssqs.Publisher, topicARN string, done <-chan struct{}) {
	stopped := make(chan error, 1)
	go func() { stopped <- subscriber.Run(ctx) }()
	if _, err := publisher.Publish(ctx, topicARN, "card.created", CardCreated{CardID: "card-1", UserID: "user-1"}); err != nil {
		log.Fatal(err)
	}
	<-done
	if err := subscriber.Close(); err != nil { // Run returns once the shutdown is complete
		log.Fatal(err)
	}
	if err := <-stopped; err != nil {
		log.Fatal(err)
	}
}

func ExampleBuildTopicARN() {
	// The partition follows from the region.
	fmt.Println(snssqs.BuildTopicARN("us-east-1", "123456789012", "topic_card_created"))
	fmt.Println(snssqs.BuildTopicARN("cn-north-1", "123456789012", "orders.fifo"))
	// Output:
	// arn:aws:sns:us-east-1:123456789012:topic_card_created
	// arn:aws-cn:sns:cn-north-1:123456789012:orders.fifo
}

func ExampleParseTopicARN() {
	topic, err := snssqs.ParseTopicARN("arn:aws:sns:eu-west-1:123456789012:orders.fifo")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(topic.Partition, topic.Region, topic.AccountID, topic.Name, topic.FIFO())

	// An SQS queue ARN is not a topic ARN.
	_, err = snssqs.ParseTopicARN("arn:aws:sqs:eu-west-1:123456789012:orders")
	fmt.Println(errors.Is(err, snssqs.ErrInvalidARN))
	// Output:
	// aws eu-west-1 123456789012 orders.fifo true
	// true
}

func ExampleNewPublisher() {
	srv := startEmulator()
	defer srv.Close()

	publisher, err := snssqs.NewPublisher(sns.NewFromConfig(srv.AWSConfig()), func(o *snssqs.PublisherOptions) {
		o.Source = "card-service" // the CloudEvents source of every event
	})
	if err != nil {
		log.Fatal(err)
	}
	// Shutdown (or Close) sends what is still queued.
	defer publisher.Close()

	// Messages are validated before any request is made.
	_, err = publisher.Publish(context.Background(), "topic_card_created", "card.created", CardCreated{CardID: "card-1"})
	fmt.Println(errors.Is(err, snssqs.ErrInvalidARN))

	// Invalid options are rejected.
	_, err = snssqs.NewPublisher(sns.NewFromConfig(srv.AWSConfig()), func(o *snssqs.PublisherOptions) {
		o.MaxInFlightBatches = -1
	})
	fmt.Println(errors.Is(err, snssqs.ErrInvalidOptions))
	// Output:
	// true
	// true
}

func ExamplePublisher_Publish() {
	srv := startEmulator()
	defer srv.Close()
	ctx := context.Background()

	// Raw message delivery puts the published message itself in the queue,
	// without the SNS notification around it.
	snsClient, _, topo := provisionCardCreated(ctx, srv, provision.QueueSpec{RawMessageDelivery: true})

	publisher, err := snssqs.NewPublisher(snsClient, func(o *snssqs.PublisherOptions) { o.Source = "card-service" })
	if err != nil {
		log.Fatal(err)
	}
	defer publisher.Close()

	// The id and time are normally a new UUID and the current time; fixed
	// here so that the output below does not change.
	_, err = publisher.Publish(ctx, topo.TopicARN, "card.created",
		CardCreated{CardID: "card-1", UserID: "user-1"},
		snssqs.WithSubject("card-1"),
		snssqs.WithEventID("6f1c2d3e-0000-4000-8000-000000000001"),
		snssqs.WithTime(time.Date(2023, 5, 8, 10, 0, 0, 0, time.UTC)))
	if err != nil {
		log.Fatal(err)
	}

	// What the queue holds: a CloudEvents envelope, and the event type in
	// the ce_type attribute for subscription filter policies.
	for _, m := range srv.Messages("queue_card_created") {
		fmt.Println(m.Body)
		fmt.Println(snssqs.EventTypeAttribute, "=", m.Attributes[snssqs.EventTypeAttribute].StringValue)
	}
	// Output:
	// {"specversion":"1.0","id":"6f1c2d3e-0000-4000-8000-000000000001","source":"card-service","type":"card.created","subject":"card-1","time":"2023-05-08T10:00:00Z","datacontenttype":"application/json","data":{"cardId":"card-1","userId":"user-1"}}
	// ce_type = card.created
}

func ExampleSubscriber_Handle() {
	srv := startEmulator()
	defer srv.Close()
	ctx := context.Background()
	snsClient, sqsClient, topo := provisionCardCreated(ctx, srv, provision.QueueSpec{DeadLetterQueue: true})

	subscriber, err := snssqs.NewSubscriber(sqsClient, func(o *snssqs.SubscriberOptions) {
		// Shutdown waits for a long poll in progress; a short one keeps
		// this example quick. Services usually keep the 20 s default.
		o.WaitTime = time.Second
	})
	if err != nil {
		log.Fatal(err)
	}
	done := make(chan struct{})
	// Returning nil deletes the message; an error brings it back later.
	_, err = subscriber.Handle(topo.Queues["queue_card_created"].URL, "card.created",
		func(ctx context.Context, m *snssqs.Message) error {
			fmt.Printf("got new message. Body %s\n", m.Data)
			close(done)
			return nil
		})
	if err != nil {
		log.Fatal(err)
	}

	publisher, err := snssqs.NewPublisher(snsClient)
	if err != nil {
		log.Fatal(err)
	}
	defer publisher.Close()
	publishAndHandle(ctx, subscriber, publisher, topo.TopicARN, done)
	// Output:
	// got new message. Body {"cardId":"card-1","userId":"user-1"}
}

func ExampleHandleFunc() {
	srv := startEmulator()
	defer srv.Close()
	ctx := context.Background()
	snsClient, sqsClient, topo := provisionCardCreated(ctx, srv, provision.QueueSpec{DeadLetterQueue: true})

	subscriber, err := snssqs.NewSubscriber(sqsClient, func(o *snssqs.SubscriberOptions) { o.WaitTime = time.Second })
	if err != nil {
		log.Fatal(err)
	}
	done := make(chan struct{})
	// The event's JSON is decoded into a CardCreated before fn runs; data
	// that does not decode fails the message (ErrMalformedMessage).
	_, err = snssqs.HandleFunc(subscriber, topo.Queues["queue_card_created"].URL, "card.created",
		func(ctx context.Context, card CardCreated, m *snssqs.Message) error {
			fmt.Printf("card %s of user %s, %s from %s, delivery %d\n", card.CardID, card.UserID, m.Type, m.Source, m.ReceiveCount)
			close(done)
			return nil
		})
	if err != nil {
		log.Fatal(err)
	}

	publisher, err := snssqs.NewPublisher(snsClient, func(o *snssqs.PublisherOptions) { o.Source = "card-service" })
	if err != nil {
		log.Fatal(err)
	}
	defer publisher.Close()
	publishAndHandle(ctx, subscriber, publisher, topo.TopicARN, done)
	// Output:
	// card card-1 of user user-1, card.created from card-service, delivery 1
}
