package snssqstest

import (
	"net/http"
)

// sqsService is the SQS half of the emulator.
type sqsService struct {
	s *Server
}

func newSQSService(s *Server) *sqsService { return &sqsService{s: s} }

func (q *sqsService) close() {}

func isSQSAction(action string) bool { return false }

func (q *sqsService) serveJSON(w http.ResponseWriter, r *http.Request, op string) {
	http.Error(w, "not implemented", http.StatusNotImplemented)
}

func (q *sqsService) serveQuery(w http.ResponseWriter, r *http.Request, action string) {
	http.Error(w, "not implemented", http.StatusNotImplemented)
}

func (q *sqsService) deliverFromSNS(queueARN string, m inboundMessage) error { return nil }
