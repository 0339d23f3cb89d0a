// Package codec is the wire format of snssqs: the CloudEvents 1.0 JSON
// envelope (Envelope.AppendJSON encodes it, ParseEnvelope decodes it) and
// the SNS notification an SQS queue receives when raw message delivery is
// off (ParseNotification). Both layers of every received message go
// through one small validating JSON scanner, which accepts exactly what
// encoding/json accepts, without its reflection; Valid and Unquote expose
// it. The package knows nothing of publishers or subscribers.
package codec
