package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/snssqs/snssqs/examples/internal/exampletest"
)

// span is the part of stdouttrace's JSON the test reads.
type span struct {
	Name        string
	SpanContext struct{ TraceID, SpanID string }
	Parent      struct {
		SpanID string
		Remote bool
	}
}

// metrics is the part of stdoutmetric's JSON the test reads.
type metrics struct {
	ScopeMetrics []struct {
		Metrics []struct {
			Name string
			Data struct {
				DataPoints []struct {
					Value json.Number
					Count json.Number
				}
			}
		}
	}
}

// TestRun runs the example against the embedded emulator and reads what it
// printed: one trace from Publish to the handler, and the metric values.
func TestRun(t *testing.T) {
	var out bytes.Buffer
	entries := exampletest.Run(t, runTo(&out), 10*time.Second, "-timeout=20s")
	exampletest.AssertNoWarnings(t, entries)

	spans := make(map[string]span)
	var ms metrics
	dec := json.NewDecoder(&out)
	for {
		var raw json.RawMessage
		if err := dec.Decode(&raw); errors.Is(err, io.EOF) {
			break
		} else {
			require.NoError(t, err)
		}
		var probe struct {
			Name         string
			ScopeMetrics json.RawMessage
		}
		require.NoError(t, json.Unmarshal(raw, &probe))
		if probe.ScopeMetrics != nil {
			require.NoError(t, json.Unmarshal(raw, &ms))
			continue
		}
		var s span
		require.NoError(t, json.Unmarshal(raw, &s))
		spans[s.Name] = s
	}
	create, send, process := spans["create topic_card_created"], spans["send topic_card_created"], spans["process queue_card_created"]
	require.NotEmpty(t, create.SpanContext.TraceID, "spans printed: %v", spans)
	assert.Equal(t, create.SpanContext.TraceID, send.SpanContext.TraceID)
	assert.Equal(t, create.SpanContext.TraceID, process.SpanContext.TraceID, "one trace from Publish to the handler")
	assert.Equal(t, create.SpanContext.SpanID, send.Parent.SpanID)
	assert.Equal(t, create.SpanContext.SpanID, process.Parent.SpanID)
	assert.True(t, process.Parent.Remote, "the process span's parent came through the message")

	// The value of each metric of one series (one topic or one queue, no
	// error); the others have a series per operation.
	checked := map[string]bool{"messaging.client.sent.messages": true, "messaging.client.consumed.messages": true,
		"messaging.process.duration": true, "snssqs.messages.in_flight": true}
	values := make(map[string]string)
	for _, sm := range ms.ScopeMetrics {
		for _, m := range sm.Metrics {
			if !checked[m.Name] {
				continue
			}
			require.Len(t, m.Data.DataPoints, 1, "%s: one topic, one queue, no error", m.Name)
			dp := m.Data.DataPoints[0]
			values[m.Name] = dp.Value.String() + dp.Count.String()
		}
	}
	assert.Equal(t, "1", values["messaging.client.sent.messages"])
	assert.Equal(t, "1", values["messaging.client.consumed.messages"])
	assert.Equal(t, "1", values["messaging.process.duration"], "one handler run (a histogram's count)")
	assert.Equal(t, "0", values["snssqs.messages.in_flight"])
}

// TestRunFlags checks -timeout, -h and unknown flags.
func TestRunFlags(t *testing.T) { exampletest.CheckFlags(t, runTo(io.Discard)) }
