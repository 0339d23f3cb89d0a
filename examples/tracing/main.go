// Command tracing is the card-created flow of examples/cardcreated with
// OpenTelemetry: Service 1 publishes a "card.created" event to the topic
// topic_card_created, Service 2 handles it from queue_card_created, and
// package otelsnssqs traces and measures both. The spans (create, send and
// process, one trace from Publish to the handler) and then the metric
// values are printed to standard output as JSON by the OpenTelemetry stdout
// exporters; swap in an OTLP or Prometheus exporter for production.
//
// Like the other examples it runs against the embedded emulator by
// default, LocalStack with -endpoint http://localhost:4566, or AWS with -aws.
// It is a module of its own (go.mod here), so the library's module does not
// depend on OpenTelemetry: run it with
//
//	cd examples/tracing && go run .
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/google/uuid"
	"github.com/sirupsen/logrus"
	"go.opentelemetry.io/otel/exporters/stdout/stdoutmetric"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/snssqs/snssqs"
	"github.com/snssqs/snssqs/examples/internal/exampleenv"
	"github.com/snssqs/snssqs/otelsnssqs"
	"github.com/snssqs/snssqs/provision"
)

const (
	topicCardCreated = "topic_card_created"
	queueCardCreated = "queue_card_created"
	eventCardCreated = "card.created"
	region           = "us-east-1"
)

// CardCreated is the event: a bank card was created.
type CardCreated struct {
	CardID string `json:"cardId"`
	UserID string `json:"userId"`
}

func main() { exampleenv.Main("tracing", runTo(os.Stdout)) }

// runTo returns the program, printing spans and metrics to out.
func runTo(out io.Writer) exampleenv.RunFunc {
	return func(ctx context.Context, args []string, log logrus.FieldLogger) error {
		return run(ctx, args, log, out)
	}
}

func run(ctx context.Context, args []string, log logrus.FieldLogger, out io.Writer) (err error) {
	fs := flag.NewFlagSet("tracing", flag.ContinueOnError)
	envFlags := exampleenv.RegisterFlags(fs, region)
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, cancel := envFlags.WithTimeout(ctx)
	defer cancel()

	// OpenTelemetry: spans printed as they end, metrics once at the end
	// (the reader's interval is longer than the program runs; Shutdown
	// flushes it). Both exporters write to out, one at a time.
	out = &lockedWriter{w: out}
	spanExporter, err := stdouttrace.New(stdouttrace.WithWriter(out))
	if err != nil {
		return err
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spanExporter))
	metricExporter, err := stdoutmetric.New(stdoutmetric.WithWriter(out))
	if err != nil {
		return err
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewPeriodicReader(metricExporter)))
	defer func() {
		// After the publisher and subscriber have shut down (deferred
		// later, so run earlier): every span has ended and every count is in.
		err = errors.Join(err, tp.Shutdown(context.WithoutCancel(ctx)), mp.Shutdown(context.WithoutCancel(ctx)))
	}()
	// One Instrumentation serves the publisher and the subscriber.
	inst, err := otelsnssqs.New(
		otelsnssqs.WithTracerProvider(tp),
		otelsnssqs.WithMeterProvider(mp),
		otelsnssqs.WithPropagator(propagation.TraceContext{}),
	)
	if err != nil {
		return err
	}

	env, accountID, err := envFlags.Connect(ctx, log)
	if err != nil {
		return err
	}
	defer env.Close()
	snsClient := sns.NewFromConfig(env.Config)
	sqsClient := sqs.NewFromConfig(env.Config)
	topo, err := provision.Apply(ctx, snsClient, sqsClient, provision.TopologySpec{
		TopicName: topicCardCreated,
		Queues:    []provision.QueueSpec{{Name: queueCardCreated, DeadLetterQueue: true}},
	})
	if err != nil {
		return err
	}
	topicARN := snssqs.BuildTopicARN(env.Config.Region, accountID, topicCardCreated)
	queue := topo.Queues[queueCardCreated]

	// Service 1, traced: inst.Publisher sets the hooks and the propagator.
	publisher, err := snssqs.NewPublisher(snsClient, inst.Publisher, func(o *snssqs.PublisherOptions) {
		o.Source = "card-service"
		o.Logger = log
	})
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, exampleenv.Shutdown(ctx, publisher.Shutdown)) }()

	// Service 2, traced: its handler runs in a "process" span, a child of
	// the publisher's "create" span.
	subscriber, err := snssqs.NewSubscriber(sqsClient, inst.Subscriber, func(o *snssqs.SubscriberOptions) {
		o.Logger = log
		o.WaitTime = exampleenv.PollWait
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
			log.WithField("traceparent", m.Extensions["traceparent"]).Infof("got new message. Body %s", m.Data)
			if c.CardID == card.CardID {
				once.Do(func() { close(handled) })
			}
			return nil
		})
	if err != nil {
		return err
	}
	running := exampleenv.Start(ctx, subscriber)
	defer func() { err = errors.Join(err, exampleenv.Shutdown(ctx, running.Stop)) }()

	msgID, err := publisher.Publish(ctx, topicARN, eventCardCreated, card)
	if err != nil {
		return err
	}
	log.WithFields(logrus.Fields{"cardId": card.CardID, "sns_message_id": msgID}).Info("card created, event published")
	select {
	case <-handled:
		log.Info("Service 2 handled the event; shutting down and printing the metrics")
		return nil
	case <-running.Exited():
		return errors.New("subscriber stopped before the event arrived")
	case <-ctx.Done():
		return fmt.Errorf("the card.created event was not handled: %w", context.Cause(ctx))
	}
}

// lockedWriter serializes the writes of the two exporters.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
