package conformance

import (
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// MD5Hex returns the hex MD5 of s, the form of MD5OfMessageBody.
func MD5Hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// MessageAttributesMD5 computes MD5OfMessageAttributes as the SQS developer
// guide specifies ("Calculating the MD5 message digest for message
// attributes"): for each attribute in name order, the length-prefixed
// (4-byte big-endian) name, data type, a one-byte transport type (1 string,
// 2 binary) and the length-prefixed value.
func MessageAttributesMD5(attrs map[string]sqstypes.MessageAttributeValue) string {
	names := make([]string, 0, len(attrs))
	for n := range attrs {
		names = append(names, n)
	}
	sort.Strings(names)
	h := md5.New()
	put := func(b []byte) {
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	for _, n := range names {
		a := attrs[n]
		dt := aws.ToString(a.DataType)
		put([]byte(n))
		put([]byte(dt))
		if strings.HasPrefix(dt, "Binary") {
			h.Write([]byte{2})
			put(a.BinaryValue)
		} else {
			h.Write([]byte{1})
			put([]byte(aws.ToString(a.StringValue)))
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}
