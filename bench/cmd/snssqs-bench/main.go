// Command snssqs-bench measures the same end-to-end SNS→SQS work (N events
// published to a topic, delivered to a subscribed queue as SNS notification
// JSON, handled and deleted) through five contenders: this library, gocloud.dev
// pubsub/awssnssqs, a naive raw-SDK consumer, a hand-batched raw-SDK ceiling
// and that ceiling sending the library's CloudEvents envelope. It reports throughput, API requests per message (counted by the
// emulator), client CPU and allocations per message and publish-to-handler
// latency, writes a markdown report and prints a one-line summary last.
//
// By default it builds cmd/snssqs-emulator and runs it as a separate process
// on a free loopback port, so the emulator's CPU is measured apart from the
// client's; -endpoint uses an existing endpoint instead. Run it from the
// bench module:
//
//	cd bench && go run ./cmd/snssqs-bench            # full run, writes RESULTS.md
//	cd bench && go run ./cmd/snssqs-bench -quick     # CI smoke, < 60 s
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/snssqs/snssqs/snssqstest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "snssqs-bench:", err)
		os.Exit(1)
	}
}

// benchConfig is the parsed command line.
type benchConfig struct {
	endpoint        string
	n               int
	reps            int
	quick           bool
	out             string
	publishers      int
	contenders      string
	runs            map[string]bool
	rate            float64
	pacedDuration   time.Duration
	slowN           int
	slowDelay       time.Duration
	slowConcurrency int
	scaling         []int
	rttN            int
	rtt, rtt50      string // latencies of the round-trip runs, as the emulator's -latency takes them
	timeout         time.Duration
	cpuProfile      string
	profileOf       string
	otelSampling    float64
	memProfile      string
	emulatorBin     string
	emulatorArgs    []string
}

// quick-mode values, applied to flags the user did not set.
const (
	quickN       = 500
	quickReps    = 1
	quickPaced   = time.Second
	quickSlowN   = 200
	quickTimeout = 40 * time.Second
	quickRTTN    = 300
)

var quickScaling = []int{250, 1000, 2000}

func parseFlags(args []string, stderr io.Writer) (benchConfig, error) {
	var cfg benchConfig
	fs := flag.NewFlagSet("snssqs-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.endpoint, "endpoint", "", "use this SNS/SQS endpoint (e.g. http://127.0.0.1:4566) instead of starting cmd/snssqs-emulator; request counts come from its /_snssqstest/requests endpoint when it has one, else from the client")
	fs.IntVar(&cfg.n, "n", 10000, "events per throughput run")
	fs.IntVar(&cfg.reps, "reps", 3, "repetitions of every run; each figure is the median")
	fs.BoolVar(&cfg.quick, "quick", false, fmt.Sprintf("CI smoke run: -n %d -reps %d, paced %s, slow-handler %d events, scaling %v (finishes in < 60 s)", quickN, quickReps, quickPaced, quickSlowN, quickScaling))
	fs.StringVar(&cfg.out, "out", "RESULTS.md", "markdown report to write (bench/RESULTS.md when run from bench/)")
	fs.IntVar(&cfg.publishers, "publishers", 64, "events in flight while publishing: goroutines calling Publish/Send one event at a time (the batched contender uses publishers/10 goroutines of 10)")
	fs.StringVar(&cfg.contenders, "contenders", "all", "comma-separated contenders: snssqs,gocloud,naive,batched")
	runs := fs.String("runs", "throughput,rtt,rtt50,paced,slow,scaling", "comma-separated run kinds")
	fs.Float64Var(&cfg.rate, "rate", 100, "events per second of the paced latency run")
	fs.DurationVar(&cfg.pacedDuration, "paced-duration", 3*time.Second, "length of the paced latency run")
	fs.IntVar(&cfg.slowN, "slow-n", 1000, "events of the slow-handler run")
	fs.DurationVar(&cfg.slowDelay, "slow-delay", 50*time.Millisecond, "handler duration of the slow-handler run")
	fs.IntVar(&cfg.slowConcurrency, "slow-concurrency", 50, "handler concurrency of the slow-handler run")
	scaling := fs.String("scaling", "1000,10000,100000", "event counts of the snssqs scaling run")
	fs.IntVar(&cfg.rttN, "rtt-n", 5000, "events per round-trip run")
	fs.StringVar(&cfg.rtt, "rtt", "10ms-20ms", "latency the emulator adds to every request in the rtt run (in-region AWS)")
	fs.StringVar(&cfg.rtt50, "rtt50", "50ms", "latency the emulator adds to every request in the rtt50 run (cross-region)")
	fs.DurationVar(&cfg.timeout, "timeout", 0, "limit of one run (0: 1m + 5ms per event)")
	fs.StringVar(&cfg.cpuProfile, "cpuprofile", "", "write the client CPU profile of the first throughput run of the -profile-contender to this file")
	fs.Float64Var(&cfg.otelSampling, "otel-sampling", 1, "the fraction of traces the snssqs-otel contender samples (ParentBased(TraceIDRatioBased)); 1 samples every message")
	fs.StringVar(&cfg.profileOf, "profile-contender", "snssqs", "the contender whose first throughput run -cpuprofile and -memprofile record")
	fs.StringVar(&cfg.memProfile, "memprofile", "", "write the client allocation profile (allocations since the start, sampled) after the first throughput run of the -profile-contender to this file")
	fs.StringVar(&cfg.emulatorBin, "emulator-bin", "", "use this emulator binary instead of building cmd/snssqs-emulator")
	emuArgs := fs.String("emulator-args", "", "extra space-separated arguments for the emulator process (e.g. -cpuprofile=/tmp/emu.prof)")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if cfg.quick {
		if !set["n"] {
			cfg.n = quickN
		}
		if !set["reps"] {
			cfg.reps = quickReps
		}
		if !set["paced-duration"] {
			cfg.pacedDuration = quickPaced
		}
		if !set["slow-n"] {
			cfg.slowN = quickSlowN
		}
		if !set["scaling"] {
			*scaling = joinInts(quickScaling)
		}
		if !set["timeout"] {
			cfg.timeout = quickTimeout
		}
		if !set["rtt-n"] {
			cfg.rttN = quickRTTN
		}
	}
	cfg.runs = map[string]bool{}
	for _, k := range strings.Split(*runs, ",") {
		k = strings.TrimSpace(k)
		switch k {
		case kindThroughput, kindRTT, kindRTT50, kindPaced, kindSlow, kindScaling:
			cfg.runs[k] = true
		case "":
		default:
			return cfg, fmt.Errorf("unknown run kind %q (want throughput, rtt, rtt50, paced, slow, scaling)", k)
		}
	}
	for _, s := range strings.Split(*scaling, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		v, err := strconv.Atoi(s)
		if err != nil || v <= 0 {
			return cfg, fmt.Errorf("bad -scaling entry %q", s)
		}
		cfg.scaling = append(cfg.scaling, v)
	}
	cfg.emulatorArgs = strings.Fields(*emuArgs)
	for _, l := range []string{cfg.rtt, cfg.rtt50} {
		if _, hi, err := snssqstest.ParseLatency(l); err != nil || hi == 0 {
			return cfg, fmt.Errorf("bad round-trip latency %q: want a duration or MIN-MAX above zero", l)
		}
	}
	switch {
	case cfg.n <= 0 || cfg.reps <= 0 || cfg.publishers <= 0 || cfg.slowN <= 0 || cfg.slowConcurrency <= 0 || cfg.rttN <= 0:
		return cfg, errors.New("-n, -reps, -publishers, -slow-n, -slow-concurrency and -rtt-n must be positive")
	case cfg.rate <= 0 || cfg.pacedDuration <= 0 || cfg.slowDelay < 0:
		return cfg, errors.New("-rate and -paced-duration must be positive, -slow-delay not negative")
	}
	return cfg, nil
}

func joinInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ",")
}

// run is the whole program: parse flags, start (or reach) the endpoint, run
// the benchmark, write the report and print the summary line last.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	cs, err := selectContenders(cfg.contenders)
	if err != nil {
		return err
	}
	for i, c := range cs {
		if sc, ok := c.(snssqsContender); ok && sc.otel {
			sc.sampling = cfg.otelSampling
			cs[i] = sc
		}
	}
	env := &benchEnv{
		endpoint:   cfg.endpoint,
		counter:    newRequestCounter(),
		publishers: cfg.publishers,
		timeout:    cfg.timeout,
		log:        stderr,
		cpuProfile: cfg.cpuProfile,
		profileOf:  cfg.profileOf,
		memProfile: cfg.memProfile,
	}
	endpointDesc := "external endpoint " + cfg.endpoint
	if cfg.endpoint == "" {
		bin := cfg.emulatorBin
		if bin == "" {
			dir, err := os.MkdirTemp("", "snssqs-bench-")
			if err != nil {
				return fmt.Errorf("temp dir: %w", err)
			}
			defer os.RemoveAll(dir)
			fmt.Fprintln(stderr, "building", emulatorPackage)
			if bin, err = buildEmulator(ctx, dir, stderr); err != nil {
				return err
			}
		}
		emu, err := startEmulator(ctx, bin, cfg.emulatorArgs, stderr)
		if err != nil {
			return err
		}
		defer emu.stop()
		env.emu = emu
		env.endpoint = emu.url
		endpointDesc = fmt.Sprintf("cmd/snssqs-emulator as a separate process (pid %d) at %s", emu.cmd.Process.Pid, emu.url)
		fmt.Fprintln(stderr, "emulator listening on", emu.url)
	}
	admin := newAdminClient(env.endpoint)
	if admin.healthy(ctx) {
		env.admin = &admin
	} else {
		endpointDesc += " (no admin endpoint: requests counted by the client)"
	}

	res := runBenchmark(ctx, env, cfg, cs, stderr)
	res.args = args
	res.machine = describeMachine(ctx)
	res.endpoint = endpointDesc
	report := renderReport(res)
	if cfg.out != "" {
		if dir := filepath.Dir(cfg.out); dir != "." {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return fmt.Errorf("create report directory: %w", err)
			}
		}
		if err := os.WriteFile(cfg.out, []byte(report), 0o644); err != nil {
			return fmt.Errorf("write report: %w", err)
		}
	}
	if _, err := io.WriteString(stdout, report); err != nil {
		return err
	}
	if cfg.out != "" {
		fmt.Fprintf(stdout, "\nwrote %s\n", cfg.out)
	}
	fmt.Fprintln(stdout, summaryLine(res))
	if len(res.failures) > 0 {
		return fmt.Errorf("%d run(s) failed, first: %s", len(res.failures), res.failures[0])
	}
	return ctx.Err()
}
