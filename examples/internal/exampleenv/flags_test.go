package exampleenv_test

import (
	"context"
	"flag"
	"io"
	"runtime"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/snssqs/snssqs/examples/internal/exampleenv"
	"github.com/snssqs/snssqs/examples/internal/exampletest"
)

func parseFlags(t *testing.T, args ...string) *exampleenv.Flags {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	f := exampleenv.RegisterFlags(fs, "eu-west-1")
	require.NoError(t, fs.Parse(args))
	return f
}

func TestRegisterFlagsDefaults(t *testing.T) {
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	exampleenv.RegisterFlags(fs, "eu-west-1")
	defaults := make(map[string]string)
	fs.VisitAll(func(f *flag.Flag) { defaults[f.Name] = f.DefValue })
	assert.Equal(t, map[string]string{
		"endpoint": "http://127.0.0.1:4566",
		"aws":      "false",
		"region":   "eu-west-1",
		"timeout":  exampleenv.DefaultTimeout.String(),
	}, defaults)
}

func TestWithTimeoutCause(t *testing.T) {
	f := parseFlags(t, "-timeout=1ns")
	ctx, cancel := f.WithTimeout(context.Background())
	defer cancel()
	<-ctx.Done()
	assert.ErrorIs(t, ctx.Err(), context.DeadlineExceeded)
	assert.ErrorIs(t, context.Cause(ctx), context.DeadlineExceeded)
	assert.Contains(t, context.Cause(ctx).Error(), "-timeout 1ns", "the cause names the flag")
}

func TestConnectAWSAndEndpointExcludeEachOther(t *testing.T) {
	f := parseFlags(t, "-aws", "-endpoint=http://127.0.0.1:1")
	log, hook := logtest.NewNullLogger()
	env, accountID, err := f.Connect(context.Background(), log)
	require.Error(t, err)
	assert.Nil(t, env)
	assert.Empty(t, accountID)
	assert.Empty(t, hook.AllEntries())
}

func TestConnectEmbeddedEmulator(t *testing.T) {
	f := parseFlags(t, "-endpoint=")
	log, hook := logtest.NewNullLogger()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	env, accountID, err := f.Connect(ctx, log)
	require.NoError(t, err)
	defer env.Close()
	assert.NotEmpty(t, accountID)
	assert.Equal(t, "eu-west-1", env.Config.Region)
	e := hook.LastEntry()
	require.NotNil(t, e)
	assert.Equal(t, "connected", e.Message)
	assert.Equal(t, logrus.InfoLevel, e.Level)
	assert.Equal(t, logrus.Fields{"target": "embedded emulator", "account": accountID}, e.Data)
}

func TestConnectClosesTheEmulatorWhenSTSFails(t *testing.T) {
	before := runtime.NumGoroutine()
	f := parseFlags(t, "-endpoint=")
	log, _ := logtest.NewNullLogger()
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the emulator starts, the STS call fails
	env, _, err := f.Connect(ctx, log)
	require.ErrorIs(t, err, context.Canceled)
	assert.Nil(t, env)
	exampletest.RequireNoLeak(t, before) // the emulator was closed
}
