package codec

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// jsonScanSeeds cover every branch of the scanner: each JSON type, escapes,
// surrogates, invalid UTF-8, case-folded and escaped member names, nesting
// and malformed input.
var jsonScanSeeds = []string{
	`{}`, ` { } `, `{"a":1}`, `{"a":-0.5e+10,"b":[1,2,{"c":null}],"d":true,"e":false}`,
	`{"a":"x\"y\\z\/\b\f\n\r\t"}`, `{"a":"\u00e9\ud83d\ude00"}`, `{"a":"\ud800"}`, `{"a":"\ud800\u0041"}`,
	"{\"a\":\"\xff\"}", "{\"\xff\":1}", `{"T\u0079pe":"Notification"}`, `{"type":"Notification","Type":"x"}`,
	`{"Type":"Notification","Type":"Other"}`, `{"Meſſage":"x"}`, `{"a":1,}`, `{"a" 1}`, `{"a":01}`, `{"a":1.}`,
	`{"a":.5}`, `{"a":1e}`, `{"a":tru}`, `{"a":"x`, "{\"a\":\"\x01\"}", `{"a":"\x"}`, `{"a":"\u12"}`, `[1,2]`, `"s"`,
	`{"a":[1,]}`, `{"a":[]}`, `{} x`, `{"a":{"b":{"c":{}}}}`, `nul`, ``, `   `,
	`{"Type":"Notification","MessageId":"m","TopicArn":"arn:aws:sns:us-east-1:1:t","Message":"{\"k\":1}",` +
		`"MessageAttributes":{"type":{"Type":"String","Value":"x"},"b":{"Type":"Binary","Value":"AA=="}}}`,
	`{"Type":"Notification","Message":null}`, `{"Type":"Notification","Message":5}`,
	`{"Type":"Notification","Message":"m","MessageAttributes":null}`,
	`{"Type":"Notification","Message":"m","MessageAttributes":"x"}`,
	`{"Type":"Notification","Message":"m","MessageAttributes":{"a":null}}`,
	`{"Type":"Notification","Message":"m","MessageAttributes":{"a":{"type":"String","Value":1}}}`,
	`{"Type":"Notification","Message":"m","MessageAttributes":{"a":{"Type":"String","Value":"v","Extra":[1]}}}`,
}

// FuzzJSONScanner checks the scanner against encoding/json: the same
// documents are valid, objects have the same members, strings decode to the
// same text, and a notification the scanner decodes is the one
// encoding/json decodes.
func FuzzJSONScanner(f *testing.F) {
	for _, s := range jsonScanSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := Valid(b), json.Valid(b); got != want {
			t.Fatalf("Valid(%q) = %v, json.Valid = %v", b, got, want)
		}

		var want map[string]json.RawMessage
		isObject := json.Valid(b) && bytes.HasPrefix(bytes.TrimLeft(b, " \t\r\n"), []byte("{"))
		if isObject {
			require.NoError(t, json.Unmarshal(b, &want))
		}
		got := object(b)
		if !isObject {
			if got != nil {
				t.Fatalf("object(%q) = %v for a non-object", b, got)
			}
		} else {
			require.Len(t, got, len(want), "members of %q", b)
			for k, v := range want {
				assert.Equal(t, string(v), string(got[k]), "member %q of %q", k, b)
			}
			for _, v := range got { // every member value that is a string decodes alike
				var ws string
				if v[0] == '"' { // (encoding/json also accepts null into a string)
					require.NoError(t, json.Unmarshal(v, &ws))
					gs, ok := Unquote(v)
					require.True(t, ok, "Unquote(%q)", v)
					assert.Equal(t, ws, gs, "Unquote(%q)", v)
				} else if _, ok := Unquote(v); ok {
					t.Fatalf("Unquote(%q) accepted a non-string", v)
				}
			}
		}

		var wantN notificationWire
		wantErr := json.Unmarshal(b, &wantN)
		gotN, valid, decoded := scanNotification(b)
		if valid != isObject {
			t.Fatalf("scanNotification(%q): valid = %v, want %v", b, valid, isObject)
		}
		if gotN.hasMessage { // the scanner sets the bytes, encoding/json the string
			s := string(gotN.message)
			gotN.Message, gotN.message, gotN.hasMessage = &s, nil, false
		}
		if decoded {
			require.NoError(t, wantErr, "scanNotification decoded %q, which encoding/json rejects", b)
			assert.Equal(t, wantN, gotN, "notification %q", b)
		}
	})
}

func TestScanNotificationDecodesSNSNotifications(t *testing.T) {
	body := []byte(`{"Type":"Notification","MessageId":"m1","TopicArn":"arn:aws:sns:us-east-1:123456789012:t",` +
		`"Subject":"s","Message":"{\"specversion\":\"1.0\",\"data\":{\"x\":\"a\\\\b\"}}","Timestamp":"2026-01-01T00:00:00.000Z",` +
		`"SignatureVersion":"1","Signature":"c2ln","SigningCertURL":"https://x","UnsubscribeURL":"https://y",` +
		`"MessageAttributes":{"type":{"Type":"String","Value":"card.created"}}}`)
	w, valid, decoded := scanNotification(body)
	require.True(t, valid)
	require.True(t, decoded, "an SNS notification takes the fast path")
	msg, ok := w.messageBytes()
	require.True(t, ok)
	assert.Equal(t, `{"specversion":"1.0","data":{"x":"a\\b"}}`, string(msg))
	assert.Equal(t, "m1", w.MessageID)
	assert.Equal(t, map[string]Attribute{"type": {Type: "String", Value: "card.created"}}, w.MessageAttributes)

	// A member spelled in another case is left to encoding/json, which
	// matches it case-insensitively.
	_, valid, decoded = scanNotification([]byte(`{"type":"Notification"}`))
	assert.True(t, valid)
	assert.False(t, decoded)
}
