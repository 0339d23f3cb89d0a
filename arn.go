package snssqs

import (
	"fmt"
	"strings"

	"github.com/snssqs/snssqs/internal/awslimits"
)

// Partition names, as they appear in ARNs.
const (
	partitionAWS      = "aws"
	partitionChina    = "aws-cn"
	partitionGovCloud = "aws-us-gov"
	partitionISO      = "aws-iso"
	partitionISOB     = "aws-iso-b"
	partitionISOE     = "aws-iso-e"
	partitionISOF     = "aws-iso-f"
	partitionEUSC     = "aws-eusc"
)

// fifoSuffix ends the name of every FIFO topic and queue.
const fifoSuffix = awslimits.FIFOSuffix

// maxTopicNameLen is the SNS limit on topic names, ".fifo" included.
const maxTopicNameLen = 256

// regionPrefixes maps region name prefixes to their partition (the prefixes
// are disjoint); every other region is in the aws partition.
var regionPrefixes = [...]struct{ prefix, partition string }{
	{"cn-", partitionChina},
	{"us-gov-", partitionGovCloud},
	{"us-isob-", partitionISOB},
	{"us-isof-", partitionISOF},
	{"us-iso-", partitionISO},
	{"eu-isoe-", partitionISOE},
	{"eusc-", partitionEUSC},
}

// partitionForRegion returns the partition a region belongs to: aws-cn for
// cn-*, aws-us-gov for us-gov-*, aws-iso for us-iso-*, aws-iso-b for
// us-isob-*, aws-iso-e for eu-isoe-*, aws-iso-f for us-isof-*, aws-eusc for
// eusc-*, and aws for every other region.
func partitionForRegion(region string) string {
	for _, p := range regionPrefixes {
		if strings.HasPrefix(region, p.prefix) {
			return p.partition
		}
	}
	return partitionAWS
}

func knownPartition(p string) bool {
	switch p {
	case partitionAWS, partitionChina, partitionGovCloud, partitionISO,
		partitionISOB, partitionISOE, partitionISOF, partitionEUSC:
		return true
	}
	return false
}

// BuildTopicARN returns the ARN of topic name in accountID and region, with
// the partition of the region: aws-cn for cn-*, aws-us-gov for us-gov-*,
// aws-iso for us-iso-*, aws-iso-b for us-isob-*, aws-iso-e for eu-isoe-*,
// aws-iso-f for us-isof-*, aws-eusc for eusc-*, and aws for every other
// region. It does not validate its arguments; ParseTopicARN does.
func BuildTopicARN(region, accountID, name string) string {
	return "arn:" + partitionForRegion(region) + ":sns:" + region + ":" + accountID + ":" + name
}

// TopicARN is a parsed SNS topic ARN,
// arn:PARTITION:sns:REGION:ACCOUNT:NAME.
type TopicARN struct {
	// Partition is the AWS partition, e.g. "aws" or "aws-cn".
	Partition string
	// Region is the topic's region, e.g. "eu-west-1".
	Region string
	// AccountID is the 12-digit id of the account owning the topic.
	AccountID string
	// Name is the topic name, ".fifo" suffix included for FIFO topics.
	Name string
}

// FIFO reports whether the topic is a FIFO topic (its name ends in ".fifo").
func (a TopicARN) FIFO() bool { return strings.HasSuffix(a.Name, fifoSuffix) }

// String returns the ARN in its canonical text form.
func (a TopicARN) String() string {
	return "arn:" + a.Partition + ":sns:" + a.Region + ":" + a.AccountID + ":" + a.Name
}

// ParseTopicARN parses and validates an SNS topic ARN. It fails, wrapping
// ErrInvalidARN, unless s has the form arn:PARTITION:sns:REGION:ACCOUNT:NAME
// with a known partition matching the region, a 12-digit account id and a
// valid topic name (1-256 characters of A-Z, a-z, 0-9, "_" and "-", with an
// optional ".fifo" suffix counted in the 256). Subscription ARNs (which have
// a seventh field) are rejected.
func ParseTopicARN(s string) (TopicARN, error) {
	parts := strings.Split(s, ":")
	if len(parts) != 6 {
		return TopicARN{}, fmt.Errorf("%w: %q: want arn:PARTITION:sns:REGION:ACCOUNT:TOPIC", ErrInvalidARN, s)
	}
	if parts[0] != "arn" {
		return TopicARN{}, fmt.Errorf("%w: %q: does not start with \"arn:\"", ErrInvalidARN, s)
	}
	a := TopicARN{Partition: parts[1], Region: parts[3], AccountID: parts[4], Name: parts[5]}
	if !knownPartition(a.Partition) {
		return TopicARN{}, fmt.Errorf("%w: %q: unknown partition %q", ErrInvalidARN, s, a.Partition)
	}
	if parts[2] != "sns" {
		return TopicARN{}, fmt.Errorf("%w: %q: service is %q, want \"sns\"", ErrInvalidARN, s, parts[2])
	}
	if !validRegion(a.Region) {
		return TopicARN{}, fmt.Errorf("%w: %q: invalid region %q", ErrInvalidARN, s, a.Region)
	}
	if want := partitionForRegion(a.Region); want != a.Partition {
		return TopicARN{}, fmt.Errorf("%w: %q: region %q belongs to partition %q, not %q", ErrInvalidARN, s, a.Region, want, a.Partition)
	}
	if !validAccountID(a.AccountID) {
		return TopicARN{}, fmt.Errorf("%w: %q: account id %q is not 12 digits", ErrInvalidARN, s, a.AccountID)
	}
	if err := validateTopicName(a.Name); err != nil {
		return TopicARN{}, fmt.Errorf("%w: %q: %v", ErrInvalidARN, s, err)
	}
	return a, nil
}

// validRegion accepts region names such as "us-east-1" or "us-isob-east-1":
// lowercase letters, digits and hyphens, at least one hyphen, no empty
// segment.
func validRegion(r string) bool {
	if r == "" || !strings.Contains(r, "-") {
		return false
	}
	for _, seg := range strings.Split(r, "-") {
		if seg == "" {
			return false
		}
		for i := 0; i < len(seg); i++ {
			c := seg[i]
			if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
				return false
			}
		}
	}
	return true
}

func validAccountID(id string) bool {
	if len(id) != 12 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < '0' || id[i] > '9' {
			return false
		}
	}
	return true
}

// validateTopicName applies the SNS topic name rules.
func validateTopicName(name string) error {
	if name == "" {
		return fmt.Errorf("empty topic name")
	}
	if len(name) > maxTopicNameLen {
		return fmt.Errorf("topic name is %d characters, over the limit of %d", len(name), maxTopicNameLen)
	}
	base := strings.TrimSuffix(name, fifoSuffix)
	if base == "" {
		return fmt.Errorf("topic name %q has nothing before %q", name, fifoSuffix)
	}
	for i := 0; i < len(base); i++ {
		c := base[i]
		if !asciiAlnum(c) && c != '_' && c != '-' {
			return fmt.Errorf("topic name %q has invalid character %q (allowed: A-Z a-z 0-9 _ -, and a %q suffix)", name, c, fifoSuffix)
		}
	}
	return nil
}

func asciiAlnum(c byte) bool {
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}
