// Command cardcreated reproduces the flow of the article "How to Use AWS
// SNS/SQS to Build a Distributed Application?": Service 1 creates a bank
// card and publishes a "card.created" event to the topic
// topic_card_created; SNS delivers it to the subscribed queue
// queue_card_created, where Service 2 receives it and logs
//
//	INFO[0000] got new message. Body {"cardId":"...","userId":"..."}
//
// The program provisions the topic, the queue (with a dead-letter queue)
// and the subscription, publishes one event, waits until Service 2 has
// handled it, and exits. It runs against the embedded emulator by default,
// LocalStack with -endpoint http://localhost:4566, or AWS with -aws.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/google/uuid"
	"github.com/sirupsen/logrus"

	"github.com/snssqs/snssqs"
	"github.com/snssqs/snssqs/examples/internal/exampleenv"
	"github.com/snssqs/snssqs/provision"
)

// The article's names.
const (
	topicCardCreated = "topic_card_created"
	queueCardCreated = "queue_card_created"
	region           = "us-east-1"
)

func main() { exampleenv.Main("cardcreated", run) }

// run is the whole program; exampleenv.Main adds the signal handling and
// the exit status. args are the command-line arguments without the program
// name.
func run(ctx context.Context, args []string, log logrus.FieldLogger) (err error) {
	fs := flag.NewFlagSet("cardcreated", flag.ContinueOnError)
	envFlags := exampleenv.RegisterFlags(fs, region) // -endpoint, -aws, -region, -timeout
	if err := fs.Parse(args); err != nil {
		return err // flag.ErrHelp for -h, which is no failure
	}
	// Give up if the event is not handled within -timeout.
	ctx, cancel := envFlags.WithTimeout(ctx)
	defer cancel()

	// AWS configuration: the embedded emulator, LocalStack or AWS. The
	// publisher needs the AWS account id to build the topic ARN; like the
	// article, Connect asks STS for it.
	env, accountID, err := envFlags.Connect(ctx, log)
	if err != nil {
		return err
	}
	defer env.Close()
	topicARN := snssqs.BuildTopicARN(env.Config.Region, accountID, topicCardCreated)

	// The article's prerequisites: the topic, the queue and the queue's
	// subscription to the topic. Provision is idempotent, so every run can
	// call it. The dead-letter queue keeps messages that keep failing.
	snsClient := sns.NewFromConfig(env.Config)
	sqsClient := sqs.NewFromConfig(env.Config)
	topo, err := provision.Apply(ctx, snsClient, sqsClient, provision.TopologySpec{
		TopicName: topicCardCreated,
		Queues:    []provision.QueueSpec{{Name: queueCardCreated, DeadLetterQueue: true}},
	})
	if err != nil {
		return err
	}
	if topo.TopicARN != topicARN {
		return fmt.Errorf("provisioned topic %s, but the account id and region give %s", topo.TopicARN, topicARN)
	}
	queue := topo.Queues[queueCardCreated]
	log.WithFields(logrus.Fields{"topic": topo.TopicARN, "queue": queue.URL, "dlq": queue.DeadLetterURL}).Info("provisioned")

	// Service 1: the card service and its publisher.
	publisher, err := snssqs.NewPublisher(snsClient, func(o *snssqs.PublisherOptions) {
		o.Source = "card-service"
		o.Logger = log
	})
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, exampleenv.Shutdown(ctx, publisher.Shutdown)) }()
	cards := NewCardService(publisher, topicARN)

	// Service 2: a subscriber on the queue. It only accepts notifications
	// from our topic.
	subscriber, err := snssqs.NewSubscriber(sqsClient, func(o *snssqs.SubscriberOptions) {
		o.Logger = log
		o.WaitTime = exampleenv.PollWait // a short long poll, for a prompt exit
		o.AllowedTopicARNs = []string{topicARN}
	})
	if err != nil {
		return err
	}
	card := CardCreated{CardID: uuid.NewString(), UserID: uuid.NewString()}
	handled := make(chan struct{})
	var once sync.Once
	_, err = snssqs.HandleFunc(subscriber, queue.URL, eventCardCreated,
		func(ctx context.Context, c CardCreated, m *snssqs.Message) error {
			log.Infof("got new message. Body %s", m.Data)
			if c.CardID == card.CardID { // earlier runs may have left events behind
				once.Do(func() { close(handled) })
			}
			return nil
		})
	if err != nil {
		return err
	}
	// Run polls the queue until Stop shuts the subscriber down gracefully.
	running := exampleenv.Start(ctx, subscriber)
	defer func() { err = errors.Join(err, exampleenv.Shutdown(ctx, running.Stop)) }()

	// A card was created in Service 1.
	msgID, err := cards.OnCardCreated(ctx, card)
	if err != nil {
		return err
	}
	log.WithFields(logrus.Fields{"cardId": card.CardID, "sns_message_id": msgID}).Info("card created, event published")

	select {
	case <-handled:
		log.Info("Service 2 handled the event; shutting down")
		return nil
	case <-running.Exited():
		return errors.New("subscriber stopped before the event arrived") // Stop adds Run's error
	case <-ctx.Done():
		return fmt.Errorf("the card.created event was not handled: %w", context.Cause(ctx))
	}
}
