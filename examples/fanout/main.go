// Command fanout shows the article's fan-out: one topic and several queues,
// so that every service linked to a queue gets every event. A card service
// publishes "card.created" events to topic_card_created_fanout; the billing,
// notifications and analytics services each own a queue subscribed to the
// topic and each handle every card. The program exits once every service
// has got every card.
//
// It runs against the embedded emulator by default, LocalStack with
// -endpoint http://localhost:4566, or AWS with -aws.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/google/uuid"
	"github.com/sirupsen/logrus"

	"github.com/snssqs/snssqs"
	"github.com/snssqs/snssqs/examples/internal/exampleenv"
	"github.com/snssqs/snssqs/provision"
)

const (
	topicName        = "topic_card_created_fanout"
	queuePrefix      = "queue_card_created_"
	region           = "us-east-1"
	eventCardCreated = "card.created"

	defaultCards = 3
)

// services are the consumers; each owns the queue queuePrefix+name.
var services = []string{"billing", "notifications", "analytics"}

// CardCreated is the event every service gets.
type CardCreated struct {
	CardID string `json:"cardId"`
	UserID string `json:"userId"`
}

func main() { exampleenv.Main("fanout", run) }

// run is the whole program; exampleenv.Main adds the signal handling and
// the exit status. args are the command-line arguments without the program
// name.
func run(ctx context.Context, args []string, log logrus.FieldLogger) (err error) {
	fs := flag.NewFlagSet("fanout", flag.ContinueOnError)
	envFlags := exampleenv.RegisterFlags(fs, region) // -endpoint, -aws, -region, -timeout
	n := fs.Int("cards", defaultCards, "number of card.created events to publish")
	if err := fs.Parse(args); err != nil {
		return err // flag.ErrHelp for -h, which is no failure
	}
	if *n < 1 {
		return fmt.Errorf("-cards must be at least 1, not %d", *n)
	}
	// Give up if not every service got every card within -timeout.
	ctx, cancel := envFlags.WithTimeout(ctx)
	defer cancel()

	env, accountID, err := envFlags.Connect(ctx, log)
	if err != nil {
		return err
	}
	defer env.Close()

	// One topic, one queue per service, each queue subscribed to the topic.
	snsClient := sns.NewFromConfig(env.Config)
	sqsClient := sqs.NewFromConfig(env.Config)
	spec := provision.TopologySpec{TopicName: topicName}
	for _, svc := range services {
		spec.Queues = append(spec.Queues, provision.QueueSpec{Name: queuePrefix + svc, DeadLetterQueue: true})
	}
	topo, err := provision.Apply(ctx, snsClient, sqsClient, spec)
	if err != nil {
		return err
	}
	topicARN := snssqs.BuildTopicARN(env.Config.Region, accountID, topicName)
	log.WithField("topic", topicARN).WithField("queues", len(topo.Queues)).Info("provisioned")

	cards := make([]CardCreated, *n)
	ids := make([]string, *n)
	for i := range cards {
		cards[i] = CardCreated{CardID: uuid.NewString(), UserID: uuid.NewString()}
		ids[i] = cards[i].CardID
	}
	tally := newTally(services, ids)

	// Each service is its own subscriber, as it would be its own process.
	var stops []func(context.Context) error
	defer func() { err = errors.Join(err, exampleenv.Shutdown(ctx, stops...)) }()
	for _, svc := range services {
		stop, err := startService(ctx, sqsClient, topo.Queues[queuePrefix+svc].URL, svc, topicARN, tally, log)
		if err != nil {
			return err
		}
		stops = append(stops, stop)
	}

	// The card service publishes each card once, to the topic.
	publisher, err := snssqs.NewPublisher(snsClient, func(o *snssqs.PublisherOptions) {
		o.Source = "card-service"
		o.Logger = log
	})
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, exampleenv.Shutdown(ctx, publisher.Shutdown)) }()
	for _, card := range cards {
		if _, err := publisher.Publish(ctx, topicARN, eventCardCreated, card, snssqs.WithSubject(card.CardID)); err != nil {
			return fmt.Errorf("publishing card %s: %w", card.CardID, err)
		}
		log.WithField("cardId", card.CardID).Info("card-service: published card.created")
	}

	select {
	case <-tally.done:
	case <-ctx.Done():
		tally.report(log)
		return fmt.Errorf("not every service got every card: %w", context.Cause(ctx))
	}
	tally.report(log)
	log.WithField("cards", *n).WithField("services", len(services)).Info("every service got every card: one publish, one delivery per queue")
	return nil
}

// startService runs the subscriber of one service on its queue and returns
// the function that stops it gracefully.
func startService(ctx context.Context, client *sqs.Client, queueURL, svc, topicARN string, tally *tally, log logrus.FieldLogger) (func(context.Context) error, error) {
	slog := log.WithField("service", svc)
	sub, err := snssqs.NewSubscriber(client, func(o *snssqs.SubscriberOptions) {
		o.Logger = slog
		o.WaitTime = exampleenv.PollWait // a short long poll, for a prompt exit
		o.AllowedTopicARNs = []string{topicARN}
	})
	if err != nil {
		return nil, err
	}
	_, err = snssqs.HandleFunc(sub, queueURL, eventCardCreated, func(ctx context.Context, card CardCreated, m *snssqs.Message) error {
		switch tally.record(svc, card.CardID) {
		case deliveryFirst:
			slog.WithField("cardId", card.CardID).Infof("%s: got card.created", svc)
		case deliveryDuplicate:
			slog.WithField("cardId", card.CardID).Infof("%s: got card.created again (at-least-once delivery; handlers are idempotent)", svc)
		case deliveryStale:
			slog.WithField("cardId", card.CardID).Infof("%s: got card.created from an earlier run; acknowledged", svc)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return exampleenv.Start(ctx, sub).Stop, nil
}
