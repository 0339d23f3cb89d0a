package codec

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sort"
	"time"
)

// SpecVersion is the CloudEvents specification version of the envelope.
const SpecVersion = "1.0"

// ContentTypeJSON is the datacontenttype of envelopes whose data is JSON.
const ContentTypeJSON = "application/json"

// Envelope is a CloudEvents 1.0 event in JSON structured mode: the fields
// of snssqs.Envelope, documented there, which converts to it. Data is the
// JSON value itself for JSON content, and the raw bytes, carried as
// data_base64, otherwise; Extensions are the top-level members that are
// not CloudEvents attributes.
type Envelope struct {
	SpecVersion, ID, Source, Type, Subject string
	Time                                   time.Time
	DataContentType                        string
	Data                                   []byte
	Extensions                             map[string]any
}

// envelopeKeys are the CloudEvents attributes and data members.
var envelopeKeys = map[string]bool{
	"specversion": true, "id": true, "source": true, "type": true, "subject": true,
	"time": true, "datacontenttype": true, "data": true, "data_base64": true, "dataschema": true,
}

// IsEnvelopeKey reports whether name is a CloudEvents attribute or data
// member, which an extension may not shadow.
func IsEnvelopeKey(name string) bool { return envelopeKeys[name] }

// AppendJSON appends the envelope's JSON to dst. dataValid skips the check
// that JSON data is valid JSON, for callers that have checked it already. Keys are
// written in a fixed order, extensions sorted, without the map and reflection
// of encoding/json: publishing encodes one envelope per event.
func (e Envelope) AppendJSON(dst []byte, dataValid bool) ([]byte, error) {
	jsonData := e.Data != nil && IsJSONContentType(e.DataContentType) && (dataValid || Valid(e.Data))
	dst = append(dst, `{"specversion":`...)
	dst = appendJSONString(dst, e.SpecVersion)
	dst = append(dst, `,"id":`...)
	dst = appendJSONString(dst, e.ID)
	dst = append(dst, `,"source":`...)
	dst = appendJSONString(dst, e.Source)
	dst = append(dst, `,"type":`...)
	dst = appendJSONString(dst, e.Type)
	if e.Subject != "" {
		dst = append(dst, `,"subject":`...)
		dst = appendJSONString(dst, e.Subject)
	}
	if !e.Time.IsZero() {
		dst = append(dst, `,"time":"`...)
		dst = e.Time.UTC().AppendFormat(dst, time.RFC3339Nano)
		dst = append(dst, '"')
	}
	if e.DataContentType != "" {
		dst = append(dst, `,"datacontenttype":`...)
		dst = appendJSONString(dst, e.DataContentType)
	}
	if len(e.Extensions) > 0 {
		keys := make([]string, 0, len(e.Extensions))
		for k := range e.Extensions {
			if envelopeKeys[k] {
				return nil, fmt.Errorf("%w: extension %q shadows a CloudEvents attribute", ErrInvalidEvent, k)
			}
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			dst = append(dst, ',')
			dst = appendJSONString(dst, k)
			dst = append(dst, ':')
			if s, ok := e.Extensions[k].(string); ok { // traceparent and most others: no reflection
				dst = appendJSONString(dst, s)
				continue
			}
			v, err := json.Marshal(e.Extensions[k])
			if err != nil {
				return nil, fmt.Errorf("%w: extension %q: %w", ErrInvalidEvent, k, err)
			}
			dst = append(dst, v...)
		}
	}
	if e.Data != nil {
		if jsonData {
			dst = append(dst, `,"data":`...)
			dst = append(dst, e.Data...)
		} else {
			dst = append(dst, `,"data_base64":"`...)
			dst = base64.StdEncoding.AppendEncode(dst, e.Data)
			dst = append(dst, '"')
		}
	}
	return append(dst, '}'), nil
}

// appendJSONString appends s as a JSON string. Plain printable ASCII (the
// ids, types and sources of almost every event) is copied as is; anything
// else goes through encoding/json for correct escaping.
func appendJSONString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			b, _ := json.Marshal(s) // a string always marshals
			return append(dst, b...)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}

// ParseEnvelope decodes body as a CloudEvents envelope. A body that is not
// a JSON object with a "specversion" member is not one: isEnvelope is
// false, with no error. An envelope fails, wrapping ErrMalformedMessage,
// when specversion is not "1.0", id, source or type is missing, or a member
// has the wrong type. Data and the extensions may alias body.
func ParseEnvelope(body []byte) (e Envelope, isEnvelope bool, err error) {
	keys := object(body)
	if _, ok := keys["specversion"]; !ok {
		return Envelope{}, false, nil
	}
	e, err = fromMembers(keys)
	return e, true, err
}

// fromMembers decodes the CloudEvents envelope whose top-level members are
// raw.
func fromMembers(raw map[string]json.RawMessage) (Envelope, error) {
	str := func(k string) (string, error) {
		v, ok := raw[k]
		if !ok || string(v) == "null" {
			return "", nil
		}
		s, ok := Unquote(v)
		if !ok {
			return "", fmt.Errorf("%w: CloudEvents attribute %q is not a string", ErrMalformedMessage, Clip(k))
		}
		return s, nil
	}
	var out Envelope
	var err error
	fields := []struct {
		key string
		dst *string
	}{
		{"specversion", &out.SpecVersion}, {"id", &out.ID}, {"source", &out.Source},
		{"type", &out.Type}, {"subject", &out.Subject}, {"datacontenttype", &out.DataContentType},
	}
	for _, f := range fields {
		if *f.dst, err = str(f.key); err != nil {
			return Envelope{}, err
		}
	}
	if out.SpecVersion != SpecVersion {
		return Envelope{}, fmt.Errorf("%w: unsupported CloudEvents specversion %q", ErrMalformedMessage, Clip(out.SpecVersion))
	}
	for _, v := range []struct{ key, val string }{{"id", out.ID}, {"source", out.Source}, {"type", out.Type}} {
		if v.val == "" {
			return Envelope{}, fmt.Errorf("%w: CloudEvents attribute %q is required", ErrMalformedMessage, v.key)
		}
	}
	ts, err := str("time")
	if err != nil {
		return Envelope{}, err
	}
	if ts != "" {
		if out.Time, err = time.Parse(time.RFC3339Nano, ts); err != nil {
			return Envelope{}, fmt.Errorf("%w: CloudEvents time %q is not RFC 3339", ErrMalformedMessage, Clip(ts))
		}
	}
	if d, ok := raw["data"]; ok && string(d) != "null" {
		if IsJSONContentType(out.DataContentType) {
			out.Data = []byte(d)
		} else {
			// Non-JSON content in "data" is a JSON string holding the text.
			if s, ok := unquoteBytes(d); ok {
				out.Data = s
			} else {
				out.Data = []byte(d)
			}
		}
	} else if d, ok := raw["data_base64"]; ok && string(d) != "null" {
		s, ok := Unquote(d)
		if !ok {
			return Envelope{}, fmt.Errorf("%w: data_base64 is not a string", ErrMalformedMessage)
		}
		if out.Data, err = base64.StdEncoding.DecodeString(s); err != nil {
			return Envelope{}, fmt.Errorf("%w: data_base64: %v", ErrMalformedMessage, err)
		}
	}
	for k, v := range raw {
		if envelopeKeys[k] {
			continue
		}
		var x any
		if s, ok := Unquote(v); ok { // strings, traceparent among them: no reflection
			x = s
		} else if err := json.Unmarshal(v, &x); err != nil {
			return Envelope{}, fmt.Errorf("%w: extension %q: %v", ErrMalformedMessage, Clip(k), err)
		}
		if out.Extensions == nil {
			out.Extensions = make(map[string]any)
		}
		out.Extensions[k] = x
	}
	return out, nil
}

// IsJSONContentType reports whether ct is JSON: empty (CloudEvents' default
// for JSON format), application/json, or any +json / text/json type.
func IsJSONContentType(ct string) bool {
	if ct == "" {
		return true
	}
	if i := bytes.IndexByte([]byte(ct), ';'); i >= 0 {
		ct = ct[:i]
	}
	ct = string(bytes.TrimSpace([]byte(ct)))
	return ct == ContentTypeJSON || ct == "text/json" || bytes.HasSuffix([]byte(ct), []byte("+json"))
}
