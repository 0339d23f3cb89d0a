package conformance

import (
	"errors"
	"testing"

	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/require"
)

// RequireAPIError asserts that err is (or wraps) the modeled AWS error T,
// reachable with errors.As, and that its smithy.APIError code is code. The
// codes are the ones the service models declare with the awsQueryError
// trait (what SQS sends in x-amzn-query-error and SNS in Error/Code), for
// example "AWS.SimpleQueueService.NonExistentQueue" for QueueDoesNotExist
// and "NotFound" for NotFoundException. An empty code skips the code check.
func RequireAPIError[T error](t *testing.T, err error, code string) T {
	t.Helper()
	require.Error(t, err)
	var typed T
	require.Truef(t, errors.As(err, &typed), "error %T (%v) is not a %T", err, err, typed)
	if code != "" {
		var apiErr smithy.APIError
		require.True(t, errors.As(err, &apiErr), "error %T is not a smithy.APIError", err)
		require.Equal(t, code, apiErr.ErrorCode(), "smithy APIError code")
	}
	return typed
}

// RequireErrorCode asserts that err is a smithy.APIError with code (for
// errors the models do not declare, such as MissingParameter).
func RequireErrorCode(t *testing.T, err error, code string) {
	t.Helper()
	require.Error(t, err)
	var apiErr smithy.APIError
	require.Truef(t, errors.As(err, &apiErr), "error %T (%v) is not a smithy.APIError", err, err)
	require.Equal(t, code, apiErr.ErrorCode(), "smithy APIError code (message %q)", apiErr.ErrorMessage())
}
