package batch

import (
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// EntryID is the id of the i-th entry of a batch request.
func EntryID(i int) *string { return aws.String(strconv.Itoa(i)) }

// EntryIndex maps the id of an entry of a batch response back to its index
// in a request of n entries; ok is false for an id the request did not
// have.
func EntryIndex(id *string, n int) (i int, ok bool) {
	i, err := strconv.Atoi(aws.ToString(id))
	if err != nil || i < 0 || i >= n {
		return 0, false
	}
	return i, true
}
