package main

import (
	"sync"

	"github.com/sirupsen/logrus"
)

// delivery classifies one message a service handled.
type delivery int

const (
	deliveryFirst     delivery = iota // first delivery of a card of this run
	deliveryDuplicate                 // the same card again
	deliveryStale                     // a card an earlier run published
)

// tally records which service got which card, and closes done once every
// service got every card of this run.
type tally struct {
	mu       sync.Mutex
	services []string // in report order
	want     map[string]bool
	got      map[string]map[string]int // service -> card id -> deliveries
	complete int                       // services that got every card
	done     chan struct{}
}

func newTally(services, cardIDs []string) *tally {
	t := &tally{services: services, want: make(map[string]bool, len(cardIDs)), got: make(map[string]map[string]int, len(services)), done: make(chan struct{})}
	for _, id := range cardIDs {
		t.want[id] = true
	}
	for _, svc := range services {
		t.got[svc] = make(map[string]int, len(cardIDs))
	}
	return t
}

// record notes that svc got the card cardID.
func (t *tally) record(svc, cardID string) delivery {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.want[cardID] {
		return deliveryStale
	}
	got := t.got[svc]
	got[cardID]++
	if got[cardID] > 1 {
		return deliveryDuplicate
	}
	if len(got) == len(t.want) {
		t.complete++
		if t.complete == len(t.got) {
			close(t.done)
		}
	}
	return deliveryFirst
}

// report logs, per service, how many of the cards it got.
func (t *tally) report(log logrus.FieldLogger) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, svc := range t.services {
		got := t.got[svc]
		deliveries := 0
		for _, n := range got {
			deliveries += n
		}
		log.WithFields(logrus.Fields{"service": svc, "cards": len(got), "of": len(t.want), "deliveries": deliveries}).
			Infof("%s got %d of %d cards", svc, len(got), len(t.want))
	}
}
