package snssqs_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
	"github.com/google/uuid"
	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/snssqs/snssqs"
	"github.com/snssqs/snssqs/clock"
)

var pubTestStart = time.Date(2024, 5, 6, 7, 8, 9, 123000000, time.FixedZone("CEST", 2*3600))

func TestPublishEnvelopeOnTheWire(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeSNS{}
		p := newTestPublisher(t, f, func(o *snssqs.PublisherOptions) {
			o.Source = "card-service"
			o.Clock = clock.NewFake(pubTestStart)
		})
		type cardCreated struct {
			CardID string `json:"card_id"`
			Limit  int    `json:"limit"`
		}
		id, err := p.Publish(context.Background(), pubTopic, "card.created", cardCreated{CardID: "c-1", Limit: 500},
			snssqs.WithSubject("c-1"),
			snssqs.WithExtension("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
			snssqs.WithExtension("priority", 3),
			snssqs.WithAttribute("tenant", snssqs.StringAttribute("acme")),
			snssqs.WithAttribute("amount", snssqs.NumberAttribute("12.5")),
		)
		require.NoError(t, err)

		calls := f.snapshot()
		require.Len(t, calls, 1)
		require.False(t, calls[0].batch, "a lone publish uses the Publish API")
		assert.Equal(t, pubTopic, calls[0].topic)
		e := calls[0].entries[0]
		assert.Equal(t, "mid-"+e.envID, id, "Publish returns SNS's MessageId")

		var wire map[string]any
		require.NoError(t, json.Unmarshal([]byte(e.body), &wire))
		assert.Equal(t, "1.0", wire["specversion"])
		parsed, err := uuid.Parse(wire["id"].(string))
		require.NoError(t, err, "id is a UUID")
		assert.Equal(t, uuid.Version(4), parsed.Version())
		assert.Equal(t, "card.created", wire["type"])
		assert.Equal(t, "card-service", wire["source"])
		assert.Equal(t, "2024-05-06T05:08:09.123Z", wire["time"], "time is RFC 3339 in UTC")
		assert.Equal(t, "application/json", wire["datacontenttype"])
		assert.Equal(t, "c-1", wire["subject"])
		assert.Equal(t, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", wire["traceparent"])
		assert.EqualValues(t, 3, wire["priority"])
		data, err := json.Marshal(wire["data"])
		require.NoError(t, err)
		assert.JSONEq(t, `{"card_id":"c-1","limit":500}`, string(data))
		assert.Len(t, wire, 10, "no unexpected keys: %v", wire)

		require.Len(t, e.attrs, 3)
		assert.Equal(t, "String", aws.ToString(e.attrs["ce_type"].DataType))
		assert.Equal(t, "card.created", aws.ToString(e.attrs["ce_type"].StringValue))
		assert.Equal(t, "acme", aws.ToString(e.attrs["tenant"].StringValue))
		assert.Equal(t, "Number", aws.ToString(e.attrs["amount"].DataType))
		assert.Nil(t, e.groupID, "no FIFO fields on a standard topic")
		assert.Nil(t, e.dedupID, "no FIFO fields on a standard topic")

		// The library's own decoder reads it back.
		var env snssqs.Envelope
		require.NoError(t, json.Unmarshal([]byte(e.body), &env))
		assert.Equal(t, pubTestStart.UTC(), env.Time)
	})
}

func TestPublishOptionalFieldsAndOverrides(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeSNS{}
		p := newTestPublisher(t, f, func(o *snssqs.PublisherOptions) { o.NewID = func() string { return "generated" } })
		when := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)

		_, err := p.Publish(context.Background(), pubTopic, "t", map[string]int{"a": 1})
		require.NoError(t, err)
		_, err = p.Publish(context.Background(), pubTopic, "t", 1, snssqs.WithEventID("ev-fixed"), snssqs.WithTime(when))
		require.NoError(t, err)

		calls := f.snapshot()
		require.Len(t, calls, 2)
		var first, second map[string]any
		require.NoError(t, json.Unmarshal([]byte(calls[0].entries[0].body), &first))
		require.NoError(t, json.Unmarshal([]byte(calls[1].entries[0].body), &second))
		assert.Equal(t, "generated", first["id"], "NewID supplies the id")
		assert.NotContains(t, first, "subject", "no subject unless set")
		assert.Equal(t, filepath.Base(os.Args[0]), first["source"], "source defaults to the program name")
		assert.Equal(t, "ev-fixed", second["id"])
		assert.Equal(t, "2020-01-02T03:04:05Z", second["time"])
		assert.EqualValues(t, 1, second["data"])
	})
}

func TestPublishRawJSONUsedAsIs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeSNS{}
		p := newTestPublisher(t, f)
		for _, ev := range []any{json.RawMessage(`{"b":[1,2],"a":"x"}`), []byte(`{"b":[1,2],"a":"x"}`)} {
			_, err := p.Publish(context.Background(), pubTopic, "t", ev)
			require.NoError(t, err)
		}
		for _, c := range f.snapshot() {
			var env snssqs.Envelope
			require.NoError(t, json.Unmarshal([]byte(c.entries[0].body), &env))
			assert.Equal(t, `{"b":[1,2],"a":"x"}`, string(env.Data), "raw JSON is not re-marshaled (key order kept)")
		}
	})
}

func TestPublishValidationErrorsSendNothing(t *testing.T) {
	many := func(n int) []snssqs.PublishOption {
		var opts []snssqs.PublishOption
		for i := 0; i < n; i++ {
			opts = append(opts, snssqs.WithAttribute(fmt.Sprintf("a%d", i), snssqs.StringAttribute("v")))
		}
		return opts
	}
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	cases := []struct {
		name   string
		ctx    context.Context
		topic  string
		typ    string
		event  any
		opts   []snssqs.PublishOption
		target error
	}{
		{name: "bad ARN", topic: "arn:aws:sqs:eu-west-1:123456789012:cards", target: snssqs.ErrInvalidARN},
		{name: "queue URL as ARN", topic: "https://sqs.eu-west-1.amazonaws.com/123456789012/cards", target: snssqs.ErrInvalidARN},
		{name: "empty type", typ: "-", target: snssqs.ErrInvalidEvent},
		{name: "nil event", event: "-nil", target: snssqs.ErrInvalidEvent},
		{name: "typed nil pointer", event: (*struct{})(nil), target: snssqs.ErrInvalidEvent},
		{name: "unmarshalable event", event: make(chan int), target: snssqs.ErrInvalidEvent},
		{name: "invalid raw JSON", event: json.RawMessage(`{"a":`), target: snssqs.ErrInvalidEvent},
		{name: "invalid []byte JSON", event: []byte("hello"), target: snssqs.ErrInvalidEvent},
		{name: "MarshalJSON returns invalid JSON", event: badMarshaler{}, target: snssqs.ErrInvalidEvent},
		{name: "empty raw JSON", event: json.RawMessage{}, target: snssqs.ErrInvalidEvent},
		{name: "raw null", event: json.RawMessage(" null "), target: snssqs.ErrInvalidEvent},
		{name: "10 attributes plus ce_type", opts: many(10), target: snssqs.ErrInvalidAttribute},
		{name: "ce_type reserved", opts: []snssqs.PublishOption{snssqs.WithAttribute("ce_type", snssqs.StringAttribute("x"))}, target: snssqs.ErrInvalidAttribute},
		{name: "AWS. prefix", opts: []snssqs.PublishOption{snssqs.WithAttribute("aws.x", snssqs.StringAttribute("x"))}, target: snssqs.ErrInvalidAttribute},
		{name: "Amazon. prefix", opts: []snssqs.PublishOption{snssqs.WithAttribute("Amazon.x", snssqs.StringAttribute("x"))}, target: snssqs.ErrInvalidAttribute},
		{name: "double period", opts: []snssqs.PublishOption{snssqs.WithAttribute("a..b", snssqs.StringAttribute("x"))}, target: snssqs.ErrInvalidAttribute},
		{name: "bad data type", opts: []snssqs.PublishOption{snssqs.WithAttribute("a", snssqs.Attribute{DataType: "Int", StringValue: "1"})}, target: snssqs.ErrInvalidAttribute},
		{name: "empty value", opts: []snssqs.PublishOption{snssqs.WithAttribute("a", snssqs.StringAttribute(""))}, target: snssqs.ErrInvalidAttribute},
		{name: "bad number", opts: []snssqs.PublishOption{snssqs.WithAttribute("a", snssqs.NumberAttribute("1,5"))}, target: snssqs.ErrInvalidAttribute},
		{name: "FIFO without group", topic: pubFIFOTopic, target: snssqs.ErrMissingGroupID},
		{name: "bad group on standard topic", opts: []snssqs.PublishOption{snssqs.WithGroupID("a b")}, target: snssqs.ErrInvalidEvent},
		{name: "dedup on standard topic", opts: []snssqs.PublishOption{snssqs.WithDeduplicationID("d")}, target: snssqs.ErrInvalidEvent},
		{name: "bad group id", topic: pubFIFOTopic, opts: []snssqs.PublishOption{snssqs.WithGroupID("a b")}, target: snssqs.ErrInvalidEvent},
		{name: "bad dedup id", topic: pubFIFOTopic, opts: []snssqs.PublishOption{snssqs.WithGroupID("g"), snssqs.WithDeduplicationID(strings.Repeat("d", 129))}, target: snssqs.ErrInvalidEvent},
		{name: "bad extension name", opts: []snssqs.PublishOption{snssqs.WithExtension("traceParent", "x")}, target: snssqs.ErrInvalidEvent},
		{name: "core attribute as extension", opts: []snssqs.PublishOption{snssqs.WithExtension("source", "x")}, target: snssqs.ErrInvalidEvent},
		{name: "nil extension value", opts: []snssqs.PublishOption{snssqs.WithExtension("x", nil)}, target: snssqs.ErrInvalidEvent},
		{name: "unmarshalable extension", opts: []snssqs.PublishOption{snssqs.WithExtension("x", func() {})}, target: snssqs.ErrInvalidEvent},
		{name: "too large", event: strings.Repeat("x", snssqs.MaxSNSMessageSize), target: snssqs.ErrMessageTooLarge},
		{name: "canceled context", ctx: canceled, target: context.Canceled},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := &fakeSNS{}
			p := newTestPublisher(t, f)
			ctx, topic, typ, event := c.ctx, c.topic, c.typ, c.event
			if ctx == nil {
				ctx = context.Background()
			}
			if topic == "" {
				topic = pubTopic
			}
			switch typ {
			case "":
				typ = "card.created"
			case "-":
				typ = ""
			}
			switch event {
			case nil:
				event = map[string]string{"k": "v"}
			case "-nil":
				event = nil
			}
			id, err := p.Publish(ctx, topic, typ, event, c.opts...)
			require.ErrorIs(t, err, c.target)
			assert.Empty(t, id)
			assert.Empty(t, f.snapshot(), "no request is sent")

			res, err := p.PublishBatch(ctx, topic, []snssqs.Entry{{EventType: typ, Event: event, Options: c.opts}})
			require.ErrorIs(t, err, c.target, "PublishBatch validates the same way")
			if res != nil {
				require.Len(t, res, 1)
				assert.ErrorIs(t, res[0].Err, c.target)
			}
			assert.Empty(t, f.snapshot(), "no request is sent")
		})
	}
}

func TestPublishUnmarshalableEventKeepsJSONError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newTestPublisher(t, &fakeSNS{})
		_, err := p.Publish(context.Background(), pubTopic, "t", make(chan int))
		require.ErrorIs(t, err, snssqs.ErrInvalidEvent)
		var jerr *json.UnsupportedTypeError
		assert.ErrorAs(t, err, &jerr)
	})
}

func TestPublishSizeBoundary(t *testing.T) {
	for _, limit := range []int{snssqs.MaxSNSMessageSize, 4096} {
		t.Run(strconv.Itoa(limit), func(t *testing.T) {
			f := &fakeSNS{}
			p := newTestPublisher(t, f, func(o *snssqs.PublisherOptions) {
				o.MaxMessageSize = limit
				o.Clock = clock.NewFake(pubTestStart)
			})
			attr := snssqs.WithAttribute("tenant", snssqs.StringAttribute("acme"))
			publish := func(n int) error {
				_, err := p.Publish(context.Background(), pubTopic, "card.created", strings.Repeat("x", n), snssqs.WithEventID("e"), attr)
				return err
			}
			// Find the payload length that makes the message exactly limit
			// bytes: the size grows one byte per ASCII character.
			require.NoError(t, publish(0))
			n := limit - f.snapshot()[0].size()

			require.NoError(t, publish(n), "exactly at the limit is accepted")
			calls := f.snapshot()
			require.Len(t, calls, 2)
			e := calls[1].entries[0]
			// Count independently, as SNS does: body + each attribute's name, type and value.
			got := len(e.body)
			for name, a := range e.attrs {
				got += len(name) + len(aws.ToString(a.DataType)) + len(aws.ToString(a.StringValue)) + len(a.BinaryValue)
			}
			assert.Equal(t, limit, got)
			assert.Equal(t, len(e.body)+len("ce_type")+len("String")+len("card.created")+len("tenant")+len("String")+len("acme"), got)

			assert.ErrorIs(t, publish(n+1), snssqs.ErrMessageTooLarge, "one byte over is rejected")
			// Attributes count: one more attribute byte also tips it over.
			_, err := p.Publish(context.Background(), pubTopic, "card.created", strings.Repeat("x", n), snssqs.WithEventID("e"),
				snssqs.WithAttribute("tenant", snssqs.StringAttribute("acme!")))
			assert.ErrorIs(t, err, snssqs.ErrMessageTooLarge, "attribute bytes count toward the limit")
			assert.Len(t, f.snapshot(), 2, "rejected messages are not sent")
		})
	}
}

func TestPublishFIFOFields(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeSNS{}
		p := newTestPublisher(t, f)
		ctx := context.Background()
		_, err := p.Publish(ctx, pubFIFOTopic, "t", 1, snssqs.WithGroupID("card-1"))
		require.NoError(t, err)
		_, err = p.Publish(ctx, pubFIFOTopic, "t", 2, snssqs.WithGroupID("card-2"), snssqs.WithDeduplicationID("dedup-2"))
		require.NoError(t, err)
		_, err = p.PublishBatch(ctx, pubFIFOTopic, []snssqs.Entry{
			{EventType: "t", Event: 3, Options: []snssqs.PublishOption{snssqs.WithGroupID("card-3")}},
			{EventType: "t", Event: 4, Options: []snssqs.PublishOption{snssqs.WithGroupID("card-3"), snssqs.WithEventID("ev-4")}},
		})
		require.NoError(t, err)

		calls := f.snapshot()
		require.Len(t, calls, 3)
		e := calls[0].entries[0]
		assert.Equal(t, "card-1", aws.ToString(e.groupID))
		assert.Equal(t, e.envID, aws.ToString(e.dedupID), "dedup id defaults to the envelope id")
		e = calls[1].entries[0]
		assert.Equal(t, "card-2", aws.ToString(e.groupID))
		assert.Equal(t, "dedup-2", aws.ToString(e.dedupID))
		require.True(t, calls[2].batch)
		for _, e := range calls[2].entries {
			assert.Equal(t, "card-3", aws.ToString(e.groupID))
			assert.Equal(t, e.envID, aws.ToString(e.dedupID))
		}
		assert.Equal(t, "ev-4", calls[2].entries[1].envID)

		// DefaultGroupID applies to FIFO topics only.
		f2 := &fakeSNS{}
		p2 := newTestPublisher(t, f2, func(o *snssqs.PublisherOptions) { o.DefaultGroupID = "default" })
		_, err = p2.Publish(ctx, pubFIFOTopic, "t", 1)
		require.NoError(t, err)
		_, err = p2.Publish(ctx, pubTopic, "t", 1)
		require.NoError(t, err)
		_, err = p2.PublishBatch(ctx, pubTopic, []snssqs.Entry{{EventType: "t", Event: 1}, {EventType: "t", Event: 2}})
		require.NoError(t, err)
		calls = f2.snapshot()
		require.Len(t, calls, 3)
		assert.Equal(t, "default", aws.ToString(calls[0].entries[0].groupID))
		for _, c := range calls[1:] {
			for _, e := range c.entries {
				assert.Nil(t, e.groupID, "DefaultGroupID is not used on a standard topic")
				assert.Nil(t, e.dedupID, "never a dedup id on a standard topic")
			}
		}

		// On a standard topic WithGroupID marks a fair-queue tenant: it is sent.
		f3 := &fakeSNS{}
		p3 := newTestPublisher(t, f3)
		_, err = p3.Publish(ctx, pubTopic, "t", 1, snssqs.WithGroupID("tenant-1"))
		require.NoError(t, err)
		_, err = p3.PublishBatch(ctx, pubTopic, []snssqs.Entry{{EventType: "t", Event: 1, Options: []snssqs.PublishOption{snssqs.WithGroupID("tenant-2")}}})
		require.NoError(t, err)
		calls = f3.snapshot()
		require.Len(t, calls, 2)
		assert.Equal(t, "tenant-1", aws.ToString(calls[0].entries[0].groupID))
		assert.Equal(t, "tenant-2", aws.ToString(calls[1].entries[0].groupID))
		assert.Nil(t, calls[0].entries[0].dedupID)
	})
}

func TestPublishBatchSplitsIntoTens(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeSNS{}
		p := newTestPublisher(t, f)
		results, err := p.PublishBatch(context.Background(), pubTopic, batchEntries(25, "t"))
		require.NoError(t, err)
		require.Len(t, results, 25)
		for i, r := range results {
			assert.NoError(t, r.Err)
			assert.Equal(t, fmt.Sprintf("mid-ev-%d", i), r.MessageID, "results are in entry order")
		}
		calls := f.snapshot()
		var sizes []int
		for _, c := range calls {
			assert.True(t, c.batch)
			sizes = append(sizes, len(c.entries))
			ids := map[string]bool{}
			for _, e := range c.entries {
				assert.False(t, ids[e.batchID], "entry ids are unique per call")
				ids[e.batchID] = true
			}
		}
		sort.Ints(sizes)
		assert.Equal(t, []int{5, 10, 10}, sizes)
		assert.ElementsMatch(t, expectedEventIDs(25), f.sentEnvelopeIDs(), "every entry sent exactly once")
	})
}

func TestPublishBatchRespectsAggregateSize(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeSNS{}
		p := newTestPublisher(t, f)
		entries := batchEntries(7, "t")
		for i := range entries {
			entries[i].Event = strings.Repeat("x", 100_000)
		}
		_, err := p.PublishBatch(context.Background(), pubTopic, entries)
		require.NoError(t, err)
		total := 0
		for _, c := range f.snapshot() {
			assert.LessOrEqual(t, c.size(), snssqs.MaxSNSMessageSize, "a request carries at most 256 KiB")
			assert.LessOrEqual(t, len(c.entries), 2)
			total += len(c.entries)
		}
		assert.Equal(t, 7, total)
		assert.ElementsMatch(t, expectedEventIDs(7), f.sentEnvelopeIDs())
	})
}

func TestPublishBatchPartialFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeSNS{failEntry: func(envID string) *types.BatchResultErrorEntry {
			switch envID {
			case "ev-3":
				return &types.BatchResultErrorEntry{Code: aws.String("InvalidParameter"), Message: aws.String("bad attribute"), SenderFault: true}
			case "ev-4":
				return &types.BatchResultErrorEntry{Code: aws.String("InternalError"), Message: aws.String("try again"), SenderFault: false}
			}
			return nil
		}}
		p := newTestPublisher(t, f)
		entries := batchEntries(6, "t")
		entries[1].EventType = "" // invalid: never sent

		results, err := p.PublishBatch(context.Background(), pubTopic, entries)
		require.Error(t, err)
		require.Len(t, results, 6)
		var be *snssqs.BatchError
		require.ErrorAs(t, err, &be)
		assert.ErrorIs(t, err, snssqs.ErrBatchFailed)
		assert.ErrorIs(t, err, snssqs.ErrInvalidEvent, "entry errors are reachable")
		assert.Equal(t, 6, be.Total)

		require.Len(t, be.Failed, 3)
		assert.Equal(t, 1, be.Failed[0].Index)
		assert.Equal(t, "", be.Failed[0].Code)
		assert.True(t, be.Failed[0].SenderFault)
		assert.ErrorIs(t, be.Failed[0].Err, snssqs.ErrInvalidEvent)
		assert.Equal(t, snssqs.BatchEntryError{Index: 3, Code: "InvalidParameter", Message: "bad attribute", SenderFault: true, Err: results[3].Err}, be.Failed[1])
		assert.Equal(t, snssqs.BatchEntryError{Index: 4, Code: "InternalError", Message: "try again", SenderFault: false, Err: results[4].Err}, be.Failed[2])

		var apiErr smithy.APIError
		require.ErrorAs(t, err, &apiErr, "AWS errors are reachable through BatchError")
		assert.Contains(t, []string{"InvalidParameter", "InternalError"}, apiErr.ErrorCode())
		require.ErrorAs(t, results[4].Err, &apiErr)
		assert.Equal(t, "InternalError", apiErr.ErrorCode())
		assert.Equal(t, smithy.FaultServer, apiErr.ErrorFault())

		for _, i := range []int{0, 2, 5} {
			assert.NoError(t, results[i].Err)
			assert.Equal(t, fmt.Sprintf("mid-ev-%d", i), results[i].MessageID)
		}
		assert.ElementsMatch(t, []string{"ev-0", "ev-2", "ev-3", "ev-4", "ev-5"}, f.sentEnvelopeIDs(), "the invalid entry is not sent")
		assert.Contains(t, err.Error(), "3 of 6 entries failed")
	})
}

func TestPublishBatchWholeCallFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeSNS{hook: func(context.Context, fakeCall) error {
			return &types.InternalErrorException{Message: aws.String("boom")}
		}}
		p := newTestPublisher(t, f)
		results, err := p.PublishBatch(context.Background(), pubTopic, batchEntries(3, "t"))
		var be *snssqs.BatchError
		require.ErrorAs(t, err, &be)
		require.Len(t, be.Failed, 3)
		for i, fe := range be.Failed {
			assert.Equal(t, i, fe.Index)
			assert.Equal(t, "InternalError", fe.Code)
			assert.Equal(t, "boom", fe.Message)
			assert.False(t, fe.SenderFault)
			assert.Empty(t, results[i].MessageID)
		}
		var ie *types.InternalErrorException
		assert.ErrorAs(t, err, &ie, "the typed AWS error is reachable with errors.As")
	})
}

func TestPublishReturnsAWSError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeSNS{hook: func(context.Context, fakeCall) error {
			return &types.NotFoundException{Message: aws.String("Topic does not exist")}
		}}
		p := newTestPublisher(t, f)
		_, err := p.Publish(context.Background(), pubTopic, "t", 1)
		var nf *types.NotFoundException
		require.ErrorAs(t, err, &nf)
		assert.Contains(t, err.Error(), pubTopic)
	})
}

func TestPublishBatchEmpty(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeSNS{}
		p := newTestPublisher(t, f)
		res, err := p.PublishBatch(context.Background(), pubTopic, nil)
		require.NoError(t, err)
		assert.Empty(t, res)
		assert.Empty(t, f.snapshot())
	})
}

func TestPublishLogging(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		logger, hook := logtest.NewNullLogger()
		logger.SetLevel(logrus.DebugLevel)
		f := &fakeSNS{}
		p := newTestPublisher(t, f, func(o *snssqs.PublisherOptions) { o.Logger = logger })

		_, err := p.Publish(context.Background(), pubTopic, "card.created", map[string]string{"secret": "body"}, snssqs.WithEventID("ev-1"))
		require.NoError(t, err)
		e := hook.LastEntry()
		require.NotNil(t, e)
		assert.Equal(t, logrus.DebugLevel, e.Level)
		assert.Equal(t, pubTopic, e.Data["topic"])
		assert.Equal(t, "card.created", e.Data["type"])
		assert.Equal(t, "ev-1", e.Data["id"])
		assert.Equal(t, "mid-ev-1", e.Data["message_id"])
		assert.Contains(t, e.Data["body"], "secret", "the body is logged at Debug")

		hook.Reset()
		logger.SetLevel(logrus.InfoLevel)
		_, err = p.Publish(context.Background(), pubTopic, "card.created", map[string]string{"secret": "body"})
		require.NoError(t, err)
		assert.Empty(t, hook.AllEntries(), "nothing is logged above Debug on success")

		_, err = p.Publish(context.Background(), pubTopic, "", 1)
		require.Error(t, err)
		e = hook.LastEntry()
		require.NotNil(t, e)
		assert.Equal(t, logrus.WarnLevel, e.Level)
		assert.Equal(t, pubTopic, e.Data["topic"])

		f.hook = func(context.Context, fakeCall) error { return errors.New("network down") }
		_, err = p.Publish(context.Background(), pubTopic, "card.created", map[string]string{"secret": "body"})
		require.Error(t, err)
		e = hook.LastEntry()
		require.NotNil(t, e)
		assert.Equal(t, logrus.ErrorLevel, e.Level)
		assert.Equal(t, pubTopic, e.Data["topic"])
		assert.Equal(t, "card.created", e.Data["type"])
		for _, entry := range hook.AllEntries() {
			assert.NotContains(t, fmt.Sprint(entry.Data), "secret", "bodies only at Debug")
		}
	})
}

// TestPublisherAgainstRealSNS publishes through a real SNS implementation
// (moto, LocalStack) named by SNSSQS_TEST_ENDPOINT into subscribed queues and
// decodes what arrives; it is skipped without the variable.
func TestPublisherAgainstRealSNS(t *testing.T) {
	endpoint := os.Getenv("SNSSQS_TEST_ENDPOINT")
	if endpoint == "" {
		t.Skip("SNSSQS_TEST_ENDPOINT not set; e.g. run moto_server -H 127.0.0.1 -p 4571 and set it to http://127.0.0.1:4571")
	}
	creds := credentials.NewStaticCredentialsProvider("test", "test", "")
	snsClient := sns.New(sns.Options{Region: "us-east-1", Credentials: creds, BaseEndpoint: aws.String(endpoint)})
	sqsClient := sqs.New(sqs.Options{Region: "us-east-1", Credentials: creds, BaseEndpoint: aws.String(endpoint)})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	for _, fifo := range []bool{false, true} {
		t.Run(fmt.Sprintf("fifo=%v", fifo), func(t *testing.T) {
			name := "pub-it-" + uuid.NewString()[:8]
			topicAttrs, queueAttrs := map[string]string{}, map[string]string{}
			if fifo {
				name += ".fifo"
				topicAttrs["FifoTopic"] = "true"
				queueAttrs["FifoQueue"] = "true"
			}
			topic, err := snsClient.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(name), Attributes: topicAttrs})
			require.NoError(t, err)
			defer snsClient.DeleteTopic(context.Background(), &sns.DeleteTopicInput{TopicArn: topic.TopicArn})
			queue, err := sqsClient.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: queueAttrs})
			require.NoError(t, err)
			defer sqsClient.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: queue.QueueUrl})
			qa, err := sqsClient.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: queue.QueueUrl,
				AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
			require.NoError(t, err)
			_, err = snsClient.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("sqs"),
				Endpoint: aws.String(qa.Attributes[string(sqstypes.QueueAttributeNameQueueArn)])})
			require.NoError(t, err)

			p, err := snssqs.NewPublisher(snsClient, func(o *snssqs.PublisherOptions) { o.DefaultGroupID = "g" })
			require.NoError(t, err)
			defer p.Close()
			arn := aws.ToString(topic.TopicArn)
			_, err = p.Publish(ctx, arn, "card.created", map[string]int{"n": 0}, snssqs.WithAttribute("tenant", snssqs.StringAttribute("acme")))
			require.NoError(t, err)
			results, err := p.PublishBatch(ctx, arn, batchEntries(12, "card.updated"))
			require.NoError(t, err)
			for _, r := range results {
				assert.NotEmpty(t, r.MessageID)
			}

			var got []*snssqs.Message
			for len(got) < 13 && ctx.Err() == nil {
				out, err := sqsClient.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: queue.QueueUrl,
					MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageAttributeNames: []string{"All"},
					MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll}})
				require.NoError(t, err)
				for _, sm := range out.Messages {
					m, err := snssqs.DecodeSQSMessage(aws.ToString(queue.QueueUrl), sm)
					require.NoError(t, err)
					got = append(got, m)
					_, err = sqsClient.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: queue.QueueUrl, ReceiptHandle: sm.ReceiptHandle})
					require.NoError(t, err)
				}
			}
			require.Len(t, got, 13)
			byType := map[string]int{}
			var order []int
			for _, m := range got {
				assert.True(t, m.IsEnvelope)
				assert.Equal(t, arn, m.TopicARN)
				assert.Equal(t, m.Type, m.Attributes[snssqs.EventTypeAttribute].StringValue, "ce_type arrives with the message")
				byType[m.Type]++
				if m.Type == "card.updated" {
					var ev struct{ I int }
					require.NoError(t, m.Decode(&ev))
					order = append(order, ev.I)
				}
			}
			assert.Equal(t, map[string]int{"card.created": 1, "card.updated": 12}, byType)
			if fifo {
				assert.True(t, sort.IntsAreSorted(order), "one FIFO group arrives in publish order: %v", order)
			}
		})
	}
}

// badMarshaler's MarshalJSON returns bytes that are not JSON.
type badMarshaler struct{}

func (badMarshaler) MarshalJSON() ([]byte, error) { return []byte(`{"a":`), nil }

// Close is bounded like the Subscriber's: after DrainTimeout it cancels the
// requests in flight and returns, instead of waiting on a stuck endpoint
// for ever.
func TestPublisherCloseIsBoundedByDrainTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		stuck := &fakeSNS{hook: func(ctx context.Context, _ fakeCall) error {
			<-ctx.Done() // an endpoint that never answers
			return ctx.Err()
		}}
		p, err := snssqs.NewPublisher(stuck, func(o *snssqs.PublisherOptions) { o.DrainTimeout = 5 * time.Second })
		require.NoError(t, err)
		published := make(chan error, 1)
		go func() {
			_, err := p.Publish(context.Background(), pubTopic, "card.created", 1)
			published <- err
		}()
		synctest.Wait() // the request is in flight
		start := time.Now()
		err = p.Close()
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Equal(t, 5*time.Second, time.Since(start), "Close waited DrainTimeout, no more")
		assert.Error(t, <-published, "the caller learns its message may not be published")
	})
}

// A negative DrainTimeout makes Close wait for nothing: the request in
// flight is canceled at once.
func TestPublisherCloseWithNegativeDrainTimeoutWaitsForNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		stuck := &fakeSNS{hook: func(ctx context.Context, _ fakeCall) error {
			<-ctx.Done()
			return ctx.Err()
		}}
		p, err := snssqs.NewPublisher(stuck, func(o *snssqs.PublisherOptions) { o.DrainTimeout = -1 })
		require.NoError(t, err)
		published := make(chan error, 1)
		go func() {
			_, err := p.Publish(context.Background(), pubTopic, "card.created", 1)
			published <- err
		}()
		synctest.Wait()
		start := time.Now()
		assert.ErrorIs(t, p.Close(), context.DeadlineExceeded)
		assert.Zero(t, time.Since(start))
		assert.ErrorIs(t, <-published, context.Canceled)
	})
}
