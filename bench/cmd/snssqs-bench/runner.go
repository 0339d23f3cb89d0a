package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"time"
)

// runSpec describes one end-to-end run.
type runSpec struct {
	kind        string
	n           int
	rate        float64       // events per second; 0 publishes as fast as the publishers go
	delay       time.Duration // simulated handler work
	concurrency int           // handler concurrency; 0 is the contender's default
	// prefill publishes every event before the consumer starts, so the
	// elapsed time measures the consumer alone (slow-handler run).
	prefill bool
}

// benchEnv is what every run shares.
type benchEnv struct {
	endpoint   string
	admin      *adminClient     // nil when the endpoint has no admin endpoint
	emu        *emulatorProcess // nil when the emulator is not our child process
	counter    *requestCounter
	publishers int
	timeout    time.Duration // per run; 0 picks one from n
	log        io.Writer
	ids        atomic.Int64
	// cpuProfile, when set, receives the client's CPU profile of the first
	// run that asks for profiling.
	cpuProfile string
	profileOf  string // the contender whose run is profiled
	// memProfile, when set, receives the allocation profile after that run.
	memProfile string
	profiled   atomic.Bool
}

func (e *benchEnv) runTimeout(n int) time.Duration {
	if e.timeout > 0 {
		return e.timeout
	}
	return time.Minute + time.Duration(n)*5*time.Millisecond
}

func (e *benchEnv) resetCounts(ctx context.Context) error {
	e.counter.reset()
	if e.admin != nil {
		return e.admin.reset(ctx)
	}
	return nil
}

func (e *benchEnv) counts(ctx context.Context) (map[string]int64, string, error) {
	if e.admin != nil {
		m, err := e.admin.requests(ctx)
		return m, "emulator", err
	}
	return e.counter.snapshot(), "client", nil
}

// runOnce provisions a fresh topic and queue, runs the contender's consumer
// and publishers over spec.n events and measures the run.
func runOnce(ctx context.Context, env *benchEnv, c contender, spec runSpec, rep int, profile bool) (runResult, error) {
	res := runResult{contender: c.name(), kind: spec.kind, n: spec.n}
	cfg, err := loadAWSConfig(ctx, env.endpoint, env.counter)
	if err != nil {
		return res, err
	}
	if ci, ok := cfg.HTTPClient.(interface{ CloseIdleConnections() }); ok {
		defer ci.CloseIdleConnections()
	}
	cl := newClients(cfg)
	name := fmt.Sprintf("bench-%s-%s-r%d-%d-%d", spec.kind, c.name(), rep, os.Getpid(), env.ids.Add(1))
	ref, err := provision(ctx, cl, name)
	if err != nil {
		return res, err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if err := unprovision(cctx, cl, ref); err != nil {
			fmt.Fprintf(env.log, "warning: %s: %v\n", name, err)
		}
	}()

	runCtx, cancel := context.WithTimeout(ctx, env.runTimeout(spec.n))
	defer cancel()
	pub, err := c.openPublisher(runCtx, cl, ref)
	if err != nil {
		return res, fmt.Errorf("open publisher: %w", err)
	}
	pubClosed := false
	defer func() {
		if !pubClosed {
			cctx, ccancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer ccancel()
			_ = pub.close(cctx)
		}
	}()
	sk := newSink(spec.n, spec.delay)
	if spec.prefill {
		if err := publishAll(runCtx, c, pub, spec, env.publishers); err != nil {
			return res, fmt.Errorf("prefill: %w", err)
		}
	}

	runtime.GC()
	if err := env.resetCounts(ctx); err != nil {
		return res, err
	}
	stopProfile := func() {}
	if profile && (env.cpuProfile != "" || env.memProfile != "") && env.profiled.CompareAndSwap(false, true) {
		if stopProfile, err = env.startProfiles(); err != nil {
			return res, err
		}
	}
	before := takeSnapshot(env.emu)
	start := time.Now()
	cons, err := c.startConsumer(runCtx, cl, consumerSpec{queueURL: ref.queueURL, topicARN: ref.topicARN, concurrency: spec.concurrency}, sk.handle)
	if err != nil {
		stopProfile()
		return res, fmt.Errorf("start consumer: %w", err)
	}
	var runErr error
	if !spec.prefill {
		runErr = publishAll(runCtx, c, pub, spec, env.publishers)
	}
	if runErr == nil {
		select {
		case <-sk.done:
		case <-runCtx.Done():
			runErr = fmt.Errorf("timed out after %s: %d of %d events handled", time.Since(start).Round(time.Millisecond), sk.handled.Load(), spec.n)
		}
	}
	stopCtx, stopCancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer stopCancel()
	if err := cons.stop(stopCtx); err != nil {
		runErr = errors.Join(runErr, fmt.Errorf("stop consumer: %w", err))
	}
	if err := pub.close(stopCtx); err != nil {
		runErr = errors.Join(runErr, fmt.Errorf("close publisher: %w", err))
	}
	pubClosed = true
	after := takeSnapshot(env.emu)
	stopProfile()
	if runErr != nil {
		return res, runErr
	}

	reqs, source, err := env.counts(ctx)
	if err != nil {
		return res, err
	}
	res.requests = reqs
	res.countSource = source
	res.clientReqs = sumCounts(env.counter.snapshot())
	if res.leftover, err = queueDepth(ctx, cl, ref.queueURL); err != nil {
		return res, err
	}
	n := float64(spec.n)
	res.elapsed = time.Duration(sk.doneAt.Load() - start.UnixNano())
	res.throughput = n / res.elapsed.Seconds()
	res.cleanThroughput, res.cleanElapsed = res.throughput, res.elapsed
	if r := sk.redeliv.Load(); r > 0 {
		res.cleanElapsed = time.Duration(sk.cleanAt.Load() - start.UnixNano())
		res.cleanThroughput = (n - float64(r)) / res.cleanElapsed.Seconds()
	}
	res.reqPerMsg = float64(sumCounts(reqs)) / n
	wall := after.clientCPU - before.clientCPU
	res.clientCPU = time.Duration(float64(wall) / n)
	res.clientUtil = wall.Seconds() / res.elapsed.Seconds()
	res.emulatorCPU, res.emuUtil = -1, -1
	if before.emulatorCPU >= 0 && after.emulatorCPU >= 0 {
		d := after.emulatorCPU - before.emulatorCPU
		res.emulatorCPU = time.Duration(float64(d) / n)
		res.emuUtil = d.Seconds() / res.elapsed.Seconds()
	}
	res.allocs = float64(after.mallocs-before.mallocs) / n
	lat := sk.latencies()
	res.p50, res.p99 = percentile(lat, 0.50), percentile(lat, 0.99)
	res.max = percentile(lat, 1)
	res.dups = sk.dups.Load() + sk.unknown.Load()
	res.redelivered = sk.redeliv.Load()
	return res, nil
}

// publishAll publishes spec.n events: unpaced from ceil(publishers/batch)
// goroutines handing the contender batchSize events per call (so every
// contender has about `publishers` events in flight), or paced at spec.rate
// events per second, one event per call, each call in its own goroutine so a
// slow call does not delay the next.
func publishAll(ctx context.Context, c contender, pub publisher, spec runSpec, publishers int) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	fail := func(err error) { cancel(err) }
	if spec.rate > 0 {
		interval := time.Duration(float64(time.Second) / spec.rate)
		start := time.Now()
		t := time.NewTimer(0)
		defer t.Stop()
		for i := 0; i < spec.n; i++ {
			select {
			case <-ctx.Done():
			case <-t.C:
			}
			if ctx.Err() != nil {
				break
			}
			t.Reset(time.Until(start.Add(time.Duration(i+1) * interval)))
			wg.Add(1)
			go func(seq int64) {
				defer wg.Done()
				ev := []benchEvent{{Seq: seq, SentUnixNano: time.Now().UnixNano(), Note: filler}}
				if err := pub.publish(ctx, ev); err != nil {
					fail(err)
				}
			}(int64(i))
		}
		wg.Wait()
		return context.Cause(ctx)
	}
	batch := max(1, c.batchSize())
	workers := max(1, (publishers+batch-1)/batch)
	var next atomic.Int64
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			events := make([]benchEvent, 0, batch)
			for ctx.Err() == nil {
				from := next.Add(int64(batch)) - int64(batch)
				if from >= int64(spec.n) {
					return
				}
				to := min(from+int64(batch), int64(spec.n))
				events = events[:0]
				now := time.Now().UnixNano()
				for s := from; s < to; s++ {
					events = append(events, benchEvent{Seq: s, SentUnixNano: now, Note: filler})
				}
				if err := pub.publish(ctx, events); err != nil {
					fail(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	return context.Cause(ctx)
}

// startProfiles starts the CPU profile, if asked for, and returns the
// function that stops it and writes the allocation profile, if asked for.
func (e *benchEnv) startProfiles() (stop func(), err error) {
	stopCPU := func() {}
	if e.cpuProfile != "" {
		f, err := os.Create(e.cpuProfile)
		if err != nil {
			return nil, fmt.Errorf("cpu profile: %w", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			_ = f.Close()
			return nil, fmt.Errorf("cpu profile: %w", err)
		}
		stopCPU = func() { pprof.StopCPUProfile(); _ = f.Close() }
	}
	return func() {
		stopCPU()
		if e.memProfile == "" {
			return
		}
		f, err := os.Create(e.memProfile)
		if err != nil {
			fmt.Fprintln(e.log, "memory profile:", err)
			return
		}
		defer f.Close()
		if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
			fmt.Fprintln(e.log, "memory profile:", err)
		}
	}, nil
}
