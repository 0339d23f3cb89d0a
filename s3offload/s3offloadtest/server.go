// Package s3offloadtest is an in-process stand-in for the three S3
// operations an s3offload.Store makes (PutObject, GetObject and
// DeleteObject, path style), so that tests and examples run the real
// aws-sdk-go-v2 S3 client with no S3 and no Docker.
package s3offloadtest

import (
	"io"
	"net"
	"net/http"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Server is a running stand-in. Buckets need not be created: any bucket
// name in a path is one.
type Server struct {
	ln  net.Listener
	srv *http.Server

	mu      sync.Mutex
	objects map[string][]byte // "bucket/key" -> body
	done    chan struct{}
}

// NewServer starts a stand-in on a free port of 127.0.0.1.
func NewServer() (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{ln: ln, objects: map[string][]byte{}, done: make(chan struct{})}
	s.srv = &http.Server{Handler: http.HandlerFunc(s.serve)}
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(ln)
	}()
	return s, nil
}

// URL is the stand-in's endpoint, for s3.Options.BaseEndpoint.
func (s *Server) URL() string { return "http://" + s.ln.Addr().String() }

// Client returns an S3 client for the stand-in: path style, static test
// credentials, and request checksums only where S3 requires them (so that
// bodies are sent as they are, not aws-chunked).
func (s *Server) Client() *s3.Client {
	return s3.New(s3.Options{
		Region:                     "us-east-1",
		BaseEndpoint:               aws.String(s.URL()),
		UsePathStyle:               true,
		Credentials:                credentials.NewStaticCredentialsProvider("test", "test", ""),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
	})
}

// Objects returns how many objects the stand-in holds.
func (s *Server) Objects() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.objects)
}

// Keys returns the keys of bucket's objects.
func (s *Server) Keys(bucket string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var keys []string
	for k := range s.objects {
		if b, key, _ := strings.Cut(k, "/"); b == bucket {
			keys = append(keys, key)
		}
	}
	return keys
}

// Close stops the stand-in. It is safe to call twice.
func (s *Server) Close() {
	_ = s.srv.Close()
	<-s.done
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, "/")
	if !strings.Contains(path, "/") {
		http.Error(w, "bucket operations are not part of the stand-in", http.StatusNotImplemented)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch r.Method {
	case http.MethodPut:
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.objects[path] = b
		w.Header().Set("ETag", `"stand-in"`)
	case http.MethodGet:
		b, ok := s.objects[path]
		if !ok {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>`)
			return
		}
		_, _ = w.Write(b)
	case http.MethodDelete:
		delete(s.objects, path)
		w.WriteHeader(http.StatusNoContent)
	default:
		http.Error(w, "method not part of the stand-in", http.StatusMethodNotAllowed)
	}
}
