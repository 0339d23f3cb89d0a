package exampleenv

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
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

// With -endpoint and no credentials anywhere, Setup falls back to test/test
// without asking EC2's instance metadata service (off EC2 that call only
// times out and prints a warning).
func TestSetupWithEndpointMakesNoIMDSCall(t *testing.T) {
	var imdsCalls atomic.Int32
	imdsSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		imdsCalls.Add(1)
		http.Error(w, "no", http.StatusNotFound)
	}))
	defer imdsSrv.Close()
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "", "AWS_PROFILE": "",
		"AWS_CONFIG_FILE": filepath.Join(dir, "config"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "", "AWS_CONTAINER_CREDENTIALS_FULL_URI": "", "AWS_WEB_IDENTITY_TOKEN_FILE": "",
		"AWS_EC2_METADATA_DISABLED": "", "AWS_EC2_METADATA_SERVICE_ENDPOINT": imdsSrv.URL,
	} {
		t.Setenv(k, v)
	}
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	f := RegisterFlags(fs, "us-east-1")
	require.NoError(t, fs.Parse([]string{"-endpoint", "http://127.0.0.1:4566"}))
	env, err := f.Setup(context.Background(), logrus.New())
	require.NoError(t, err)
	defer env.Close()
	creds, err := env.Config.Credentials.Retrieve(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "test", creds.AccessKeyID)
	assert.Zero(t, imdsCalls.Load(), "no call to the instance metadata service")
}
