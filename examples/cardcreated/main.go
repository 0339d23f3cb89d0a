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
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/google/uuid"
	"github.com/sirupsen/logrus"

	"github.com/snssqs/snssqs"
	"github.com/snssqs/snssqs/examples/internal/exampleenv"
)

// The article's names.
const (
	topicCardCreated = "topic_card_created"
	queueCardCreated = "queue_card_created"
	region           = "us-east-1"
)

const (
	// defaultTimeout bounds the whole run: if the event has not been handled
	// by then, the program fails instead of hanging.
	defaultTimeout = 30 * time.Second
	// pollWait is the subscriber's long-poll duration. Shutdown lets a long
	// poll in progress finish rather than cancel it (SQS would still hand
	// messages to a canceled poll and hide them for a visibility timeout),
	// so stopping takes up to one pollWait. One second lets the example exit
	// promptly; a long-running service keeps the 20 s default, which makes
	// fewer requests.
	pollWait = time.Second
	// shutdownTimeout bounds the graceful stop of publisher and subscriber.
	shutdownTimeout = 10 * time.Second
)

func main() {
	log := logrus.New()
	// Ctrl-C cancels run's context, and the program stops cleanly.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], log)
	stop()
	if err != nil {
		// run has returned, so its deferred cleanup (shutting down the
		// subscriber and publisher, stopping the emulator) has happened.
		log.WithError(err).Error("cardcreated failed")
		os.Exit(1)
	}
}

// run is the whole program; main only adds the exit status. args are the
// command-line arguments without the program name.
func run(ctx context.Context, args []string, log logrus.FieldLogger) (err error) {
	fs := flag.NewFlagSet("cardcreated", flag.ContinueOnError)
	envFlags := exampleenv.RegisterFlags(fs, region)
	timeout := fs.Duration("timeout", defaultTimeout, "give up if the event is not handled within this time")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	ctx, cancel := context.WithTimeoutCause(ctx, *timeout, fmt.Errorf("gave up after -timeout %v: %w", *timeout, context.DeadlineExceeded))
	defer cancel()

	// AWS configuration: the embedded emulator, LocalStack or AWS.
	env, err := envFlags.Setup(ctx, log)
	if err != nil {
		return err
	}
	defer env.Close()

	// The publisher needs the AWS account id to build the topic ARN; like
	// the article, ask STS for it.
	accountID, err := env.AccountID(ctx)
	if err != nil {
		return err
	}
	topicARN := snssqs.BuildTopicARN(env.Config.Region, accountID, topicCardCreated)
	log.WithFields(logrus.Fields{"target": env.Target, "account": accountID}).Info("connected")

	// The article's prerequisites: the topic, the queue and the queue's
	// subscription to the topic. Provision is idempotent, so every run can
	// call it. The dead-letter queue keeps messages that keep failing.
	snsClient := sns.NewFromConfig(env.Config)
	sqsClient := sqs.NewFromConfig(env.Config)
	topo, err := snssqs.Provision(ctx, snsClient, sqsClient, snssqs.TopologySpec{
		TopicName: topicCardCreated,
		Queues:    []snssqs.QueueSpec{{Name: queueCardCreated, DeadLetterQueue: true}},
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
	defer func() {
		sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
		defer scancel()
		err = errors.Join(err, publisher.Shutdown(sctx))
	}()
	cards := NewCardService(publisher, topicARN)

	// Service 2: a subscriber on the queue. It only accepts notifications
	// from our topic.
	subscriber, err := snssqs.NewSubscriber(sqsClient, func(o *snssqs.SubscriberOptions) {
		o.Logger = log
		o.WaitTime = pollWait
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
	stopped := make(chan error, 1)
	go func() { stopped <- subscriber.Run(ctx) }()
	defer func() {
		sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
		defer scancel()
		err = errors.Join(err, subscriber.Shutdown(sctx), <-stopped)
	}()

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
	case err := <-stopped:
		stopped <- err // for the deferred shutdown
		return fmt.Errorf("subscriber stopped before the event arrived: %w", err)
	case <-ctx.Done():
		return fmt.Errorf("the card.created event was not handled: %w", context.Cause(ctx))
	}
}
