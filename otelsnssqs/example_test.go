package otelsnssqs_test

import (
	"context"
	"fmt"
	"log"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/snssqs/snssqs"
	"github.com/snssqs/snssqs/otelsnssqs"
	"github.com/snssqs/snssqs/provision"
	"github.com/snssqs/snssqs/snssqstest"
)

func ExampleNew() {
	// Your providers, with the exporters you use (OTLP, Prometheus, ...);
	// here an in-memory recorder.
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	mp := sdkmetric.NewMeterProvider()
	inst, err := otelsnssqs.New(
		otelsnssqs.WithTracerProvider(tp),
		otelsnssqs.WithMeterProvider(mp),
		otelsnssqs.WithPropagator(propagation.TraceContext{}),
	)
	if err != nil {
		log.Fatal(err)
	}

	srv, err := snssqstest.NewServer() // stands in for AWS
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	cfg := srv.AWSConfig()
	ctx := context.Background()
	snsClient, sqsClient := sns.NewFromConfig(cfg), sqs.NewFromConfig(cfg)
	topo, err := provision.Apply(ctx, snsClient, sqsClient, provision.TopologySpec{
		TopicName: "orders", Queues: []provision.QueueSpec{{Name: "billing"}},
	})
	if err != nil {
		log.Fatal(err)
	}

	// One option function each wires tracing and metrics in.
	pub, err := snssqs.NewPublisher(snsClient, inst.Publisher)
	if err != nil {
		log.Fatal(err)
	}
	defer pub.Close()
	sub, err := snssqs.NewSubscriber(sqsClient, inst.Subscriber, func(o *snssqs.SubscriberOptions) { o.WaitTime = time.Second })
	if err != nil {
		log.Fatal(err)
	}
	done := make(chan struct{})
	_, err = sub.Handle(topo.Queues["billing"].URL, "order.placed", func(ctx context.Context, m *snssqs.Message) error {
		close(done) // ctx carries the "process billing" span
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
	go func() { _ = sub.Run(ctx) }()
	if _, err := pub.Publish(ctx, topo.TopicARN, "order.placed", map[string]int{"order": 1}); err != nil {
		log.Fatal(err)
	}
	<-done
	if err := sub.Close(); err != nil {
		log.Fatal(err)
	}

	var names []string
	for _, s := range spans.Ended() {
		names = append(names, s.Name())
	}
	sort.Strings(names)
	fmt.Println(names)
	// Output:
	// [create orders process billing send orders]
}
