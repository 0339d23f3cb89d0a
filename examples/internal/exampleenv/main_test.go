package exampleenv

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"testing"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestExitCode(t *testing.T) {
	cases := []struct {
		name     string
		err      error
		wantCode int
		wantLog  bool
	}{
		{"success", nil, 0, false},
		{"help", fmt.Errorf("parsing: %w", flag.ErrHelp), 0, false},
		{"failure", errors.New("boom"), 1, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			log, hook := logtest.NewNullLogger()
			var gotArgs []string
			run := func(ctx context.Context, args []string, _ logrus.FieldLogger) error {
				gotArgs = args
				return c.err
			}
			assert.Equal(t, c.wantCode, exitCode(context.Background(), "demo", run, []string{"-x"}, log))
			assert.Equal(t, []string{"-x"}, gotArgs, "run gets the arguments")
			if !c.wantLog {
				assert.Empty(t, hook.AllEntries())
				return
			}
			require.Len(t, hook.AllEntries(), 1)
			e := hook.LastEntry()
			assert.Equal(t, logrus.ErrorLevel, e.Level)
			assert.Equal(t, "demo failed", e.Message)
			assert.Equal(t, c.err, e.Data[logrus.ErrorKey])
		})
	}
}
