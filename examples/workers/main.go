// Command workers shows the article's consumer pattern: several instances
// of a notification service (competing consumers) receive from the same
// queue, so they share the load and the service scales horizontally. A
// producer publishes 30 "notification.requested" events to
// topic_notification_requested; three notifiers, each a Subscriber on
// queue_notifications, send them. Every event is handled by one notifier;
// the program prints how many each handled and exits once all were.
//
// Standard SQS queues deliver at least once, so on AWS a notifier may
// rarely get an event another one already handled: such duplicates are
// counted and reported (real handlers make them harmless by being
// idempotent, e.g. keyed on Message.ID).
//
// It runs against the embedded emulator by default, LocalStack with
// -endpoint http://localhost:4566, or AWS with -aws.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strconv"
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
	topicName         = "topic_notification_requested"
	queueName         = "queue_notifications"
	region            = "us-east-1"
	eventNotification = "notification.requested"

	defaultEvents  = 30
	defaultWorkers = 3
	defaultWork    = 100 * time.Millisecond
	// perWorker is how many notifications one notifier sends at once. Small,
	// so that the load visibly spreads over the notifiers: a notifier with
	// all its slots busy does not poll, and the others get the messages.
	perWorker = 2
)

// NotificationRequested asks the notification service to notify a user.
type NotificationRequested struct {
	Run    string `json:"run"` // the producing run, to tell its events from leftovers
	Seq    int    `json:"seq"`
	UserID string `json:"userId"`
	Text   string `json:"text"`
}

func main() { exampleenv.Main("workers", run) }

// run is the whole program; exampleenv.Main adds the signal handling and
// the exit status. args are the command-line arguments without the program
// name.
func run(ctx context.Context, args []string, log logrus.FieldLogger) (err error) {
	fs := flag.NewFlagSet("workers", flag.ContinueOnError)
	envFlags := exampleenv.RegisterFlags(fs, region) // -endpoint, -aws, -region, -timeout
	events := fs.Int("events", defaultEvents, "number of events to publish")
	workers := fs.Int("workers", defaultWorkers, "number of competing notifiers on the queue")
	work := fs.Duration("work", defaultWork, "how long sending one notification takes")
	if err := fs.Parse(args); err != nil {
		return err // flag.ErrHelp for -h, which is no failure
	}
	if *events < 1 || *workers < 1 || *work < 0 {
		return fmt.Errorf("-events and -workers must be at least 1 and -work not negative")
	}
	// Give up if not every event is handled within -timeout.
	ctx, cancel := envFlags.WithTimeout(ctx)
	defer cancel()

	env, accountID, err := envFlags.Connect(ctx, log)
	if err != nil {
		return err
	}
	defer env.Close()

	snsClient := sns.NewFromConfig(env.Config)
	sqsClient := sqs.NewFromConfig(env.Config)
	topo, err := provision.Apply(ctx, snsClient, sqsClient, provision.TopologySpec{
		TopicName: topicName,
		Queues:    []provision.QueueSpec{{Name: queueName, DeadLetterQueue: true}},
	})
	if err != nil {
		return err
	}
	topicARN := snssqs.BuildTopicARN(env.Config.Region, accountID, topicName)
	queueURL := topo.Queues[queueName].URL
	log.WithFields(logrus.Fields{"topic": topicARN, "queue": queueURL}).Info("provisioned")

	runID := uuid.NewString()
	tally := newTally(runID, *events)

	// The competing consumers: independent subscribers on the same queue,
	// as separate instances of the service would be.
	names := make([]string, *workers)
	var stops []func(context.Context) error
	defer func() { err = errors.Join(err, exampleenv.Shutdown(ctx, stops...)) }()
	for i := range names {
		names[i] = "notifier-" + strconv.Itoa(i+1)
		stop, err := startNotifier(ctx, sqsClient, queueURL, topicARN, names[i], *work, tally, log)
		if err != nil {
			return err
		}
		stops = append(stops, stop)
	}

	// The producer publishes all events in one PublishBatch call (sent as
	// SNS PublishBatch requests of up to 10 entries).
	publisher, err := snssqs.NewPublisher(snsClient, func(o *snssqs.PublisherOptions) {
		o.Source = "notification-producer"
		o.Logger = log
	})
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, exampleenv.Shutdown(ctx, publisher.Shutdown)) }()
	entries := make([]snssqs.Entry, *events)
	for i := range entries {
		entries[i] = snssqs.Entry{EventType: eventNotification, Event: NotificationRequested{
			Run: runID, Seq: i + 1, UserID: uuid.NewString(), Text: fmt.Sprintf("Your card #%d is ready", i+1),
		}}
	}
	if _, err := publisher.PublishBatch(ctx, topicARN, entries); err != nil {
		return fmt.Errorf("publishing %d events: %w", len(entries), err)
	}
	log.WithField("events", len(entries)).Info("producer: published")

	select {
	case <-tally.done:
	case <-ctx.Done():
		tally.report(log, names)
		return fmt.Errorf("not every event was handled: %w", context.Cause(ctx))
	}
	tally.report(log, names)
	return nil
}

// startNotifier runs one notifier on the queue and returns the function
// that stops it gracefully.
func startNotifier(ctx context.Context, client *sqs.Client, queueURL, topicARN, name string, work time.Duration, tally *tally, log logrus.FieldLogger) (func(context.Context) error, error) {
	wlog := log.WithField("worker", name)
	sub, err := snssqs.NewSubscriber(client, func(o *snssqs.SubscriberOptions) {
		o.Logger = wlog
		o.WaitTime = exampleenv.PollWait // a short long poll, for a prompt exit
		o.Concurrency = perWorker
		o.MaxMessages = perWorker
		o.AllowedTopicARNs = []string{topicARN}
	})
	if err != nil {
		return nil, err
	}
	_, err = snssqs.HandleFunc(sub, queueURL, eventNotification, func(ctx context.Context, n NotificationRequested, m *snssqs.Message) error {
		if err := send(ctx, work); err != nil {
			return err // the message comes back after a backoff
		}
		fields := logrus.Fields{"seq": n.Seq, "receive_count": m.ReceiveCount}
		switch tally.record(name, n.Run, n.Seq) {
		case deliveryFirst:
			wlog.WithFields(fields).Infof("%s sent notification #%d", name, n.Seq)
		case deliveryDuplicate:
			wlog.WithFields(fields).Warnf("%s got notification #%d again (at-least-once delivery); counted as a duplicate", name, n.Seq)
		case deliveryStale:
			wlog.WithFields(fields).Infof("%s got notification #%d of an earlier run; acknowledged", name, n.Seq)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return exampleenv.Start(ctx, sub).Stop, nil
}

// send stands for the slow part of the notification service: talking to an
// email or push provider, which takes d.
func send(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
