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

const (
	topicName        = "topic_card_created_fanout"
	queuePrefix      = "queue_card_created_"
	region           = "us-east-1"
	eventCardCreated = "card.created"

	defaultCards   = 3
	defaultTimeout = 30 * time.Second
	// pollWait is the subscribers' long-poll duration. Shutdown waits for a
	// long poll in progress instead of canceling it (SQS would still hand
	// messages to a canceled poll and hide them for a visibility timeout),
	// so one second keeps the exit prompt; services running for long keep
	// the 20 s default.
	pollWait        = time.Second
	shutdownTimeout = 10 * time.Second
)

// services are the consumers; each owns the queue queuePrefix+name.
var services = []string{"billing", "notifications", "analytics"}

// CardCreated is the event every service gets.
type CardCreated struct {
	CardID string `json:"cardId"`
	UserID string `json:"userId"`
}

func main() {
	log := logrus.New()
	// Ctrl-C cancels run's context, and the program stops cleanly.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], log)
	stop()
	if err != nil {
		log.WithError(err).Error("fanout failed") // after run's cleanup
		os.Exit(1)
	}
}

// run is the whole program; args are the command-line arguments without
// the program name.
func run(ctx context.Context, args []string, log logrus.FieldLogger) (err error) {
	fs := flag.NewFlagSet("fanout", flag.ContinueOnError)
	envFlags := exampleenv.RegisterFlags(fs, region)
	n := fs.Int("cards", defaultCards, "number of card.created events to publish")
	timeout := fs.Duration("timeout", defaultTimeout, "give up if not every service got every card within this time")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if *n < 1 {
		return fmt.Errorf("-cards must be at least 1, not %d", *n)
	}
	ctx, cancel := context.WithTimeoutCause(ctx, *timeout, fmt.Errorf("gave up after -timeout %v: %w", *timeout, context.DeadlineExceeded))
	defer cancel()

	env, err := envFlags.Setup(ctx, log)
	if err != nil {
		return err
	}
	defer env.Close()
	accountID, err := env.AccountID(ctx)
	if err != nil {
		return err
	}
	log.WithFields(logrus.Fields{"target": env.Target, "account": accountID}).Info("connected")

	// One topic, one queue per service, each queue subscribed to the topic.
	snsClient := sns.NewFromConfig(env.Config)
	sqsClient := sqs.NewFromConfig(env.Config)
	spec := snssqs.TopologySpec{TopicName: topicName}
	for _, svc := range services {
		spec.Queues = append(spec.Queues, snssqs.QueueSpec{Name: queuePrefix + svc, DeadLetterQueue: true})
	}
	topo, err := snssqs.Provision(ctx, snsClient, sqsClient, spec)
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
	defer func() {
		sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
		defer scancel()
		err = errors.Join(err, stopAll(sctx, stops))
	}()
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
	defer func() {
		sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
		defer scancel()
		err = errors.Join(err, publisher.Shutdown(sctx))
	}()
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
// the function that stops it.
func startService(ctx context.Context, client *sqs.Client, queueURL, svc, topicARN string, tally *tally, log logrus.FieldLogger) (func(context.Context) error, error) {
	slog := log.WithField("service", svc)
	sub, err := snssqs.NewSubscriber(client, func(o *snssqs.SubscriberOptions) {
		o.Logger = slog
		o.WaitTime = pollWait
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
	stopped := make(chan error, 1)
	go func() { stopped <- sub.Run(ctx) }()
	return func(sctx context.Context) error {
		return errors.Join(sub.Shutdown(sctx), <-stopped)
	}, nil
}

// stopAll stops the services at once, so that their last long polls end
// together, and returns their errors.
func stopAll(ctx context.Context, stops []func(context.Context) error) error {
	errs := make([]error, len(stops))
	var wg sync.WaitGroup
	for i, stop := range stops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = stop(ctx)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
