// Command largepayload publishes an event larger than SNS allows (256 KiB)
// through an SNS topic to an SQS queue: the Publisher puts the envelope in
// S3 with an s3offload.Store and publishes a pointer to it, in the format
// of the AWS Extended Client Libraries (Java, Python), so their services
// could read it too; the Subscriber, with the same Store, fetches the
// payload before the handler runs and deletes the object once the message
// is deleted.
//
// By default it runs on the embedded SNS/SQS emulator (snssqstest) and an
// in-process S3 stand-in (s3offloadtest). With -endpoint it uses one
// endpoint for SNS, SQS and S3 (LocalStack or moto, e.g.
// http://localhost:4566) and creates -bucket there.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/sirupsen/logrus"

	"github.com/snssqs/snssqs"
	"github.com/snssqs/snssqs/provision"
	"github.com/snssqs/snssqs/s3offload"
	"github.com/snssqs/snssqs/s3offload/s3offloadtest"
	"github.com/snssqs/snssqs/snssqstest"
)

const (
	topicName   = "topic_report_generated"
	queueName   = "queue_reports"
	eventReport = "report.generated"
)

// ReportGenerated carries a whole report: far more than a message may hold.
type ReportGenerated struct {
	ReportID string   `json:"reportId"`
	Rows     []string `json:"rows"`
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	log := logrus.New()
	if err := run(ctx, os.Args[1:], log); err != nil && !errors.Is(err, flag.ErrHelp) {
		log.WithError(err).Error("largepayload failed")
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, log logrus.FieldLogger) error {
	fs := flag.NewFlagSet("largepayload", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	endpoint := fs.String("endpoint", "", "SNS, SQS and S3 endpoint (LocalStack, moto); empty: the embedded emulator and S3 stand-in")
	bucket := fs.String("bucket", "snssqs-large-payloads", "S3 bucket for the payloads (created with -endpoint)")
	rows := fs.Int("rows", 20000, "rows in the report (about 50 bytes each)")
	timeout := fs.Duration("timeout", 30*time.Second, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	var cfg aws.Config
	var s3Client *s3.Client
	if *endpoint == "" {
		emu, err := snssqstest.NewServer()
		if err != nil {
			return err
		}
		defer emu.Close()
		s3srv, err := s3offloadtest.NewServer()
		if err != nil {
			return err
		}
		defer s3srv.Close()
		cfg, s3Client = emu.AWSConfig(), s3srv.Client()
	} else {
		creds := credentials.NewStaticCredentialsProvider("test", "test", "")
		cfg = aws.Config{Region: "us-east-1", Credentials: creds, BaseEndpoint: endpoint}
		s3Client = s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
		if _, err := s3Client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: bucket}); err != nil {
			log.WithError(err).Warn("create bucket (it may exist already)")
		}
	}
	snsClient, sqsClient := sns.NewFromConfig(cfg), sqs.NewFromConfig(cfg)
	topo, err := provision.Apply(ctx, snsClient, sqsClient, provision.TopologySpec{
		TopicName: topicName,
		Queues:    []provision.QueueSpec{{Name: queueName, DeadLetterQueue: true}},
	})
	if err != nil {
		return err
	}
	store, err := s3offload.New(s3Client, *bucket)
	if err != nil {
		return err
	}

	got := make(chan ReportGenerated, 1)
	sub, err := snssqs.NewSubscriber(sqsClient, func(o *snssqs.SubscriberOptions) {
		o.Logger = log
		o.PayloadStore = store
		o.WaitTime = time.Second
	})
	if err != nil {
		return err
	}
	if _, err := snssqs.HandleFunc(sub, topo.Queues[queueName].URL, eventReport, func(_ context.Context, r ReportGenerated, m *snssqs.Message) error {
		log.WithField("report", r.ReportID).Infof("reporting service: received report %s with %d rows", r.ReportID, len(r.Rows))
		got <- r
		return nil
	}); err != nil {
		return err
	}
	runDone := make(chan error, 1)
	go func() { runDone <- sub.Run(context.WithoutCancel(ctx)) }()
	defer func() {
		_ = sub.Close()
		<-runDone
	}()

	pub, err := snssqs.NewPublisher(snsClient, func(o *snssqs.PublisherOptions) {
		o.Logger = log
		o.Source = "report-service"
		o.PayloadStore = store // bodies over 256 KiB go to S3
	})
	if err != nil {
		return err
	}
	defer pub.Close()
	report := ReportGenerated{ReportID: "r-2026-12", Rows: make([]string, *rows)}
	for i := range report.Rows {
		report.Rows[i] = fmt.Sprintf("row %06d: %s", i, strings.Repeat("·", 30))
	}
	if _, err := pub.Publish(ctx, topo.TopicARN, eventReport, report); err != nil {
		return err
	}
	log.Infof("report service: published report %s (%d rows) through SNS", report.ReportID, len(report.Rows))

	select {
	case r := <-got:
		if len(r.Rows) != len(report.Rows) || r.Rows[len(r.Rows)-1] != report.Rows[len(report.Rows)-1] {
			return fmt.Errorf("the report arrived with %d rows, want %d", len(r.Rows), len(report.Rows))
		}
	case <-ctx.Done():
		return fmt.Errorf("the report did not arrive: %w", ctx.Err())
	}
	log.Info("the report arrived whole")
	return nil
}
