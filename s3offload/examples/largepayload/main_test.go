package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRun(t *testing.T) {
	var out bytes.Buffer
	log := logrus.New()
	log.SetOutput(&out)
	require.NoError(t, run(context.Background(), []string{"-rows=20000"}, log), out.String())
	assert.Contains(t, out.String(), "received report r-2026-12 with 20000 rows")
	assert.Contains(t, out.String(), "the report arrived whole")
	assert.NotContains(t, out.String(), "level=warning")
}
