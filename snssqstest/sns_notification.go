package snssqstest

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"maps"
	"slices"
	"strings"
)

// Constants of the notification document SNS delivers.
const (
	snsTimestampLayout = "2006-01-02T15:04:05.000Z"
	snsSigningCertName = "SimpleNotificationService-0000000000000000000000000000000.pem"
)

// notificationJSON formats the JSON document SNS delivers when raw message
// delivery is off, byte for byte in AWS's layout: two-space indent,
// " : " separators, keys in AWS's order. FIFO topics, like AWS, add
// SequenceNumber and omit the signature fields. The signature is not a real
// RSA signature. SigningCertURL has AWS's form (HTTPS, on the region's SNS
// host) so receivers that check it as AWS advises accept it; UnsubscribeURL
// points at the emulator and works with a plain GET.
func (n *snsService) notificationJSON(p snsDeliveryPlan) string {
	type kv struct{ k, v string }
	ts := p.timestamp.UTC().Format(snsTimestampLayout)
	fields := []kv{{"Type", "Notification"}, {"MessageId", p.messageID}}
	if p.sequence != "" {
		fields = append(fields, kv{"SequenceNumber", p.sequence})
	}
	fields = append(fields, kv{"TopicArn", p.topicARN})
	if p.hasSubject {
		fields = append(fields, kv{"Subject", p.subject})
	}
	fields = append(fields, kv{"Message", p.message}, kv{"Timestamp", ts})
	if p.sequence == "" {
		fields = append(fields,
			kv{"SignatureVersion", p.signatureVersion},
			kv{"Signature", snsFakeSignature(p, ts)},
			kv{"SigningCertURL", n.signingCertURL()},
		)
	}
	fields = append(fields, kv{"UnsubscribeURL", n.s.url + "/?Action=Unsubscribe&SubscriptionArn=" + p.subscriptionARN})

	var b strings.Builder
	b.WriteString("{\n")
	for i, f := range fields {
		if i > 0 {
			b.WriteString(",\n")
		}
		b.WriteString("  ")
		b.WriteString(snsJSONString(f.k))
		b.WriteString(" : ")
		b.WriteString(snsJSONString(f.v))
	}
	if len(p.attrs) > 0 {
		b.WriteString(",\n  \"MessageAttributes\" : {\n")
		for i, name := range slices.Sorted(maps.Keys(p.attrs)) {
			a := p.attrs[name]
			value := a.StringValue
			if snsAttrBaseType(a.DataType) == "Binary" {
				value = base64.StdEncoding.EncodeToString(a.BinaryValue)
			}
			if i > 0 {
				b.WriteString(",\n")
			}
			b.WriteString("    ")
			b.WriteString(snsJSONString(name))
			b.WriteString(` : {"Type":`)
			b.WriteString(snsJSONString(a.DataType))
			b.WriteString(`,"Value":`)
			b.WriteString(snsJSONString(value))
			b.WriteString("}")
		}
		b.WriteString("\n  }")
	}
	b.WriteString("\n}")
	return b.String()
}

// snsJSONString encodes s as a JSON string without HTML escaping.
func snsJSONString(s string) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // encoding a string cannot fail
	return strings.TrimSuffix(b.String(), "\n")
}

// snsFakeSignature stands in for the SHA1withRSA signature: the base64 of a
// SHA-1 over the string AWS signs. It is deterministic but not verifiable.
func snsFakeSignature(p snsDeliveryPlan, ts string) string {
	var b strings.Builder
	b.WriteString("Message\n" + p.message + "\nMessageId\n" + p.messageID + "\n")
	if p.hasSubject {
		b.WriteString("Subject\n" + p.subject + "\n")
	}
	b.WriteString("Timestamp\n" + ts + "\nTopicArn\n" + p.topicARN + "\nType\nNotification\n")
	sum := sha1.Sum([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// signingCertURL returns the certificate URL AWS puts in notifications:
// https://sns.REGION.amazonaws.com/SimpleNotificationService-….pem (with the
// amazonaws.com.cn domain in the China regions).
func (n *snsService) signingCertURL() string {
	domain := "amazonaws.com"
	if strings.HasPrefix(n.region, "cn-") {
		domain = "amazonaws.com.cn"
	}
	return "https://sns." + n.region + "." + domain + "/" + snsSigningCertName
}
