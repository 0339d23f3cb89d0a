package exampleenv

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/sirupsen/logrus"

	"github.com/snssqs/snssqs/snssqstest"
)

// Env is where an example runs.
type Env struct {
	// Config is the AWS configuration for the SNS, SQS and STS clients.
	Config aws.Config
	// Target describes the backend for log lines: "embedded emulator",
	// an endpoint URL, or "AWS".
	Target string

	closeFn func()
}

// Setup returns the environment chosen by the flags. Call Close when done.
func (f *Flags) Setup(ctx context.Context, log logrus.FieldLogger) (*Env, error) {
	switch {
	case *f.realAWS && *f.endpoint != "":
		return nil, fmt.Errorf("-aws and -endpoint exclude each other")
	case *f.realAWS:
		cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(*f.region))
		if err != nil {
			return nil, fmt.Errorf("loading AWS config: %w", err)
		}
		return &Env{Config: cfg, Target: "AWS", closeFn: func() {}}, nil
	case *f.endpoint != "":
		// LocalStack and moto accept any credentials; keep the user's if set
		// (environment, shared files, SSO, a process), but never ask EC2's
		// instance metadata service, which off EC2 only times out and warns.
		cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(*f.region),
			config.WithEC2IMDSClientEnableState(imds.ClientDisabled))
		if err != nil {
			return nil, fmt.Errorf("loading AWS config: %w", err)
		}
		if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
			cfg.Credentials = credentials.NewStaticCredentialsProvider("test", "test", "")
		}
		cfg.BaseEndpoint = aws.String(*f.endpoint)
		// A local endpoint answers fast enough to trigger an SDK/net/http
		// race that snssqstest.NewHTTPClient works around.
		cfg.HTTPClient = snssqstest.NewHTTPClient()
		return &Env{Config: cfg, Target: *f.endpoint, closeFn: func() {}}, nil
	default:
		srv, err := snssqstest.NewServer(snssqstest.WithRegion(*f.region))
		if err != nil {
			return nil, fmt.Errorf("starting the embedded emulator: %w", err)
		}
		log.WithField("url", srv.URL()).Info("started the embedded SNS/SQS emulator (use -endpoint for LocalStack, -aws for AWS)")
		return &Env{Config: srv.AWSConfig(), Target: "embedded emulator", closeFn: srv.Close}, nil
	}
}

// AccountID asks STS who we are, as the article's services do.
func (e *Env) AccountID(ctx context.Context) (string, error) {
	out, err := sts.NewFromConfig(e.Config).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", fmt.Errorf("sts GetCallerIdentity: %w", err)
	}
	return aws.ToString(out.Account), nil
}

// Close stops the embedded emulator, if one was started.
func (e *Env) Close() { e.closeFn() }
