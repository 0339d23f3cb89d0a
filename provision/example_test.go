package provision_test

import (
	"context"
	"fmt"
	"log"

	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/snssqs/snssqs/provision"
	"github.com/snssqs/snssqs/snssqstest"
)

func ExampleApply() {
	// The in-process emulator stands in for AWS; with real AWS, pass
	// sns.NewFromConfig(cfg) and sqs.NewFromConfig(cfg) of your config.
	srv, err := snssqstest.NewServer()
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	cfg := srv.AWSConfig()
	ctx := context.Background()

	topo, err := provision.Apply(ctx, sns.NewFromConfig(cfg), sqs.NewFromConfig(cfg), provision.TopologySpec{
		TopicName: "topic_card_created",
		Queues: []provision.QueueSpec{
			{Name: "queue_card_created", DeadLetterQueue: true, MaxReceiveCount: 3},
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	q := topo.Queues["queue_card_created"]
	fmt.Println("topic:", topo.TopicARN)
	fmt.Println("queue:", q.ARN)
	fmt.Println("dead-letter queue:", q.DeadLetterARN)
	// Output:
	// topic: arn:aws:sns:us-east-1:000000000000:topic_card_created
	// queue: arn:aws:sqs:us-east-1:000000000000:queue_card_created
	// dead-letter queue: arn:aws:sqs:us-east-1:000000000000:queue_card_created-dlq
}
