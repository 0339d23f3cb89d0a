package main

import (
	"context"
	"fmt"
	"io"
	"time"
)

// Run kinds.
const (
	kindThroughput = "throughput"
	kindPaced      = "paced"
	kindSlow       = "slow"
	kindScaling    = "scaling"
	// kindRTT and kindRTT50 are the throughput run with the emulator
	// delaying every request, as an in-region (10–20 ms) and a
	// cross-region (50 ms) network does.
	kindRTT   = "rtt"
	kindRTT50 = "rtt50"
)

// benchResults are the medians of every run kind, ready for the report.
type benchResults struct {
	cfg        benchConfig
	args       []string
	machine    machineInfo
	endpoint   string // what was measured: child emulator or external endpoint
	contenders []contender
	started    time.Time
	finished   time.Time

	throughput map[string]runResult
	rtt, rtt50 map[string]runResult // round-trip runs
	// reps holds every successful run by kind, contender and repetition,
	// for ratios within a repetition.
	reps      map[string]map[string]map[int]runResult
	paced     map[string]runResult
	slow      map[string]runResult
	slowIdeal time.Duration
	scaling   []scalingPoint
	failures  []string
	skipped   []string
}

type scalingPoint struct {
	n   int
	res runResult
}

// runBenchmark runs every selected run kind, repetitions interleaved across
// contenders (rep 1: A B C D, rep 2: A B C D, ...), and returns the medians.
func runBenchmark(ctx context.Context, env *benchEnv, cfg benchConfig, cs []contender, log io.Writer) *benchResults {
	r := &benchResults{
		cfg:        cfg,
		contenders: cs,
		throughput: map[string]runResult{},
		paced:      map[string]runResult{},
		slow:       map[string]runResult{},
		started:    time.Now(),
	}
	defer func() { r.finished = time.Now() }()
	want := func(kind string) bool { return cfg.runs[kind] }

	if want(kindThroughput) {
		r.throughput = r.repeat(ctx, env, cs, cfg.reps, log, func(c contender) (runSpec, bool) {
			return runSpec{kind: kindThroughput, n: cfg.n}, true
		})
	}
	for _, rt := range []struct {
		kind, latency string
		out           *map[string]runResult
	}{{kindRTT, cfg.rtt, &r.rtt}, {kindRTT50, cfg.rtt50, &r.rtt50}} {
		if want(rt.kind) {
			*rt.out = r.roundTrips(ctx, env, cs, rt.kind, rt.latency, log)
		}
	}
	if want(kindPaced) {
		n := max(1, int(cfg.rate*cfg.pacedDuration.Seconds()))
		r.paced = r.repeat(ctx, env, cs, cfg.reps, log, func(c contender) (runSpec, bool) {
			return runSpec{kind: kindPaced, n: n, rate: cfg.rate}, true
		})
	}
	if want(kindSlow) {
		r.slowIdeal = time.Duration(float64(cfg.slowN) * float64(cfg.slowDelay) / float64(cfg.slowConcurrency))
		r.slow = r.repeat(ctx, env, cs, cfg.reps, log, func(c contender) (runSpec, bool) {
			if !c.supportsConcurrency() {
				r.skipped = append(r.skipped, fmt.Sprintf("slow-handler run skipped for %s: it handles one message at a time, so it takes n×delay = %s by construction",
					c.name(), time.Duration(cfg.slowN)*cfg.slowDelay))
				return runSpec{}, false
			}
			return runSpec{kind: kindSlow, n: cfg.slowN, delay: cfg.slowDelay, concurrency: cfg.slowConcurrency, prefill: true}, true
		})
		r.skipped = dedupe(r.skipped)
	}
	if want(kindScaling) {
		var lib contender
		for _, c := range cs {
			if c.name() == "snssqs" {
				lib = c
			}
		}
		if lib != nil {
			reps := make([][]runResult, len(cfg.scaling))
			for rep := 1; rep <= cfg.reps; rep++ {
				for i, n := range cfg.scaling {
					res, err := r.one(ctx, env, lib, runSpec{kind: kindScaling, n: n}, rep, log)
					if err == nil {
						reps[i] = append(reps[i], res)
					}
				}
			}
			for i, n := range cfg.scaling {
				if len(reps[i]) > 0 {
					r.scaling = append(r.scaling, scalingPoint{n: n, res: medianResult(reps[i])})
				}
			}
		}
	}
	return r
}

// roundTrips runs the throughput comparison with the emulator delaying every
// request by latency. It needs the emulator's admin endpoint to set the
// delay; the naive contender is left out, as it makes one round trip per
// message by construction.
func (r *benchResults) roundTrips(ctx context.Context, env *benchEnv, cs []contender, kind, latency string, log io.Writer) map[string]runResult {
	if env.admin == nil {
		r.skipped = append(r.skipped, fmt.Sprintf("%s run skipped: the endpoint has no admin endpoint to set a latency with", kind))
		return nil
	}
	if err := env.admin.setLatency(ctx, latency); err != nil {
		r.failures = append(r.failures, fmt.Sprintf("%s: %v", kind, err))
		return nil
	}
	defer func() {
		if err := env.admin.setLatency(context.WithoutCancel(ctx), ""); err != nil {
			r.failures = append(r.failures, fmt.Sprintf("%s: reset latency: %v", kind, err))
		}
	}()
	return r.repeat(ctx, env, cs, r.cfg.reps, log, func(c contender) (runSpec, bool) {
		if !c.supportsConcurrency() {
			r.skipped = dedupe(append(r.skipped, fmt.Sprintf("round-trip runs skipped for %s: it makes one round trip per message, so it is bound to 1/latency msgs/s by construction", c.name())))
			return runSpec{}, false
		}
		return runSpec{kind: kind, n: r.cfg.rttN}, true
	})
}

// repeat runs spec for every contender, reps times, interleaved, and returns
// the per-contender medians of the runs that succeeded. Each repetition
// starts with the next contender, so that none always runs first or always
// follows the same one.
func (r *benchResults) repeat(ctx context.Context, env *benchEnv, cs []contender, reps int, log io.Writer, spec func(contender) (runSpec, bool)) map[string]runResult {
	all := map[string][]runResult{}
	for rep := 1; rep <= reps; rep++ {
		for i := range cs {
			c := cs[(i+rep-1)%len(cs)]
			s, ok := spec(c)
			if !ok {
				continue
			}
			res, err := r.one(ctx, env, c, s, rep, log)
			if err != nil {
				continue
			}
			all[c.name()] = append(all[c.name()], res)
			r.keepRep(s.kind, c.name(), rep, res)
		}
	}
	out := map[string]runResult{}
	for name, rs := range all {
		out[name] = medianResult(rs)
	}
	return out
}

func (r *benchResults) keepRep(kind, contender string, rep int, res runResult) {
	if r.reps == nil {
		r.reps = map[string]map[string]map[int]runResult{}
	}
	if r.reps[kind] == nil {
		r.reps[kind] = map[string]map[int]runResult{}
	}
	if r.reps[kind][contender] == nil {
		r.reps[kind][contender] = map[int]runResult{}
	}
	r.reps[kind][contender][rep] = res
}

// one runs one repetition, logs a progress line and records a failure.
func (r *benchResults) one(ctx context.Context, env *benchEnv, c contender, s runSpec, rep int, log io.Writer) (runResult, error) {
	if ctx.Err() != nil {
		return runResult{}, ctx.Err()
	}
	profile := s.kind == kindThroughput && c.name() == env.profileOf
	res, err := runOnce(ctx, env, c, s, rep, profile)
	if err != nil {
		msg := fmt.Sprintf("%s n=%d rep %d, %s: %v", s.kind, s.n, rep, c.name(), err)
		r.failures = append(r.failures, msg)
		fmt.Fprintln(log, "FAILED:", msg)
		return res, err
	}
	fmt.Fprintf(log, "%-10s n=%-6d rep %d %-8s %8.0f msg/s  %.3f req/msg  cpu %6.1fµs/msg  emu %s  allocs %6.0f/msg  p50 %-8s p99 %-8s max %-8s dups %d redelivered %d left %d\n",
		s.kind, s.n, rep, c.name(), res.throughput, res.reqPerMsg, micros(res.clientCPU), fmtEmuCPU(res.emulatorCPU),
		res.allocs, res.p50.Round(10*time.Microsecond), res.p99.Round(10*time.Microsecond), res.max.Round(time.Millisecond), res.dups, res.redelivered, res.leftover)
	// A long poll canceled at stop can be counted by one side only; more
	// than 1% apart means the counts are not to be trusted.
	if diff := res.clientReqs - sumCounts(res.requests); res.countSource == "emulator" && max(diff, -diff)*100 > max(sumCounts(res.requests), 100) {
		fmt.Fprintf(log, "note: %s counted %d requests client-side, the emulator %d\n", c.name(), res.clientReqs, sumCounts(res.requests))
	}
	return res, nil
}

func dedupe(xs []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

func fmtEmuCPU(d time.Duration) string {
	if d < 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1fµs/msg", micros(d))
}
