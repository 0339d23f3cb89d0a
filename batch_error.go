package snssqs

import (
	"errors"
	"fmt"
	"strings"

	"github.com/aws/smithy-go"
)

// BatchError is the error PublishBatch returns when some entries failed. It
// names each failed entry; entries not listed succeeded. errors.Is(err,
// ErrBatchFailed) holds, and errors.Is / errors.As also reach each entry's
// error, e.g. a sentinel such as ErrMessageTooLarge, context.Canceled, or
// an AWS error (smithy.APIError).
type BatchError struct {
	// Failed lists the failed entries in index order.
	Failed []BatchEntryError
	// Total is the number of entries in the batch.
	Total int
}

// BatchEntryError describes one failed batch entry.
type BatchEntryError struct {
	// Index is the entry's position in the slice passed to PublishBatch.
	Index int
	// Code is the AWS error code, e.g. "InvalidParameter" or
	// "KMSThrottling"; empty when the entry failed before reaching SNS
	// (validation, cancellation, shutdown).
	Code string
	// Message is the AWS error message, or the error text when Code is empty.
	Message string
	// SenderFault reports whether the failure was the caller's fault (SNS
	// SenderFault, or a validation error); such entries should not be
	// retried unchanged.
	SenderFault bool
	// Err is the entry's error.
	Err error
}

// Error summarises the failed entries.
func (e *BatchError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%v: %d of %d entries failed", ErrBatchFailed, len(e.Failed), e.Total)
	const maxListed = 5
	for i, f := range e.Failed {
		if i == maxListed {
			fmt.Fprintf(&b, "; and %d more", len(e.Failed)-maxListed)
			break
		}
		fmt.Fprintf(&b, "; entry %d: %v", f.Index, f.Err)
	}
	return b.String()
}

// Unwrap returns ErrBatchFailed followed by each failed entry's error.
func (e *BatchError) Unwrap() []error {
	errs := make([]error, 0, 1+len(e.Failed))
	errs = append(errs, ErrBatchFailed)
	for _, f := range e.Failed {
		errs = append(errs, f.Err)
	}
	return errs
}

// newBatchEntryError describes the failure err of entry index, taking code,
// message and fault from an AWS error when err holds one.
func newBatchEntryError(index int, err error) BatchEntryError {
	f := BatchEntryError{Index: index, Err: err, Message: err.Error()}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		f.Code = apiErr.ErrorCode()
		f.Message = apiErr.ErrorMessage()
		f.SenderFault = apiErr.ErrorFault() == smithy.FaultClient
		return f
	}
	f.SenderFault = isValidationError(err)
	return f
}

// isValidationError reports whether err is one of the Publisher's
// validation failures, which are the caller's fault.
func isValidationError(err error) bool {
	for _, s := range [...]error{ErrInvalidARN, ErrInvalidEvent, ErrMessageTooLarge, ErrInvalidAttribute, ErrMissingGroupID} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}
