package snssqstest

import (
	"encoding/json"
	"io"
	"net/http"
)

// adminPrefix is the path prefix of the emulator's own endpoints, which no
// AWS request uses:
//
//	GET    /_snssqstest/health    200 "ok" once the server answers
//	GET    /_snssqstest/requests  request counts per operation, as JSON
//	DELETE /_snssqstest/requests  reset the counts
//	GET    /_snssqstest/latency   the delay of every answer: "" (none), "15ms" or "10ms-20ms"
//	PUT    /_snssqstest/latency   set it, the body in the same form (SetLatency)
//	GET    /_snssqstest/sns/deliveries    documents sent to subscriptions that are not queues (EndpointDeliveries)
//	GET    /_snssqstest/sns/certificate.pem  the certificate that signs them (their SigningCertURL)
//
// A separate process (a benchmark, another language's tests) uses them the
// way Go code uses Requests and ResetRequests.
const adminPrefix = "/_snssqstest/"

func (s *Server) serveAdmin(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case adminPrefix + "health":
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("ok"))
	case adminPrefix + "requests":
		switch r.Method {
		case http.MethodGet:
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(s.Requests())
		case http.MethodDelete:
			s.ResetRequests()
			w.WriteHeader(http.StatusNoContent)
		default:
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		}
	case adminPrefix + "latency":
		s.serveLatency(w, r)
	case signingCertPath:
		_, cert := s.endpoints.signer()
		w.Header().Set("Content-Type", "application/x-pem-file")
		_, _ = w.Write(cert)
	case adminPrefix + "sns/deliveries":
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(s.EndpointDeliveries())
	default:
		http.NotFound(w, r)
	}
}

func (s *Server) serveLatency(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, formatLatency(s.Latency()))
	case http.MethodPut:
		body, err := io.ReadAll(io.LimitReader(r.Body, 256))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		min, max, err := ParseLatency(string(body))
		if err == nil {
			err = s.SetLatency(min, max)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}
