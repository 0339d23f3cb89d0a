// Command retry shows the article's "message locking": an integration
// service receives "card.created" events from queue_card_integration and
// forwards each card to a flaky third-party processor. While a message is
// being handled it is locked (invisible to other consumers). When the
// handler fails, the message is not deleted: it comes back after a backoff
// (1 s, then 2 s) and is tried again, with SQS counting the receives. The
// first card fails twice and then goes through. The second card is poison
// (the processor always rejects it): after maxReceiveCount (3) receives the
// queue's redrive policy moves it to the dead-letter queue
// queue_card_integration-dlq, where the program finds it with a plain SQS
// ReceiveMessage, shows it and deletes it.
//
// It runs against the embedded emulator by default, LocalStack with
// -endpoint http://localhost:4566, or AWS with -aws.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/google/uuid"
	"github.com/sirupsen/logrus"

	"github.com/snssqs/snssqs"
	"github.com/snssqs/snssqs/examples/internal/exampleenv"
	"github.com/snssqs/snssqs/provision"
)

const (
	topicName        = "topic_card_integration"
	queueName        = "queue_card_integration"
	region           = "us-east-1"
	eventCardCreated = "card.created"

	// maxReceiveCount is the redrive policy's limit: the receive after the
	// third moves the message to the dead-letter queue.
	maxReceiveCount = 3
	// flakyFailures is how often the processor fails a good card before it
	// accepts it; below maxReceiveCount, so the card makes it.
	flakyFailures = 2

	// The nack backoff: the delay after a message's nth failed receive is
	// min(backoffMax, backoffMin*2^(n-1)). The defaults (2 s up to 10 min)
	// suit production; short ones keep the example quick.
	backoffMin = time.Second
	backoffMax = 2 * time.Second
)

// CardCreated is the event the integration service consumes.
type CardCreated struct {
	CardID string `json:"cardId"`
	UserID string `json:"userId"`
}

func main() { exampleenv.Main("retry", run) }

// run is the whole program; exampleenv.Main adds the signal handling and
// the exit status. args are the command-line arguments without the program
// name.
func run(ctx context.Context, args []string, log logrus.FieldLogger) (err error) {
	fs := flag.NewFlagSet("retry", flag.ContinueOnError)
	envFlags := exampleenv.RegisterFlags(fs, region) // -endpoint, -aws, -region, -timeout
	if err := fs.Parse(args); err != nil {
		return err // flag.ErrHelp for -h, which is no failure
	}
	// Give up if the cards are not settled within -timeout.
	ctx, cancel := envFlags.WithTimeout(ctx)
	defer cancel()

	env, accountID, err := envFlags.Connect(ctx, log)
	if err != nil {
		return err
	}
	defer env.Close()

	// The queue gets a dead-letter queue and a redrive policy with
	// maxReceiveCount 3.
	snsClient := sns.NewFromConfig(env.Config)
	sqsClient := sqs.NewFromConfig(env.Config)
	topo, err := provision.Apply(ctx, snsClient, sqsClient, provision.TopologySpec{
		TopicName: topicName,
		Queues:    []provision.QueueSpec{{Name: queueName, DeadLetterQueue: true, MaxReceiveCount: maxReceiveCount}},
	})
	if err != nil {
		return err
	}
	topicARN := snssqs.BuildTopicARN(env.Config.Region, accountID, topicName)
	queue := topo.Queues[queueName]
	log.WithFields(logrus.Fields{"topic": topicARN, "queue": queue.URL, "dlq": queue.DeadLetterURL, "maxReceiveCount": maxReceiveCount}).Info("provisioned")

	good := CardCreated{CardID: uuid.NewString(), UserID: uuid.NewString()}
	poison := CardCreated{CardID: uuid.NewString()} // no user: the processor always rejects it
	poisonEventID := uuid.NewString()

	// The integration service.
	proc := newProcessor(flakyFailures)
	registered := make(chan struct{})
	var once sync.Once
	subscriber, err := snssqs.NewSubscriber(sqsClient, func(o *snssqs.SubscriberOptions) {
		o.Logger = log
		o.WaitTime = exampleenv.PollWait // a short long poll, for a prompt exit
		o.BackoffMin = backoffMin
		o.BackoffMax = backoffMax
		o.AllowedTopicARNs = []string{topicARN}
	})
	if err != nil {
		return err
	}
	_, err = snssqs.HandleFunc(subscriber, queue.URL, eventCardCreated, func(ctx context.Context, card CardCreated, m *snssqs.Message) error {
		attempt := log.WithFields(logrus.Fields{"cardId": card.CardID, "receive_count": m.ReceiveCount})
		if err := proc.Register(ctx, card); err != nil {
			// Returning the error keeps the message: it is retried after the
			// backoff, or dead-lettered once maxReceiveCount is reached.
			if m.ReceiveCount >= maxReceiveCount {
				attempt.WithError(err).Infof("attempt %d of %d failed; the queue will move the message to its dead-letter queue", m.ReceiveCount, maxReceiveCount)
			} else {
				attempt.WithError(err).Infof("attempt %d of %d failed", m.ReceiveCount, maxReceiveCount)
			}
			return err
		}
		attempt.Infof("attempt %d of %d: card registered with the processor", m.ReceiveCount, maxReceiveCount)
		if card.CardID == good.CardID {
			once.Do(func() { close(registered) })
		}
		return nil
	})
	if err != nil {
		return err
	}
	// Run polls the queue until Stop shuts the subscriber down gracefully.
	running := exampleenv.Start(ctx, subscriber)
	defer func() { err = errors.Join(err, exampleenv.Shutdown(ctx, running.Stop)) }()

	// Service 1 publishes both cards.
	publisher, err := snssqs.NewPublisher(snsClient, func(o *snssqs.PublisherOptions) {
		o.Source = "card-service"
		o.Logger = log
	})
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, exampleenv.Shutdown(ctx, publisher.Shutdown)) }()
	if _, err := publisher.Publish(ctx, topicARN, eventCardCreated, good); err != nil {
		return fmt.Errorf("publishing the good card: %w", err)
	}
	log.WithField("cardId", good.CardID).Info("published a card (the processor fails it twice, then accepts it)")
	if _, err := publisher.Publish(ctx, topicARN, eventCardCreated, poison, snssqs.WithEventID(poisonEventID)); err != nil {
		return fmt.Errorf("publishing the poison card: %w", err)
	}
	log.WithField("cardId", poison.CardID).Info("published a poison card (the processor always rejects it)")

	select {
	case <-registered:
	case <-ctx.Done():
		return fmt.Errorf("the good card was not registered: %w", context.Cause(ctx))
	}

	// The poison message ends in the dead-letter queue, kept for inspection.
	dl, err := awaitDeadLetter(ctx, sqsClient, queue.DeadLetterURL, poisonEventID, log)
	if err != nil {
		if ctx.Err() != nil {
			err = context.Cause(ctx)
		}
		return fmt.Errorf("the poison card did not reach the dead-letter queue: %w", err)
	}
	log.WithFields(logrus.Fields{
		"sqs_message_id": dl.SQSMessageID,
		"id":             dl.ID,
		"type":           dl.Type,
		"source":         dl.Source,
		"receive_count":  dl.ReceiveCount,
	}).Infof("dead-letter queue holds the poison message. Body %s", dl.Data)
	// A real system would alert someone, fix the cause and redrive the
	// message; the example deletes it so the next run starts clean.
	if err := dl.remove(ctx, sqsClient, queue.DeadLetterURL); err != nil {
		return err
	}
	log.Info("deleted the poison message from the dead-letter queue")
	return nil
}
