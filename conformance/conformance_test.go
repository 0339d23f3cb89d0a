package conformance

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/snssqs/snssqs/snssqstest"
)

// TestConformance runs the suite against SNSSQS_TEST_ENDPOINT when it is set
// (SNSSQS_TEST_TARGET names it: "moto", or anything else for an external
// endpoint; the value "aws" for the endpoint means the real AWS endpoints
// of AWS_REGION), and against an in-process snssqstest otherwise.
func TestConformance(t *testing.T) {
	endpoint := os.Getenv("SNSSQS_TEST_ENDPOINT")
	if endpoint == "" {
		srv := snssqstest.Run(t)
		RunAll(t, NewEnv(srv.AWSConfig(), TargetSNSSQSTest))
		return
	}
	target := TargetExternal
	if strings.EqualFold(os.Getenv("SNSSQS_TEST_TARGET"), string(TargetMoto)) {
		target = TargetMoto
	}
	region := os.Getenv("AWS_REGION")
	if region == "" {
		region = "us-east-1"
	}
	creds := credentials.NewStaticCredentialsProvider("test", "test", "")
	if id, secret := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"); target == TargetExternal && id != "" && secret != "" {
		creds = credentials.NewStaticCredentialsProvider(id, secret, os.Getenv("AWS_SESSION_TOKEN"))
	}
	cfg := aws.Config{Region: region, Credentials: creds}
	if endpoint != "aws" {
		cfg.BaseEndpoint = aws.String(endpoint)
		// Local endpoints answer fast enough to trigger the SDK/net/http
		// race that snssqstest.NewHTTPClient works around.
		cfg.HTTPClient = snssqstest.NewHTTPClient()
	}
	t.Logf("conformance target %s at %s (%s)", target, endpoint, region)
	RunAll(t, NewEnv(cfg, target))
}

// The README reports the number of scenarios; this keeps it true.
func TestReadmeCountsTheScenarios(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	want := fmt.Sprintf("The suite has %d scenarios.", len(Scenarios()))
	assert.Contains(t, string(readme), want)
}
