package exampleenv

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/sirupsen/logrus"
)

// DefaultTimeout is the default of -timeout: how long an example may take
// before it gives up instead of hanging.
const DefaultTimeout = 30 * time.Second

// Flags are the command-line flags every example accepts.
type Flags struct {
	endpoint *string
	realAWS  *bool
	region   *string
	timeout  *time.Duration
}

// RegisterFlags adds -endpoint, -aws, -region and -timeout to fs.
func RegisterFlags(fs *flag.FlagSet, defaultRegion string) *Flags {
	return &Flags{
		endpoint: fs.String("endpoint", os.Getenv("AWS_ENDPOINT_URL"), "SNS/SQS endpoint, e.g. http://localhost:4566 for LocalStack (default: $AWS_ENDPOINT_URL, else the embedded emulator)"),
		realAWS:  fs.Bool("aws", false, "use real AWS with the default credential chain (creates resources in your account)"),
		region:   fs.String("region", defaultRegion, "AWS region"),
		timeout:  fs.Duration("timeout", DefaultTimeout, "give up if the example has not done its work within this time"),
	}
}

// WithTimeout returns ctx bounded by -timeout. When the time is up,
// context.Cause of the returned context says so and wraps
// context.DeadlineExceeded.
func (f *Flags) WithTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeoutCause(ctx, *f.timeout, fmt.Errorf("gave up after -timeout %v: %w", *f.timeout, context.DeadlineExceeded))
}

// Connect sets up the environment chosen by the flags (see Setup), asks STS
// for the account id, as the article's services do, and logs "connected"
// with the target and the account. Call Env.Close when done.
func (f *Flags) Connect(ctx context.Context, log logrus.FieldLogger) (*Env, string, error) {
	env, err := f.Setup(ctx, log)
	if err != nil {
		return nil, "", err
	}
	accountID, err := env.AccountID(ctx)
	if err != nil {
		env.Close()
		return nil, "", err
	}
	log.WithFields(logrus.Fields{"target": env.Target, "account": accountID}).Info("connected")
	return env, accountID, nil
}
