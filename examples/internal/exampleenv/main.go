package exampleenv

import (
	"context"
	"errors"
	"flag"
	"os"
	"os/signal"
	"syscall"

	"github.com/sirupsen/logrus"
)

// RunFunc is the signature of every example's run function: the whole
// program, given the command-line arguments without the program name. It
// returns flag.ErrHelp, as flag.FlagSet.Parse does, when asked for -h.
type RunFunc func(ctx context.Context, args []string, log logrus.FieldLogger) error

// Main runs run with the command-line arguments and a logrus logger, and
// exits: with status 0 if run returned nil or flag.ErrHelp, else with
// status 1 after logging "<name> failed" with the error. Ctrl-C and
// SIGTERM cancel run's context, so that the program stops cleanly.
func Main(name string, run RunFunc) {
	log := logrus.New()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := exitCode(ctx, name, run, os.Args[1:], log)
	stop()
	os.Exit(code)
}

// exitCode calls run and returns the program's exit status. run has
// returned, and so has its deferred cleanup (shutting down subscribers and
// publishers, stopping the emulator), when the error is logged.
func exitCode(ctx context.Context, name string, run RunFunc, args []string, log logrus.FieldLogger) int {
	err := run(ctx, args, log)
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	default:
		log.WithError(err).Error(name + " failed")
		return 1
	}
}
