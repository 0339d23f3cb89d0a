package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// adminClient talks to the emulator's own endpoints (snssqstest/admin.go):
// GET /_snssqstest/health, GET and DELETE /_snssqstest/requests, PUT
// /_snssqstest/latency.
type adminClient struct {
	base string
	http *http.Client
}

func newAdminClient(endpoint string) adminClient {
	return adminClient{base: strings.TrimRight(endpoint, "/") + "/_snssqstest/", http: &http.Client{Timeout: 10 * time.Second}}
}

func (a adminClient) do(ctx context.Context, method, path string) ([]byte, int, error) {
	return a.send(ctx, method, path, "")
}

func (a adminClient) send(ctx context.Context, method, path, body string) ([]byte, int, error) {
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, strings.NewReader(body))
	if err != nil {
		return nil, 0, fmt.Errorf("admin request: %w", err)
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("admin %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, resp.StatusCode, fmt.Errorf("admin %s %s: %w", method, path, err)
	}
	return b, resp.StatusCode, nil
}

// healthy reports whether the health endpoint answers 200.
func (a adminClient) healthy(ctx context.Context) bool {
	_, code, err := a.do(ctx, http.MethodGet, "health")
	return err == nil && code == http.StatusOK
}

// requests returns the emulator's request counts per "service:Operation".
func (a adminClient) requests(ctx context.Context) (map[string]int64, error) {
	b, code, err := a.do(ctx, http.MethodGet, "requests")
	if err != nil {
		return nil, err
	}
	if code != http.StatusOK {
		return nil, fmt.Errorf("admin GET requests: HTTP %d", code)
	}
	var m map[string]int64
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("admin GET requests: %w", err)
	}
	return m, nil
}

// reset sets the emulator's request counts to zero.
func (a adminClient) reset(ctx context.Context) error {
	_, code, err := a.do(ctx, http.MethodDelete, "requests")
	if err != nil {
		return err
	}
	if code/100 != 2 {
		return fmt.Errorf("admin DELETE requests: HTTP %d", code)
	}
	return nil
}

// setLatency makes the emulator delay every later request by latency ("" for
// none, "15ms", "10ms-20ms"), to model the round trips of a network.
func (a adminClient) setLatency(ctx context.Context, latency string) error {
	b, code, err := a.send(ctx, http.MethodPut, "latency", latency)
	if err != nil {
		return err
	}
	if code/100 != 2 {
		return fmt.Errorf("admin PUT latency %q: HTTP %d: %s", latency, code, strings.TrimSpace(string(b)))
	}
	return nil
}

// waitHealthy polls the health endpoint until it answers or the timeout
// passes.
func waitHealthy(ctx context.Context, a adminClient, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if a.healthy(ctx) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("emulator at %s not healthy within %s", a.base, timeout)
		case <-tick.C:
		}
	}
}
