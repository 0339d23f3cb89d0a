// Command snssqs-emulator runs the snssqstest SNS+SQS emulator as a
// standalone server, so the aws CLI, other SDKs or programs in other
// processes can use it:
//
//	snssqs-emulator -addr 127.0.0.1:4566 -region us-east-1 -account 000000000000
//	aws --endpoint-url http://127.0.0.1:4566 sns create-topic --name orders
//
// It prints "snssqs-emulator listening on http://ADDR" once it accepts
// connections and shuts down cleanly on SIGINT or SIGTERM. With -v it logs
// every request to stderr: time, service, operation, status and duration,
// never credentials or bodies. -h lists the flags and the admin endpoints.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"github.com/snssqs/snssqs/snssqstest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "snssqs-emulator:", err)
		os.Exit(2)
	}
}

// run parses args, starts the emulator, announces its address on stdout and
// serves until ctx is done.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("snssqs-emulator", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:4566", "listen address")
	region := fs.String("region", snssqstest.DefaultRegion, "region used in ARNs and queue URLs")
	account := fs.String("account", snssqstest.DefaultAccountID, "account id used in ARNs, queue URLs and GetCallerIdentity")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file (flushed on SIGINT/SIGTERM)")
	latency := fs.String("latency", "", "delay every answer, to model a network: a duration (15ms) or a range (10ms-20ms), drawn uniformly")
	verbose := fs.Bool("v", false, "log every request to stderr: time, service, operation, status, duration (never credentials or bodies)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: snssqs-emulator [flags]\n\nAn in-process SNS+SQS emulator speaking the AWS wire protocols.\n\nFlags:\n")
		fs.PrintDefaults()
		fmt.Fprint(stderr, adminHelp)
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	lo, hi, err := snssqstest.ParseLatency(*latency)
	if err != nil {
		return err
	}
	opts := []snssqstest.Option{
		snssqstest.WithAddr(*addr),
		snssqstest.WithRegion(*region),
		snssqstest.WithAccountID(*account),
		snssqstest.WithLatency(lo, hi),
	}
	if *verbose {
		opts = append(opts, snssqstest.WithRequestLog(stderr))
	}
	srv, err := snssqstest.NewServer(opts...)
	if err != nil {
		return err
	}
	defer srv.Close()
	if _, err := fmt.Fprintf(stdout, "snssqs-emulator listening on %s\n", srv.URL()); err != nil {
		return err
	}
	<-ctx.Done()
	return nil
}

// adminHelp lists the emulator's own endpoints, under the server's URL.
const adminHelp = `
Admin endpoints (no AWS request uses these paths):
  GET    /_snssqstest/health    200 "ok" once the server answers (for healthchecks)
  GET    /_snssqstest/requests  request counts per operation, as JSON
  DELETE /_snssqstest/requests  reset the counts
  GET    /_snssqstest/latency   the delay of every answer: "" (none), "15ms" or "10ms-20ms"
  PUT    /_snssqstest/latency   set it, the body in the same form
  GET    /_snssqstest/sns/deliveries      documents sent to http(s), email, sms, ... subscriptions
  GET    /_snssqstest/sns/certificate.pem the certificate that signs them

Example:
  snssqs-emulator -v &
  aws --endpoint-url http://127.0.0.1:4566 sns create-topic --name orders
`
