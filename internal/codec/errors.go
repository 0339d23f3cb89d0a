package codec

import "errors"

// The codec's sentinel errors, which package snssqs exports under the same
// names.
var (
	// ErrInvalidEvent marks an envelope that cannot be encoded.
	ErrInvalidEvent = errors.New("snssqs: invalid event")
	// ErrMalformedMessage marks a body that claims to be an SNS
	// notification or a CloudEvents envelope and is not a valid one.
	ErrMalformedMessage = errors.New("snssqs: malformed message")
)
