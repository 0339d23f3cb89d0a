// Command worker-queue shows the article's consumer pattern with no SNS
// topic at all: a producer puts jobs straight on an SQS FIFO queue with a
// QueuePublisher, and competing workers (Subscribers on the queue) do them.
// Each card goes through three steps, issue → print → ship; the card id is
// the FIFO message group, so the steps of one card are done in order and
// never two at once (the article's "message locking"), while different
// cards are worked on in parallel by different workers.
//
// The program sends the steps of -cards cards (interleaved, concurrently,
// so the QueuePublisher coalesces them into SendMessageBatch requests),
// prints each step as a worker does it and exits once every card is
// shipped, having checked that every card's steps ran in order.
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
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/google/uuid"
	"github.com/sirupsen/logrus"

	"github.com/snssqs/snssqs"
	"github.com/snssqs/snssqs/examples/internal/exampleenv"
	"github.com/snssqs/snssqs/provision"
)

const (
	queueName = "queue_card_jobs.fifo"
	region    = "us-east-1"
	eventStep = "card.job"

	defaultCards   = 6
	defaultWorkers = 2
	defaultWork    = 20 * time.Millisecond
)

// steps are the jobs of one card, in the order they must run.
var steps = []string{"issue", "print", "ship"}

// CardJob asks a worker to do one step for one card.
type CardJob struct {
	Run    string `json:"run"` // the producing run, to tell its jobs from leftovers
	CardID string `json:"cardId"`
	Step   int    `json:"step"` // index in steps
}

func main() { exampleenv.Main("worker-queue", run) }

// run is the whole program; exampleenv.Main adds the signal handling and
// the exit status.
func run(ctx context.Context, args []string, log logrus.FieldLogger) (err error) {
	fs := flag.NewFlagSet("worker-queue", flag.ContinueOnError)
	envFlags := exampleenv.RegisterFlags(fs, region)
	cards := fs.Int("cards", defaultCards, "number of cards to issue, print and ship")
	workers := fs.Int("workers", defaultWorkers, "number of competing workers on the queue")
	work := fs.Duration("work", defaultWork, "how long one step takes")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *cards < 1 || *workers < 1 || *work < 0 {
		return fmt.Errorf("-cards and -workers must be at least 1 and -work not negative")
	}
	ctx, cancel := envFlags.WithTimeout(ctx)
	defer cancel()
	env, _, err := envFlags.Connect(ctx, log)
	if err != nil {
		return err
	}
	defer env.Close()

	sqsClient := sqs.NewFromConfig(env.Config)
	q, err := provision.ApplyQueue(ctx, sqsClient, provision.QueueSpec{Name: queueName, DeadLetterQueue: true})
	if err != nil {
		return err
	}
	log.WithField("queue", q.URL).Info("provisioned")

	runID := uuid.NewString()
	book := newLedger(runID, *cards)
	var stops []func(context.Context) error
	defer func() { err = errors.Join(err, exampleenv.Shutdown(ctx, stops...)) }()
	for i := range *workers {
		stop, err := startWorker(ctx, sqsClient, q.URL, "worker-"+strconv.Itoa(i+1), *work, book, log)
		if err != nil {
			return err
		}
		stops = append(stops, stop)
	}

	producer, err := snssqs.NewQueuePublisher(sqsClient, func(o *snssqs.PublisherOptions) {
		o.Source = "card-producer"
		o.Logger = log
	})
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, exampleenv.Shutdown(ctx, producer.Shutdown)) }()
	if err := produce(ctx, producer, q.URL, runID, *cards); err != nil {
		return err
	}
	log.WithField("jobs", *cards*len(steps)).Info("producer: sent")

	select {
	case <-book.done:
	case <-ctx.Done():
		return fmt.Errorf("not every card was shipped: %w", context.Cause(ctx))
	}
	if bad := book.outOfOrder(); bad != "" {
		return errors.New(bad)
	}
	log.Infof("%d cards issued, printed and shipped, each card's steps in order", *cards)
	return nil
}

// produce sends every step of every card: one goroutine per card sends its
// steps in order (a FIFO group keeps the order of one sender's Sends), all
// cards at once.
func produce(ctx context.Context, p *snssqs.QueuePublisher, queueURL, runID string, cards int) error {
	var wg sync.WaitGroup
	errs := make(chan error, cards)
	for c := range cards {
		card := "card-" + strconv.Itoa(c+1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for s := range steps {
				job := CardJob{Run: runID, CardID: card, Step: s}
				if _, err := p.Send(ctx, queueURL, eventStep, job, snssqs.WithGroupID(card)); err != nil {
					errs <- fmt.Errorf("sending %s of %s: %w", steps[s], card, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return errors.Join(collect(errs)...)
}

func collect(errs <-chan error) []error {
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	return all
}

// startWorker runs one worker on the queue and returns the function that
// stops it gracefully.
func startWorker(ctx context.Context, client *sqs.Client, queueURL, name string, work time.Duration, book *ledger, log logrus.FieldLogger) (func(context.Context) error, error) {
	wlog := log.WithField("worker", name)
	sub, err := snssqs.NewSubscriber(client, func(o *snssqs.SubscriberOptions) {
		o.Logger = wlog
		o.WaitTime = exampleenv.PollWait // a short long poll, for a prompt exit
		// Two steps at a time, received two at a time: a worker with both
		// slots busy does not poll, so the other worker gets the other cards.
		o.Concurrency = 2
		o.MaxMessages = 2
	})
	if err != nil {
		return nil, err
	}
	_, err = snssqs.HandleFunc(sub, queueURL, eventStep, func(ctx context.Context, j CardJob, m *snssqs.Message) error {
		if j.Step < 0 || j.Step >= len(steps) {
			return fmt.Errorf("unknown step %d", j.Step) // retried, then dead-lettered
		}
		t := time.NewTimer(work) // the step's work
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
		if book.record(j) {
			wlog.WithField("group", m.MessageGroupID).Infof("%s: %s %s", name, j.CardID, steps[j.Step])
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return exampleenv.Start(ctx, sub).Stop, nil
}
