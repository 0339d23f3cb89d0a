package main

import (
	"cmp"
	"math"
	"runtime"
	"slices"
	"sort"
	"syscall"
	"time"
)

// resourceSnapshot is the client process's CPU time and allocation count,
// and the emulator process's CPU time, at one instant.
type resourceSnapshot struct {
	clientCPU   time.Duration
	mallocs     uint64
	emulatorCPU time.Duration // -1 when unknown
}

// takeSnapshot reads getrusage(RUSAGE_SELF) (user+system CPU of every
// thread of this process), runtime.MemStats.Mallocs and, when emu is not nil,
// the emulator's CPU time from /proc.
func takeSnapshot(emu *emulatorProcess) resourceSnapshot {
	var ru syscall.Rusage
	var cpu time.Duration
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err == nil {
		cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	s := resourceSnapshot{clientCPU: cpu, mallocs: ms.Mallocs, emulatorCPU: -1}
	if emu != nil {
		if d, err := emu.cpuTime(); err == nil {
			s.emulatorCPU = d
		}
	}
	return s
}

// runResult is what one run of one contender measured.
type runResult struct {
	contender  string
	kind       string
	n          int
	elapsed    time.Duration
	throughput float64 // events per second, end to end
	// cleanThroughput counts only events handled on their first receive,
	// up to the last of them: the throughput without redelivery stalls.
	cleanThroughput float64
	cleanElapsed    time.Duration
	requests        map[string]int64
	reqPerMsg       float64
	clientCPU       time.Duration // per message
	emulatorCPU     time.Duration // per message; -1 when unknown
	clientUtil      float64       // client CPU seconds per wall second (cores busy)
	emuUtil         float64       // emulator CPU seconds per wall second; -1 when unknown
	allocs          float64       // per message
	p50, p99        time.Duration
	dups            int64
	redelivered     int64 // events first handled on a second or later SQS receive
	max             time.Duration
	leftover        int // messages left in the queue after the consumer stopped
	countSource     string
	clientReqs      int64 // requests the client counted, for cross-checking
}

// percentile returns the q-quantile (0..1) of ds by the nearest-rank method.
func percentile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := int(math.Ceil(q*float64(len(s)))) - 1
	rank = max(0, min(rank, len(s)-1))
	return s[rank]
}

// medianFloat returns the median of xs (the mean of the middle two for an
// even count); NaN for none.
func medianFloat(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	sort.Float64s(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}

// medianDuration is medianFloat for durations.
func medianDuration(ds []time.Duration) time.Duration {
	xs := make([]float64, len(ds))
	for i, d := range ds {
		xs[i] = float64(d)
	}
	return time.Duration(medianFloat(xs))
}

// medianResult combines the repetitions of one run: each figure is the
// median of that figure over the repetitions. The request breakdown is the
// one of the repetition whose total is the median.
func medianResult(rs []runResult) runResult {
	if len(rs) == 0 {
		return runResult{}
	}
	out := rs[0]
	pick := func(f func(runResult) float64) float64 {
		xs := make([]float64, len(rs))
		for i, r := range rs {
			xs[i] = f(r)
		}
		return medianFloat(xs)
	}
	pickD := func(f func(runResult) time.Duration) time.Duration {
		ds := make([]time.Duration, len(rs))
		for i, r := range rs {
			ds[i] = f(r)
		}
		return medianDuration(ds)
	}
	out.elapsed = pickD(func(r runResult) time.Duration { return r.elapsed })
	out.throughput = pick(func(r runResult) float64 { return r.throughput })
	out.cleanThroughput = pick(func(r runResult) float64 { return r.cleanThroughput })
	out.cleanElapsed = pickD(func(r runResult) time.Duration { return r.cleanElapsed })
	out.reqPerMsg = pick(func(r runResult) float64 { return r.reqPerMsg })
	out.clientCPU = pickD(func(r runResult) time.Duration { return r.clientCPU })
	out.emulatorCPU = pickD(func(r runResult) time.Duration { return r.emulatorCPU })
	out.clientUtil = pick(func(r runResult) float64 { return r.clientUtil })
	out.emuUtil = pick(func(r runResult) float64 { return r.emuUtil })
	out.allocs = pick(func(r runResult) float64 { return r.allocs })
	out.p50 = pickD(func(r runResult) time.Duration { return r.p50 })
	out.p99 = pickD(func(r runResult) time.Duration { return r.p99 })
	out.max = pickD(func(r runResult) time.Duration { return r.max })
	var dups, redeliv int64
	left := 0
	for _, r := range rs {
		dups += r.dups
		redeliv += r.redelivered
		left += r.leftover
	}
	out.dups, out.redelivered, out.leftover = dups, redeliv, left
	sorted := slices.Clone(rs)
	slices.SortFunc(sorted, func(a, b runResult) int { return cmp.Compare(sumCounts(a.requests), sumCounts(b.requests)) })
	out.requests = sorted[len(sorted)/2].requests
	return out
}

// ratio returns a/b, or NaN when b is not positive.
func ratio(a, b float64) float64 {
	if b <= 0 || math.IsNaN(a) || math.IsNaN(b) {
		return math.NaN()
	}
	return a / b
}
