// Command snssqs-emulator runs the snssqstest SNS+SQS emulator as a
// standalone server, so the aws CLI, other SDKs or programs in other
// processes can use it:
//
//	snssqs-emulator -addr 127.0.0.1:4566 -region us-east-1 -account 000000000000
//	aws --endpoint-url http://127.0.0.1:4566 sns create-topic --name orders
//
// It prints "snssqs-emulator listening on http://ADDR" once it accepts
// connections and shuts down cleanly on SIGINT or SIGTERM.
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
	srv, err := snssqstest.NewServer(
		snssqstest.WithAddr(*addr),
		snssqstest.WithRegion(*region),
		snssqstest.WithAccountID(*account),
		snssqstest.WithLatency(lo, hi),
	)
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
