package consume

import (
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/sirupsen/logrus"
)

// Delivery is one received message on its way through the engine.
type Delivery struct {
	// Msg is the message as SQS returned it.
	Msg types.Message
	// ReceiveCount is its ApproximateReceiveCount (1 on first delivery, 0
	// when SQS did not say).
	ReceiveCount int
	// GroupID is its MessageGroupId, empty for messages without one.
	GroupID string
	// AfterDelete, when the handle function sets it, runs once SQS has
	// confirmed the message's deletion (in the ack sender, after the batch
	// call): e.g. to delete the message's payload from S3. It does not run
	// when the delete failed for good, since the message comes back.
	AfterDelete func()
	// OnFinish, when the handle function sets it, is called when the
	// message ends in the engine's finish, with how it ended.
	OnFinish func(Finish)

	queueURL string
	hb       hbState
}

func newDelivery(queueURL string, m types.Message) *Delivery {
	d := &Delivery{Msg: m, queueURL: queueURL}
	if m.Attributes != nil {
		d.ReceiveCount, _ = strconv.Atoi(m.Attributes[string(types.MessageSystemAttributeNameApproximateReceiveCount)])
		d.GroupID = m.Attributes[string(types.MessageSystemAttributeNameMessageGroupId)]
	}
	return d
}

// ID is the SQS message id.
func (d *Delivery) ID() string { return aws.ToString(d.Msg.MessageId) }

// receipt is the receipt handle of this receive.
func (d *Delivery) receipt() string { return aws.ToString(d.Msg.ReceiptHandle) }

// logFields identify the message in logs; never the body.
func (d *Delivery) logFields() logrus.Fields {
	return logrus.Fields{"queue": d.queueURL, "sqs_message_id": d.ID(), "receive_count": d.ReceiveCount}
}
