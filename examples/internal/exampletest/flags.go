package exampletest

import (
	"context"
	"flag"
	"runtime"
	"testing"

	logtest "github.com/sirupsen/logrus/hooks/test"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/snssqs/snssqs/examples/internal/exampleenv"
)

// CheckFlags checks the flags every example shares, against the embedded
// emulator: the program gives up with an error wrapping
// context.DeadlineExceeded instead of hanging when -timeout is too short
// for its work, -h returns flag.ErrHelp (which exampleenv.Main treats as
// success), and an unknown flag is an error. None leaves a goroutine
// behind.
func CheckFlags(t *testing.T, run exampleenv.RunFunc) {
	t.Helper()
	cases := []struct {
		name string
		args []string
		want func(t *testing.T, err error)
	}{
		{"timeout", []string{"-timeout=1ns"}, func(t *testing.T, err error) {
			require.Error(t, err)
			assert.ErrorIs(t, err, context.DeadlineExceeded)
		}},
		{"help", []string{"-h"}, func(t *testing.T, err error) {
			assert.ErrorIs(t, err, flag.ErrHelp)
		}},
		{"unknown flag", []string{"-no-such-flag"}, func(t *testing.T, err error) {
			require.Error(t, err)
			assert.NotErrorIs(t, err, flag.ErrHelp)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := runtime.NumGoroutine()
			log, _ := logtest.NewNullLogger()
			c.want(t, run(context.Background(), append([]string{"-endpoint="}, c.args...), log))
			RequireNoLeak(t, before)
		})
	}
}
