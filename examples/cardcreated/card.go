package main

import (
	"context"
	"fmt"

	"github.com/snssqs/snssqs"
)

// eventCardCreated is the CloudEvents type of the event Service 1 publishes
// and Service 2 subscribes to.
const eventCardCreated = "card.created"

// CardCreated is the article's event: some information about a new bank
// card. It travels as the data of a CloudEvents envelope.
type CardCreated struct {
	CardID string `json:"cardId"`
	UserID string `json:"userId"`
}

// CardService is the article's Service 1: something happened in it (a bank
// card was created) and it tells the other services through the topic.
type CardService struct {
	publisher *snssqs.Publisher
	topicARN  string
}

// NewCardService returns a CardService that publishes to topicARN.
func NewCardService(publisher *snssqs.Publisher, topicARN string) *CardService {
	return &CardService{publisher: publisher, topicARN: topicARN}
}

// OnCardCreated wraps the card in a "card.created" event (a CloudEvents
// envelope whose subject is the card id) and publishes it to the topic. It
// returns the SNS message id.
func (s *CardService) OnCardCreated(ctx context.Context, card CardCreated) (string, error) {
	id, err := s.publisher.Publish(ctx, s.topicARN, eventCardCreated, card, snssqs.WithSubject(card.CardID))
	if err != nil {
		return "", fmt.Errorf("publishing %s for card %s: %w", eventCardCreated, card.CardID, err)
	}
	return id, nil
}
