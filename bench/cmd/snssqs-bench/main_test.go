package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/snssqs/snssqs"
	"github.com/snssqs/snssqs/snssqstest"
)

var summaryRE = regexp.MustCompile(`^summary: vs_gocloud=(\S+) vs_batched=(\S+) requests_per_msg=(\S+) cpu_vs_batched=(\S+) slow_handler_efficiency=(\S+) scaling_100k_vs_1k=(\S+)` +
	` vs_batched_ce=(\S+) cpu_vs_batched_ce=(\S+) rtt_vs_batched=(\S+) rtt_vs_gocloud=(\S+) rtt_p50_vs_batched=(\S+) rtt50_vs_batched=(\S+) sqs_requests_per_msg=(\S+)` +
	` otel_cpu_vs_snssqs=(\S+) otel_vs_snssqs=(\S+)$`)

// TestQuickRunEndToEnd runs the whole program in -quick mode against an
// in-process emulator and checks that every contender delivered every
// event, the report names them all and the summary line comes last.
func TestQuickRunEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the quick benchmark (~30 s)")
	}
	srv := snssqstest.Run(t)
	out := filepath.Join(t.TempDir(), "RESULTS.md")
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	err := run(ctx, []string{"-quick", "-endpoint", srv.URL(), "-out", out}, &stdout, &stderr)
	require.NoError(t, err, "stderr:\n%s", stderr.String())

	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	last := lines[len(lines)-1]
	m := summaryRE.FindStringSubmatch(last)
	require.NotNil(t, m, "last line %q", last)
	for i, name := range []string{"vs_gocloud", "vs_batched", "requests_per_msg", "cpu_vs_batched", "slow_handler_efficiency", "scaling",
		"vs_batched_ce", "cpu_vs_batched_ce", "rtt_vs_batched", "rtt_vs_gocloud", "rtt_p50_vs_batched", "rtt50_vs_batched", "sqs_requests_per_msg",
		"otel_cpu_vs_snssqs", "otel_vs_snssqs"} {
		v, err := strconv.ParseFloat(m[i+1], 64)
		require.NoError(t, err, name)
		assert.Greater(t, v, 0.0, name)
	}

	report, err := os.ReadFile(out)
	require.NoError(t, err)
	for _, want := range []string{"## Machine", "## Throughput: 500 events", "## Latency at 100 msg/s", "## Slow handler", "## Scaling (snssqs)", "## Targets", last,
		"## Round trips: 300 events, every request delayed 10ms-20ms (in-region AWS)", "## Round trips: 300 events, every request delayed 50ms (cross-region AWS)",
		"round-trip runs skipped for naive"} {
		assert.Contains(t, string(report), want)
	}
	for _, c := range allContenders() {
		assert.Regexp(t, `(?m)^\| `+c.name()+` \| \d+ \| `, string(report), "throughput row of %s", c.name())
	}
	assert.NotContains(t, string(report), "## Failed runs")
	assert.Contains(t, string(report), "The library apart from its message format: batched-ce")

	// Requests per event by operation, as the emulator counted them: the
	// naive contender makes one Publish, DeleteMessage and (at least one)
	// ReceiveMessage per event; the batched ceiling publishes 10 per request.
	assert.Regexp(t, `(?m)^- naive: sns:Publish 1\.000, sqs:DeleteMessage 1\.000, sqs:ReceiveMessage 1\.\d+$`, string(report))
	assert.Regexp(t, `(?m)^- batched: sns:PublishBatch 0\.100, sqs:DeleteMessageBatch 0\.\d+, sqs:ReceiveMessage 0\.\d+$`, string(report))
	assert.Regexp(t, `(?m)^- snssqs: .*sns:PublishBatch`, string(report))
	// Straight to the queue: no SNS request at all.
	assert.Regexp(t, `(?m)^- snssqs-sqs: sqs:DeleteMessageBatch 0\.\d+, sqs:ReceiveMessage 0\.\d+, (sqs:SendMessage 0\.\d+, )?sqs:SendMessageBatch 0\.\d+$`, string(report))
}

func TestSinkCountsFirstDeliveriesAndDuplicates(t *testing.T) {
	s := newSink(2, 0)
	ctx := context.Background()
	sent := time.Now().Add(-time.Second).UnixNano()
	require.NoError(t, s.handle(ctx, benchEvent{Seq: 0, SentUnixNano: sent}, 1))
	require.NoError(t, s.handle(ctx, benchEvent{Seq: 0, SentUnixNano: sent}, 2))
	require.NoError(t, s.handle(ctx, benchEvent{Seq: 7, SentUnixNano: sent}, 1))
	select {
	case <-s.done:
		t.Fatal("done before every event was handled")
	default:
	}
	require.NoError(t, s.handle(ctx, benchEvent{Seq: 1, SentUnixNano: sent}, 3))
	<-s.done
	assert.EqualValues(t, 1, s.dups.Load())
	assert.EqualValues(t, 1, s.unknown.Load())
	assert.EqualValues(t, 1, s.redeliv.Load())
	assert.Positive(t, s.cleanAt.Load())
	assert.LessOrEqual(t, s.cleanAt.Load(), s.doneAt.Load(), "the redelivered event finished last and is not a clean one")
	lat := s.latencies()
	require.Len(t, lat, 2)
	for _, d := range lat {
		assert.GreaterOrEqual(t, d, time.Second)
	}
}

func TestSinkDelayEndsWithContext(t *testing.T) {
	s := newSink(1, time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := s.handle(ctx, benchEvent{Seq: 0}, 1)
	require.ErrorIs(t, err, context.Canceled)
	assert.False(t, s.seen[0].Load(), "an unfinished handling must allow the redelivery to count")
	assert.EqualValues(t, 0, s.handled.Load())
}

func TestPercentileAndMedian(t *testing.T) {
	ds := []time.Duration{5, 1, 4, 2, 3, 6, 7, 8, 9, 10}
	assert.Equal(t, time.Duration(5), percentile(ds, 0.5))
	assert.Equal(t, time.Duration(10), percentile(ds, 0.99))
	assert.Equal(t, time.Duration(1), percentile(ds, 0))
	assert.Equal(t, time.Duration(0), percentile(nil, 0.5))
	assert.Equal(t, []time.Duration{5, 1, 4, 2, 3, 6, 7, 8, 9, 10}, ds, "input not reordered")

	assert.Equal(t, 2.0, medianFloat([]float64{3, 1, 2}))
	assert.Equal(t, 2.5, medianFloat([]float64{4, 1, 2, 3}))
	assert.True(t, isNaN(medianFloat(nil)))
}

func isNaN(f float64) bool { return f != f }

func TestMedianResultTakesEachFigureSeparately(t *testing.T) {
	rs := []runResult{
		{throughput: 100, reqPerMsg: 0.3, clientCPU: 30, p50: 9, requests: map[string]int64{"a": 3}, dups: 1},
		{throughput: 300, reqPerMsg: 0.1, clientCPU: 10, p50: 1, requests: map[string]int64{"a": 1}},
		{throughput: 200, reqPerMsg: 0.2, clientCPU: 20, p50: 5, requests: map[string]int64{"a": 2}, leftover: 2},
	}
	m := medianResult(rs)
	assert.Equal(t, 200.0, m.throughput)
	assert.Equal(t, 0.2, m.reqPerMsg)
	assert.Equal(t, time.Duration(20), m.clientCPU)
	assert.Equal(t, time.Duration(5), m.p50)
	assert.Equal(t, map[string]int64{"a": 2}, m.requests)
	assert.EqualValues(t, 1, m.dups, "duplicates are summed, not medianed")
	assert.Equal(t, 2, m.leftover)
}

func TestParseProcStatCPU(t *testing.T) {
	// Fields 14 and 15 (utime, stime) are 250 and 50 ticks; the command
	// name contains a space and a parenthesis.
	stat := "4242 (emu (x) y) S 1 4242 4242 0 -1 4194560 1234 0 0 0 250 50 0 0 20 0 9 0 12345 0 0"
	d, err := parseProcStatCPU(stat)
	require.NoError(t, err)
	assert.Equal(t, 3*time.Second, d)

	_, err = parseProcStatCPU("garbage")
	assert.Error(t, err)
	_, err = parseProcStatCPU("1 (x) S 1 2")
	assert.Error(t, err)
}

func TestCPUModel(t *testing.T) {
	info := "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) Processor\nflags\t: fpu\n"
	assert.Equal(t, "Intel(R) Xeon(R) Processor", cpuModel([]byte(info)))
	assert.Empty(t, cpuModel([]byte("processor: 0\n")))
}

func TestDecodeNotification(t *testing.T) {
	body := `{"Type":"Notification","MessageId":"m1","TopicArn":"arn:aws:sns:us-east-1:000000000000:t","Message":"{\"seq\":42,\"sent_unix_nano\":7,\"note\":\"x\"}"}`
	ev, err := decodeNotification(body)
	require.NoError(t, err)
	assert.Equal(t, benchEvent{Seq: 42, SentUnixNano: 7, Note: "x"}, ev)

	_, err = decodeNotification(`{"seq":42}`)
	assert.Error(t, err, "a raw body is not a notification")
	_, err = decodeNotification(`{"Type":"Notification","Message":"not json"}`)
	assert.Error(t, err)
}

func TestEnvelopeRoundTripAndLibraryDecoding(t *testing.T) {
	ev := benchEvent{Seq: 42, SentUnixNano: 7, Note: "x"}
	body, err := encodeEnvelope(ev)
	require.NoError(t, err)

	// The same bytes snssqs would send: the library decodes them as its own.
	var e snssqs.Envelope
	require.NoError(t, e.UnmarshalJSON([]byte(*body)))
	assert.Equal(t, eventType, e.Type)
	assert.Equal(t, benchSource, e.Source)
	assert.Equal(t, snssqs.ContentTypeJSON, e.DataContentType)
	assert.NotEmpty(t, e.ID)

	msg, err := json.Marshal(*body)
	require.NoError(t, err)
	got, err := decodeEnvelopeNotification(`{"Type":"Notification","Message":` + string(msg) + `}`)
	require.NoError(t, err)
	assert.Equal(t, ev, got)
	_, err = decodeEnvelopeNotification(`{"Type":"Notification","Message":"{\"seq\":1}"}`)
	assert.Error(t, err, "a bare event is not an envelope")
}

func TestParseFlagsQuickDefaultsAndOverrides(t *testing.T) {
	cfg, err := parseFlags([]string{"-quick"}, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, quickN, cfg.n)
	assert.Equal(t, quickReps, cfg.reps)
	assert.Equal(t, quickScaling, cfg.scaling)
	assert.Equal(t, quickRTTN, cfg.rttN)
	assert.Equal(t, "10ms-20ms", cfg.rtt)
	assert.Equal(t, "50ms", cfg.rtt50)
	assert.True(t, cfg.runs[kindThroughput] && cfg.runs[kindPaced] && cfg.runs[kindSlow] && cfg.runs[kindScaling])

	cfg, err = parseFlags([]string{"-quick", "-n", "77", "-runs", "paced", "-scaling", "5,6"}, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, 77, cfg.n, "an explicit flag wins over -quick")
	assert.Equal(t, []int{5, 6}, cfg.scaling)
	assert.Equal(t, map[string]bool{kindPaced: true}, cfg.runs)

	cfg, err = parseFlags(nil, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, 10000, cfg.n)
	assert.Equal(t, 3, cfg.reps)
	assert.Equal(t, []int{1000, 10000, 100000}, cfg.scaling)

	for _, bad := range [][]string{{"-runs", "bogus"}, {"-scaling", "x"}, {"-n", "0"}, {"extra"}, {"-rtt-n", "0"}, {"-rtt", "0s"}, {"-rtt50", "20ms-10ms"}} {
		_, err := parseFlags(bad, io.Discard)
		assert.Error(t, err, "%v", bad)
	}
	_, err = selectContenders("snssqs,nope")
	assert.Error(t, err)
	cs, err := selectContenders("batched, naive")
	require.NoError(t, err)
	require.Len(t, cs, 2)
	assert.Equal(t, "batched", cs[0].name())
}

func TestSummaryLineFormat(t *testing.T) {
	r := &benchResults{
		throughput: map[string]runResult{
			"snssqs":  {throughput: 300, reqPerMsg: 0.25, clientCPU: 12 * time.Microsecond},
			"gocloud": {throughput: 100},
			"batched": {throughput: 400, clientCPU: 10 * time.Microsecond},
		},
		slow:      map[string]runResult{"snssqs": {elapsed: 1250 * time.Millisecond}},
		slowIdeal: time.Second,
		scaling:   []scalingPoint{{n: 1000, res: runResult{throughput: 100}}, {n: 100000, res: runResult{throughput: 90}}},
	}
	const noRatios = " vs_batched_ce=NaN cpu_vs_batched_ce=NaN rtt_vs_batched=NaN rtt_vs_gocloud=NaN rtt_p50_vs_batched=NaN rtt50_vs_batched=NaN sqs_requests_per_msg=NaN otel_cpu_vs_snssqs=NaN otel_vs_snssqs=NaN"
	assert.Equal(t, "summary: vs_gocloud=3.00 vs_batched=0.75 requests_per_msg=0.250 cpu_vs_batched=1.20 slow_handler_efficiency=0.80 scaling_100k_vs_1k=0.90"+noRatios, summaryLine(r))

	r.throughput["snssqs"] = runResult{throughput: 30, cleanThroughput: 300, reqPerMsg: 0.25, clientCPU: 12 * time.Microsecond}
	r.throughput["gocloud"] = runResult{throughput: 100, cleanThroughput: 100}
	r.throughput["batched"] = runResult{throughput: 400, cleanThroughput: 400, clientCPU: 10 * time.Microsecond}
	r.slow["snssqs"] = runResult{elapsed: 30 * time.Second, cleanElapsed: time.Second}
	assert.Equal(t, "summary: vs_gocloud=0.30 vs_batched=0.07 requests_per_msg=0.250 cpu_vs_batched=1.20 slow_handler_efficiency=0.03 scaling_100k_vs_1k=0.90"+noRatios, summaryLine(r))
	assert.Equal(t, "without stalls: vs_gocloud=3.00 vs_batched=0.75 requests_per_msg=0.250 cpu_vs_batched=1.20 slow_handler_efficiency=1.00 scaling_100k_vs_1k=NaN"+noRatios, formatSummary("without stalls", r.summary(true)))

	empty := &benchResults{}
	assert.Equal(t, "summary: vs_gocloud=NaN vs_batched=NaN requests_per_msg=NaN cpu_vs_batched=NaN slow_handler_efficiency=NaN scaling_100k_vs_1k=NaN"+noRatios, summaryLine(empty))
}

// The ratios against batched-ce and of the round-trip runs are medians of
// the ratios within each repetition, not ratios of the medians.
func TestSummaryRatiosWithinRepetitions(t *testing.T) {
	r := &benchResults{}
	at := func(thr float64, cpu, p50 time.Duration) runResult {
		return runResult{throughput: thr, clientCPU: cpu, p50: p50}
	}
	// The machine drifts: every contender is twice as fast in rep 2 and
	// three times as fast in rep 3. Within each rep snssqs is 0.9× batched-ce.
	for rep, speed := range map[int]float64{1: 1, 2: 2, 3: 3} {
		r.keepRep(kindThroughput, "snssqs", rep, at(900*speed, 11*time.Microsecond, 0))
		r.keepRep(kindThroughput, "batched-ce", rep, at(1000*speed, 10*time.Microsecond, 0))
		r.keepRep(kindRTT, "snssqs", rep, at(2000*speed, 0, 400*time.Millisecond))
		r.keepRep(kindRTT, "batched", rep, at(1600*speed, 0, 500*time.Millisecond))
		r.keepRep(kindRTT, "gocloud", rep, at(1000*speed, 0, 300*time.Millisecond))
	}
	r.keepRep(kindRTT50, "snssqs", 1, at(500, 0, 0))
	r.keepRep(kindRTT50, "batched", 2, at(400, 0, 0)) // no common repetition
	s := r.summary(false)
	assert.InDelta(t, 0.9, s.vsBatchedCE, 1e-9)
	assert.InDelta(t, 1.1, s.cpuVsBatchedCE, 1e-9)
	assert.InDelta(t, 1.25, s.rttVsBatched, 1e-9)
	assert.InDelta(t, 2.0, s.rttVsGocloud, 1e-9)
	assert.InDelta(t, 0.8, s.rttP50VsBatched, 1e-9)
	assert.True(t, math.IsNaN(s.rtt50VsBatched), "no repetition ran both")
}

func TestDollarsPerMillion(t *testing.T) {
	// 0.1 SNS requests and 0.2 SQS requests per event: 0.1×$0.50 + 0.2×$0.40.
	res := runResult{n: 10, requests: map[string]int64{"sns:PublishBatch": 1, "sqs:ReceiveMessage": 1, "sqs:DeleteMessageBatch": 1}}
	assert.InDelta(t, 0.13, dollarsPerMillion(res), 1e-9)
}
