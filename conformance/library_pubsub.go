package conformance

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/snssqs/snssqs"
	"github.com/snssqs/snssqs/provision"
)

func libraryPubSubScenarios() []Scenario {
	return []Scenario{
		{Name: "Library/PubSub/Notification", Run: func(t *testing.T, e *Env) { libraryPubSub(t, e, false, true) }},
		{Name: "Library/PubSub/Raw", Run: func(t *testing.T, e *Env) { libraryPubSub(t, e, true, false) }},
		{Name: "Library/PubSub/RawBinaryAttribute", Run: libraryPubSubRawBinary},
		{Name: "Library/Fanout", Run: libraryFanout},
		{Name: "Library/FilterPolicy", Run: libraryFilterPolicy},
	}
}

// Event types of the library scenarios.
const (
	typeCardCreated = "card.created"
	typeCardDeleted = "card.deleted"
)

// cardCreated and cardDeleted have different fields, so an event decoded
// into the wrong type shows.
type cardCreated struct {
	CardID string `json:"card_id"`
	Amount int    `json:"amount"`
}

type cardDeleted struct {
	CardID string `json:"card_id"`
	Reason string `json:"reason"`
}

// binaryValue is the Binary attribute value published: it includes bytes
// that are not valid UTF-8, so a transport carrying it as text would show.
var binaryValue = []byte{0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff}

func libraryPubSubRawBinary(t *testing.T, e *Env) {
	e.SkipOnMoto(t, "raw message delivery passes Binary message attributes to the SQS message; moto 5.2.1 stores them as strings "+
		"and every later ReceiveMessage on the queue fails with HTTP 500 (README: Fanout/RawMessageDeliveryBinaryAttribute)")
	libraryPubSub(t, e, true, true)
}

// Publisher → topic → queue → Subscriber with a handler per event type
// (HandleFunc, typed decode): each handler gets exactly the events of its
// type, decoded, with the CloudEvents fields, the message attributes
// (String, Number and, with binary, Binary) and the SQS metadata.
func libraryPubSub(t *testing.T, e *Env, raw, binary bool) {
	ctx := e.Context(t)
	qName := e.Name("lib-ps")
	topo := e.Provision(t, provision.TopologySpec{
		TopicName: e.Name("lib-ps"),
		Queues:    []provision.QueueSpec{{Name: qName, RawMessageDelivery: raw}},
	})
	q := topo.Queues[qName]

	rec := NewRecorder()
	e.StartSubscriber(t, func(s *snssqs.Subscriber) {
		_, err := snssqs.HandleFunc(s, q.URL, typeCardCreated, func(_ context.Context, ev cardCreated, m *snssqs.Message) error {
			rec.Record(typeCardCreated, m, ev)
			return nil
		})
		require.NoError(t, err)
		_, err = snssqs.HandleFunc(s, q.URL, typeCardDeleted, func(_ context.Context, ev cardDeleted, m *snssqs.Message) error {
			rec.Record(typeCardDeleted, m, ev)
			return nil
		})
		require.NoError(t, err)
	})

	pub := e.NewLibraryPublisher(t)
	attrs := []snssqs.PublishOption{
		snssqs.WithAttribute("tenant", snssqs.StringAttribute("acme")),
		snssqs.WithAttribute("weight", snssqs.NumberAttribute("42.5")),
	}
	if binary {
		attrs = append(attrs, snssqs.WithAttribute("blob", snssqs.BinaryAttribute(binaryValue)))
	}
	type sent struct {
		typ     string
		event   any
		snsID   string
		subject string
	}
	var all []sent
	for i := range 3 {
		all = append(all, sent{typ: typeCardCreated, event: cardCreated{CardID: fmt.Sprintf("c%d", i), Amount: 100 + i}})
	}
	for i := range 2 {
		all = append(all, sent{typ: typeCardDeleted, event: cardDeleted{CardID: fmt.Sprintf("d%d", i), Reason: "expired"}})
	}
	bySubject := map[string]sent{}
	for i := range all {
		all[i].subject = fmt.Sprintf("card-%d", i)
		id, err := pub.Publish(ctx, topo.TopicARN, all[i].typ, all[i].event, append(slices.Clip(attrs), snssqs.WithSubject(all[i].subject))...)
		require.NoError(t, err, "Publish %s", all[i].typ)
		require.NotEmpty(t, id)
		all[i].snsID = id
		bySubject[all[i].subject] = all[i]
	}

	got := rec.AwaitN(ctx, t, "every published event handled", len(all))
	seen := map[string]int{}
	for _, h := range got {
		m := h.Msg
		s, ok := bySubject[m.Subject]
		require.True(t, ok, "handled a message with an unknown subject %q", m.Subject)
		seen[m.Subject]++
		assert.Equal(t, s.typ, h.Handler, "%s went to the handler of its type", m.Subject)
		assert.Equal(t, s.typ, m.Type)
		assert.Equal(t, s.event, h.Event, "%s decoded into its type", m.Subject)
		assert.True(t, m.IsEnvelope, "%s is a CloudEvents envelope", m.Subject)
		assert.NotEmpty(t, m.ID)
		assert.Equal(t, librarySource, m.Source)
		assert.Equal(t, snssqs.ContentTypeJSON, m.DataContentType)
		assert.False(t, m.Time.IsZero(), "envelope time set")
		assert.Equal(t, q.URL, m.QueueURL)
		assert.Equal(t, 1, m.ReceiveCount, "%s handled on its first delivery", m.Subject)
		assert.NotEmpty(t, m.SQSMessageID)
		if raw {
			assert.Empty(t, m.TopicARN, "raw delivery carries no topic")
		} else {
			assert.Equal(t, topo.TopicARN, m.TopicARN, "notification names the topic")
			assert.Equal(t, s.snsID, m.SNSMessageID, "notification carries the SNS message id Publish returned")
		}
		want := map[string]snssqs.Attribute{
			snssqs.EventTypeAttribute: snssqs.StringAttribute(s.typ),
			"tenant":                  snssqs.StringAttribute("acme"),
			"weight":                  snssqs.NumberAttribute("42.5"),
		}
		if binary {
			want["blob"] = snssqs.BinaryAttribute(binaryValue)
		}
		assert.Equal(t, want, m.Attributes, "%s attributes reach the handler", m.Subject)
	}
	for subject, n := range seen {
		assert.Equal(t, 1, n, "%s handled once", subject)
	}
	e.QueueDrained(t, q.URL)
}

// One topic, three queues, a Subscriber per queue: each gets every event.
func libraryFanout(t *testing.T, e *Env) {
	ctx := e.Context(t)
	names := []string{e.Name("lib-fan0"), e.Name("lib-fan1"), e.Name("lib-fan2")}
	spec := provision.TopologySpec{TopicName: e.Name("lib-fan")}
	for _, n := range names {
		spec.Queues = append(spec.Queues, provision.QueueSpec{Name: n})
	}
	topo := e.Provision(t, spec)

	recs := make([]*Recorder, len(names))
	subs := make([]*LibrarySubscriber, len(names))
	for i, n := range names {
		rec := NewRecorder()
		recs[i] = rec
		url := topo.Queues[n].URL
		subs[i] = e.StartSubscriber(t, func(s *snssqs.Subscriber) {
			_, err := snssqs.HandleFunc(s, url, typeCardCreated, func(_ context.Context, ev cardCreated, m *snssqs.Message) error {
				rec.Record(n, m, ev)
				return nil
			})
			require.NoError(t, err)
		})
	}

	pub := e.NewLibraryPublisher(t)
	const events = 5
	want := map[string]bool{}
	for i := range events {
		ev := cardCreated{CardID: fmt.Sprintf("f%d", i), Amount: i}
		_, err := pub.Publish(ctx, topo.TopicARN, typeCardCreated, ev)
		require.NoError(t, err)
		want[ev.CardID] = true
	}
	for i, rec := range recs {
		got := rec.AwaitN(ctx, t, fmt.Sprintf("queue %d gets every event", i), events)
		ids := map[string]bool{}
		for _, h := range got {
			ids[h.Event.(cardCreated).CardID] = true
		}
		assert.Equal(t, want, ids, "queue %d got every event", i)
	}
	for _, n := range names {
		e.QueueDrained(t, topo.Queues[n].URL)
	}
	StopAll(subs...)
	for i, rec := range recs {
		assert.Len(t, rec.All(), events, "queue %d handled each event once", i)
	}
}

// A queue subscribed with a filter policy on ce_type gets only that type,
// while an unfiltered queue of the same topic gets everything. The last
// event published matches the filter: once both matching events were
// handled and the filtered queue is drained, anything the filter let
// through would have reached the queue's fallback handler.
func libraryFilterPolicy(t *testing.T, e *Env) {
	ctx := e.Context(t)
	allName, createdName := e.Name("lib-all"), e.Name("lib-created")
	topo := e.Provision(t, provision.TopologySpec{
		TopicName: e.Name("lib-filter"),
		Queues: []provision.QueueSpec{
			{Name: allName},
			{Name: createdName, FilterPolicy: `{"` + snssqs.EventTypeAttribute + `":["` + typeCardCreated + `"]}`},
		},
	})
	all, created := NewRecorder(), NewRecorder()
	e.StartSubscriber(t, func(s *snssqs.Subscriber) {
		_, err := s.HandleFallback(topo.Queues[allName].URL, func(_ context.Context, m *snssqs.Message) error {
			all.Record("all", m, nil)
			return nil
		})
		require.NoError(t, err)
		// The filtered queue has a handler for the wanted type and a
		// fallback catching anything else the filter let through.
		_, err = s.HandleFallback(topo.Queues[createdName].URL, func(_ context.Context, m *snssqs.Message) error {
			created.Record("leaked", m, nil)
			return nil
		})
		require.NoError(t, err)
		_, err = snssqs.HandleFunc(s, topo.Queues[createdName].URL, typeCardCreated, func(_ context.Context, ev cardCreated, m *snssqs.Message) error {
			created.Record(typeCardCreated, m, ev)
			return nil
		})
		require.NoError(t, err)
	})

	pub := e.NewLibraryPublisher(t)
	kinds := []string{typeCardDeleted, typeCardCreated, typeCardDeleted, typeCardDeleted, typeCardCreated}
	for i, typ := range kinds {
		var ev any = cardDeleted{CardID: fmt.Sprintf("x%d", i)}
		if typ == typeCardCreated {
			ev = cardCreated{CardID: fmt.Sprintf("x%d", i)}
		}
		_, err := pub.Publish(ctx, topo.TopicARN, typ, ev)
		require.NoError(t, err)
	}
	created.Await(ctx, t, "both matching events reach the filtered queue", func(hs []Handled) bool {
		n := 0
		for _, h := range hs {
			if h.Handler == typeCardCreated {
				n++
			}
		}
		return n >= 2
	})
	all.AwaitN(ctx, t, "the unfiltered queue gets every event", len(kinds))
	e.QueueDrained(t, topo.Queues[createdName].URL)
	for _, h := range created.All() {
		assert.Equal(t, typeCardCreated, h.Handler, "filtered queue got only %s, not %s", typeCardCreated, h.Msg.Type)
	}
	assert.Len(t, created.All(), 2, "filtered queue got each %s event once", typeCardCreated)
	e.QueueDrained(t, topo.Queues[allName].URL)
	assert.Len(t, all.All(), len(kinds), "unfiltered queue got every event once")
}
