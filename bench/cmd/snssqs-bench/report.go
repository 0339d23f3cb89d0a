package main

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// AWS list prices in us-east-1 (standard topics and queues), per million
// requests. SNS bills each 64 KiB chunk of a publish request as one request,
// SQS each 64 KiB chunk of a request's payload; the benchmark's requests are
// all below 64 KiB, so one request is one billed request.
const (
	snsDollarsPerMillion = 0.50
	sqsDollarsPerMillion = 0.40
)

// targets are the figures the library must reach, checked in the report.
type target struct {
	name     string
	measured float64
	ok       func(float64) bool
	want     string
	format   string
}

// summary computes the summary figures; with clean set, from the
// throughputs and elapsed times that leave out redelivery stalls.
func (r *benchResults) summary(clean bool) summaryFigures {
	thr := func(res runResult) float64 {
		if clean {
			return res.cleanThroughput
		}
		return res.throughput
	}
	cpu := func(res runResult) float64 { return float64(res.clientCPU) }
	p50 := func(res runResult) float64 { return float64(res.p50) }
	lib, gc, bat := r.throughput["snssqs"], r.throughput["gocloud"], r.throughput["batched"]
	s := summaryFigures{
		vsGocloud:       ratio(thr(lib), thr(gc)),
		vsBatched:       ratio(thr(lib), thr(bat)),
		requests:        math.NaN(),
		cpuVsBatched:    ratio(float64(lib.clientCPU), float64(bat.clientCPU)),
		slowEff:         math.NaN(),
		scaling:         math.NaN(),
		p50VsNaive:      math.NaN(),
		vsBatchedCE:     r.repRatio(kindThroughput, "snssqs", "batched-ce", thr),
		cpuVsBatchedCE:  r.repRatio(kindThroughput, "snssqs", "batched-ce", cpu),
		rttVsBatched:    r.repRatio(kindRTT, "snssqs", "batched", thr),
		rttVsGocloud:    r.repRatio(kindRTT, "snssqs", "gocloud", thr),
		rttP50VsBatched: r.repRatio(kindRTT, "snssqs", "batched", p50),
		rtt50VsBatched:  r.repRatio(kindRTT50, "snssqs", "batched", thr),
		otelCPUVsLib:    r.repRatio(kindThroughput, "snssqs-otel", "snssqs", cpu),
		otelVsLib:       r.repRatio(kindThroughput, "snssqs-otel", "snssqs", thr),
	}
	if _, ok := r.throughput["snssqs"]; ok {
		s.requests = lib.reqPerMsg
	}
	s.sqsRequests = math.NaN()
	if q, ok := r.throughput["snssqs-sqs"]; ok {
		s.sqsRequests = q.reqPerMsg
	}
	if sl, ok := r.slow["snssqs"]; ok && sl.elapsed > 0 {
		el := sl.elapsed
		if clean {
			el = sl.cleanElapsed
		}
		s.slowEff = r.slowIdeal.Seconds() / el.Seconds()
	}
	if len(r.scaling) >= 2 {
		s.scaling = ratio(thr(r.scaling[len(r.scaling)-1].res), thr(r.scaling[0].res))
	}
	pl, okl := r.paced["snssqs"]
	pn, okn := r.paced["naive"]
	if okl && okn {
		s.p50VsNaive = ratio(float64(pl.p50), float64(pn.p50))
	}
	return s
}

// repRatio is the median over repetitions of f(a)/f(b) within each
// repetition of a run kind: the runs of one repetition follow each other, so
// their ratio is less exposed to the machine's drift than a ratio of
// medians. NaN when no repetition has both.
func (r *benchResults) repRatio(kind, a, b string, f func(runResult) float64) float64 {
	var xs []float64
	for rep, ra := range r.reps[kind][a] {
		if rb, ok := r.reps[kind][b][rep]; ok {
			xs = append(xs, ratio(f(ra), f(rb)))
		}
	}
	return medianFloat(xs)
}

type summaryFigures struct {
	vsGocloud, vsBatched, requests, cpuVsBatched, slowEff, scaling, p50VsNaive float64
	vsBatchedCE, cpuVsBatchedCE                                                float64
	rttVsBatched, rttVsGocloud, rttP50VsBatched, rtt50VsBatched                float64
	sqsRequests                                                                float64 // snssqs-sqs requests per message
	otelCPUVsLib, otelVsLib                                                    float64 // snssqs-otel against snssqs
}

// summaryLine is the last line the command prints.
func summaryLine(r *benchResults) string {
	return formatSummary("summary", r.summary(false))
}

func formatSummary(label string, s summaryFigures) string {
	return fmt.Sprintf(label+": vs_gocloud=%s vs_batched=%s requests_per_msg=%s cpu_vs_batched=%s slow_handler_efficiency=%s scaling_100k_vs_1k=%s"+
		" vs_batched_ce=%s cpu_vs_batched_ce=%s rtt_vs_batched=%s rtt_vs_gocloud=%s rtt_p50_vs_batched=%s rtt50_vs_batched=%s sqs_requests_per_msg=%s"+
		" otel_cpu_vs_snssqs=%s otel_vs_snssqs=%s",
		num(s.vsGocloud, 2), num(s.vsBatched, 2), num(s.requests, 3), num(s.cpuVsBatched, 2), num(s.slowEff, 2), num(s.scaling, 2),
		num(s.vsBatchedCE, 2), num(s.cpuVsBatchedCE, 2), num(s.rttVsBatched, 2), num(s.rttVsGocloud, 2), num(s.rttP50VsBatched, 2), num(s.rtt50VsBatched, 2), num(s.sqsRequests, 3),
		num(s.otelCPUVsLib, 2), num(s.otelVsLib, 2))
}

func num(v float64, prec int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "NaN"
	}
	return fmt.Sprintf("%.*f", prec, v)
}

func dur(d time.Duration) string {
	switch {
	case d <= 0:
		return "–"
	case d < time.Millisecond:
		return fmt.Sprintf("%.0fµs", micros(d))
	case d < 10*time.Second:
		return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
	default:
		return d.Round(100 * time.Millisecond).String()
	}
}

func util(u float64) string {
	if u < 0 || math.IsNaN(u) {
		return "n/a"
	}
	return fmt.Sprintf("%.2f", u)
}

// breakdown lists a run's requests per operation, per message.
func breakdown(res runResult) string {
	var parts []string
	for _, k := range sortedKeys(res.requests) {
		parts = append(parts, fmt.Sprintf("%s %.3f", k, float64(res.requests[k])/float64(res.n)))
	}
	return strings.Join(parts, ", ")
}

// dollarsPerMillion is the request bill of one million events: SNS publish
// requests at the SNS rate, SQS requests at the SQS rate.
func dollarsPerMillion(res runResult) float64 {
	var snsReq, sqsReq int64
	for k, v := range res.requests {
		switch {
		case strings.HasPrefix(k, "sns:"):
			snsReq += v
		case strings.HasPrefix(k, "sqs:"):
			sqsReq += v
		}
	}
	n := float64(res.n)
	return float64(snsReq)/n*snsDollarsPerMillion + float64(sqsReq)/n*sqsDollarsPerMillion
}

// renderReport writes the markdown report.
func renderReport(r *benchResults) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	cfg := r.cfg
	m := r.machine
	p("# snssqs benchmark results\n\n")
	p("Generated by `go run ./cmd/snssqs-bench %s` (bench module), %s, in %s.\n\n",
		strings.Join(r.args, " "), r.started.UTC().Format(time.RFC3339), r.finished.Sub(r.started).Round(time.Second))
	p("## Machine\n\n")
	p("- `%s`\n- CPU: %s, %d logical cores (GOMAXPROCS %d)\n- %s\n", m.uname, m.cpuModel, m.cores, m.gomaxprocs, m.goVersion)
	p("- Endpoint: %s\n", r.endpoint)
	p("- Client and emulator share the machine's cores; client CPU is `getrusage(RUSAGE_SELF)` of the benchmark process, emulator CPU is utime+stime from `/proc/PID/stat`.\n\n")
	p("## Workload\n\n")
	p("Each run provisions a fresh topic and queue (SNS→SQS subscription, raw delivery off: every contender receives SNS notification JSON), "+
		"starts the contender's consumer, publishes the events (~200-byte JSON each, carrying the publish time), handles each (recording the publish-to-handler latency) "+
		"and deletes it; a run ends when every event was handled once and the consumer has stopped and flushed its deletes. "+
		"Figures are the median of %d repetition(s), contenders interleaved (each repetition starts with the next contender). Events in flight while publishing: %d.\n\n", cfg.reps, cfg.publishers)
	p("| contender | what it is |\n|---|---|\n")
	for _, c := range r.contenders {
		p("| %s | %s |\n", c.name(), c.description())
	}
	p("\n")

	if len(r.throughput) > 0 {
		p("## Throughput: %d events\n\n", cfg.n)
		p("| contender | msgs/s | requests/msg | client CPU µs/msg | emulator CPU µs/msg | client cores busy | emulator cores busy | allocs/msg | p50 | p99 | max | redelivered | $ per M events |\n")
		p("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
		for _, c := range r.contenders {
			res, ok := r.throughput[c.name()]
			if !ok {
				p("| %s | failed | | | | | | | | | | | |\n", c.name())
				continue
			}
			p("| %s | %.0f | %.3f | %.1f | %s | %s | %s | %.0f | %s | %s | %s | %d | %.2f |\n",
				c.name(), res.throughput, res.reqPerMsg, micros(res.clientCPU), emuCell(res.emulatorCPU),
				util(res.clientUtil), util(res.emuUtil), res.allocs, dur(res.p50), dur(res.p99), dur(res.max), res.redelivered, dollarsPerMillion(res))
		}
		p("\n`redelivered` counts events (over all repetitions) whose first handled delivery had an SQS ApproximateReceiveCount above 1: an earlier receive of them never reached the handler, so they waited out the visibility timeout. `$ per M events` is the request bill of one million events at $%.2f per million SNS publish requests and $%.2f per million SQS requests.\n", snsDollarsPerMillion, sqsDollarsPerMillion)
		p("\nRequests per message by operation (counted by the %s):\n\n", countSource(r.throughput))
		for _, c := range r.contenders {
			if res, ok := r.throughput[c.name()]; ok {
				p("- %s: %s\n", c.name(), breakdown(res))
			}
		}
		if bat, ok := r.throughput["batched"]; ok && bat.emulatorCPU >= 0 {
			p("\nEmulator vs client in the batched run: the emulator used %.1f µs of CPU per message (%s cores busy), the client %.1f µs (%s cores busy). ",
				micros(bat.emulatorCPU), util(bat.emuUtil), micros(bat.clientCPU), util(bat.clientUtil))
			total := bat.emuUtil + bat.clientUtil
			if total > 0.8*float64(m.cores) {
				p("Together they keep %.2f of %d cores busy: the machine, not the emulator alone, is the limit, and every contender shares it the same way.\n", total, m.cores)
			} else {
				p("Together they keep %.2f of %d cores busy, so neither is CPU-saturated.\n", total, m.cores)
			}
		}
		for _, pair := range [][2]string{{"snssqs", "batched"}, {"batched-ce", "batched"}, {"snssqs", "batched-ce"}} {
			if line := repRatios(r, kindThroughput, pair[0], pair[1]); line != "" {
				p("%s\n", line)
			}
		}
		bat, okBat := r.throughput["batched"]
		ce, okCE := r.throughput["batched-ce"]
		lib, okLib := r.throughput["snssqs"]
		if okBat && okCE && okLib {
			p("\nThe library apart from its message format: batched-ce is the batched ceiling sending the CloudEvents envelope snssqs sends. "+
				"The envelope alone takes the ceiling to %.2f× its throughput and %.2f× its client CPU per message; "+
				"snssqs runs at %.2f× batched-ce's throughput with %.2f× its client CPU per message (medians of the repetitions; the targets use the ratios within repetitions).\n",
				ratio(ce.throughput, bat.throughput), ratio(float64(ce.clientCPU), float64(bat.clientCPU)),
				ratio(lib.throughput, ce.throughput), ratio(float64(lib.clientCPU), float64(ce.clientCPU)))
		}
		p("\n")
	}

	for _, rt := range []struct {
		kind, latency, what string
		res                 map[string]runResult
	}{{kindRTT, cfg.rtt, "in-region AWS", r.rtt}, {kindRTT50, cfg.rtt50, "cross-region AWS", r.rtt50}} {
		if len(rt.res) == 0 {
			continue
		}
		p("## Round trips: %d events, every request delayed %s (%s)\n\n", cfg.rttN, rt.latency, rt.what)
		p("The throughput run again, with the emulator answering every SNS and SQS request after a delay drawn uniformly in %s: on this loopback the client's CPU is the limit, on AWS the round trips are.\n\n", rt.latency)
		p("| contender | msgs/s | p50 | p99 | requests/msg | client CPU µs/msg | redelivered |\n|---|---:|---:|---:|---:|---:|---:|\n")
		for _, c := range r.contenders {
			if res, ok := rt.res[c.name()]; ok {
				p("| %s | %.0f | %s | %s | %.3f | %.1f | %d |\n", c.name(), res.throughput, dur(res.p50), dur(res.p99), res.reqPerMsg, micros(res.clientCPU), res.redelivered)
			}
		}
		for _, pair := range [][2]string{{"snssqs", "batched"}, {"snssqs", "gocloud"}, {"snssqs", "batched-ce"}} {
			if line := repRatios(r, rt.kind, pair[0], pair[1]); line != "" {
				p("%s\n", line)
			}
		}
		p("\n")
	}

	if len(r.paced) > 0 {
		p("## Latency at %.0f msg/s (paced, %s)\n\n", cfg.rate, cfg.pacedDuration)
		p("| contender | p50 | p99 | requests/msg | client CPU µs/msg |\n|---|---:|---:|---:|---:|\n")
		for _, c := range r.contenders {
			if res, ok := r.paced[c.name()]; ok {
				p("| %s | %s | %s | %.3f | %.1f |\n", c.name(), dur(res.p50), dur(res.p99), res.reqPerMsg, micros(res.clientCPU))
			}
		}
		p("\n")
	}

	if len(r.slow) > 0 || len(r.skipped) > 0 {
		p("## Slow handler: %d events, handler %s, concurrency %d (ideal %s)\n\n", cfg.slowN, cfg.slowDelay, cfg.slowConcurrency, dur(r.slowIdeal))
		p("The queue is filled first; the time is from consumer start to the last handler's end. Efficiency = ideal / actual.\n\n")
		p("| contender | actual | efficiency | requests/msg |\n|---|---:|---:|---:|\n")
		for _, c := range r.contenders {
			if res, ok := r.slow[c.name()]; ok {
				p("| %s | %s | %.2f | %.3f |\n", c.name(), dur(res.elapsed), r.slowIdeal.Seconds()/res.elapsed.Seconds(), res.reqPerMsg)
			}
		}
		for _, s := range r.skipped {
			p("\n%s.\n", s)
		}
		p("\n")
	}

	if len(r.scaling) > 0 {
		p("## Scaling (snssqs)\n\n| events | msgs/s | vs %d | requests/msg | client CPU µs/msg | allocs/msg | max latency | redelivered |\n|---:|---:|---:|---:|---:|---:|---:|---:|\n", r.scaling[0].n)
		for _, sp := range r.scaling {
			p("| %d | %.0f | %.2f | %.3f | %.1f | %.0f | %s | %d |\n", sp.n, sp.res.throughput, ratio(sp.res.throughput, r.scaling[0].res.throughput),
				sp.res.reqPerMsg, micros(sp.res.clientCPU), sp.res.allocs, dur(sp.res.max), sp.res.redelivered)
		}
		p("\n")
	}

	if r.anyRedelivered() {
		p("## Redelivery stalls\n\nSome runs had events whose first receive never reached the handler (column `redelivered`); they came back only after the 30 s visibility timeout, which dominates those runs' time. The figures below without such stalls count only the events handled on their first receive, up to the last of them:\n\n")
		p("| contender | msgs/s end to end | msgs/s without stalls |\n|---|---:|---:|\n")
		for _, c := range r.contenders {
			if res, ok := r.throughput[c.name()]; ok {
				p("| %s | %.0f | %.0f |\n", c.name(), res.throughput, res.cleanThroughput)
			}
		}
		for _, sp := range r.scaling {
			p("| snssqs, %d events | %.0f | %.0f |\n", sp.n, sp.res.throughput, sp.res.cleanThroughput)
		}
		if sl, ok := r.slow["snssqs"]; ok {
			p("| snssqs, slow handler (time) | %s | %s |\n", dur(sl.elapsed), dur(sl.cleanElapsed))
		}
		p("\n```\n%s\n```\n\n", formatSummary("without stalls", r.summary(true)))
	}
	p("## Targets\n\nRatios against batched-ce, snssqs-otel's against snssqs and the round-trip ratios are medians of the ratios within each repetition; the others are ratios of medians. The heartbeat target (at most 0.15 requests per extended message per tick) is a count, checked by the library's TestHeartbeatBatchesExtensions.\n\n| target | measured | result |\n|---|---:|---|\n")
	s := r.summary(false)
	for _, t := range []target{
		{"loopback: throughput ≥ 0.95× batched-ce", s.vsBatchedCE, func(v float64) bool { return v >= 0.95 }, "≥ 0.95", "%.2f×"},
		{"loopback: client CPU/msg ≤ 1.10× batched-ce", s.cpuVsBatchedCE, func(v float64) bool { return v <= 1.10 }, "≤ 1.10", "%.2f×"},
		{"loopback: throughput ≥ 2.5× gocloud", s.vsGocloud, func(v float64) bool { return v >= 2.5 }, "≥ 2.5", "%.2f×"},
		{"loopback: requests/msg ≤ 0.31", s.requests, func(v float64) bool { return v <= 0.31 }, "≤ 0.31", "%.3f"},
		{"loopback: snssqs-otel (traces and metrics on) client CPU/msg ≤ 1.15× snssqs", s.otelCPUVsLib, func(v float64) bool { return v <= 1.15 }, "≤ 1.15", "%.2f×"},
		{"snssqs-sqs (no SNS): requests/msg within 0.01 of 0.30", s.sqsRequests, func(v float64) bool { return math.Abs(v-0.30) <= 0.01 }, "0.30 ± 0.01", "%.3f"},
		{cfg.rtt + ": throughput ≥ 1.0× batched", s.rttVsBatched, func(v float64) bool { return v >= 1.0 }, "≥ 1.0", "%.2f×"},
		{cfg.rtt + ": throughput ≥ 1.5× gocloud", s.rttVsGocloud, func(v float64) bool { return v >= 1.5 }, "≥ 1.5", "%.2f×"},
		{cfg.rtt + ": p50 publish→handler ≤ batched's", s.rttP50VsBatched, func(v float64) bool { return v <= 1.0 }, "≤ 1.0", "%.2f×"},
		{cfg.rtt50 + ": throughput ≥ 1.0× batched", s.rtt50VsBatched, func(v float64) bool { return v >= 1.0 }, "≥ 1.0", "%.2f×"},
		{"p50 at " + fmt.Sprintf("%.0f", cfg.rate) + " msg/s ≤ 1.5× naive", s.p50VsNaive, func(v float64) bool { return v <= 1.5 }, "≤ 1.5", "%.2f×"},
		{"slow-handler efficiency ≥ 0.9", s.slowEff, func(v float64) bool { return v >= 0.9 }, "≥ 0.9", "%.2f"},
		{"throughput at the largest scaling N at most 20% below the smallest N", s.scaling, func(v float64) bool { return v >= 0.8 }, "≥ 0.8", "%.2f×"},
	} {
		result := "not measured"
		measured := "–"
		if !math.IsNaN(t.measured) {
			measured = fmt.Sprintf(t.format, t.measured)
			result = "FAIL"
			if t.ok(t.measured) {
				result = "pass"
			}
		}
		p("| %s | %s | %s |\n", t.name, measured, result)
	}
	p("\n")

	if len(r.failures) > 0 {
		p("## Failed runs\n\n")
		for _, f := range r.failures {
			p("- %s\n", f)
		}
		p("\n")
	}
	p("```\n%s\n```\n", summaryLine(r))
	return b.String()
}

func (r *benchResults) anyRedelivered() bool {
	for _, m := range []map[string]runResult{r.throughput, r.rtt, r.rtt50, r.slow} {
		for _, res := range m {
			if res.redelivered > 0 {
				return true
			}
		}
	}
	for _, sp := range r.scaling {
		if sp.res.redelivered > 0 {
			return true
		}
	}
	return false
}

func emuCell(d time.Duration) string {
	if d < 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1f", micros(d))
}

func countSource(rs map[string]runResult) string {
	for _, r := range rs {
		if r.countSource == "client" {
			return "client, the endpoint has no admin endpoint"
		}
	}
	return "emulator"
}

// repRatios describes a's throughput and client CPU per message relative to
// b's, repetition by repetition: runs of one repetition follow each other,
// so their ratio is less exposed to the machine's drift than the ratio of
// medians over the whole benchmark. Empty with fewer than two repetitions.
func repRatios(r *benchResults, kind, a, b string) string {
	var thr, cpu []float64
	for rep, ra := range r.reps[kind][a] {
		rb, ok := r.reps[kind][b][rep]
		if !ok {
			continue
		}
		thr = append(thr, ratio(ra.throughput, rb.throughput))
		cpu = append(cpu, ratio(float64(ra.clientCPU), float64(rb.clientCPU)))
	}
	if len(thr) < 2 {
		return ""
	}
	return fmt.Sprintf("\n%s ÷ %s within each of %d repetitions: throughput %s, client CPU per message %s.",
		a, b, len(thr), spread(thr), spread(cpu))
}

// spread formats xs as "median M (min–max)".
func spread(xs []float64) string {
	lo, hi := slices.Min(xs), slices.Max(xs)
	return fmt.Sprintf("median %.2f× (%.2f–%.2f)", medianFloat(xs), lo, hi)
}
