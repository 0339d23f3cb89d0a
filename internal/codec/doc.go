// Package codec is the wire format of snssqs: the CloudEvents 1.0 JSON
// envelope (Envelope: AppendJSON to encode, Object and FromMembers to
// decode) and the SNS notification an SQS queue receives when raw message
// delivery is off (ParseNotification). Both layers of every received
// message go through one small validating JSON scanner (Valid, Object,
// Unquote) that accepts exactly what encoding/json accepts, without its
// reflection. The package knows nothing of publishers or subscribers.
package codec
