package codec

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

// A small validating JSON scanner for the two layers every received message
// goes through (the SNS notification and the CloudEvents envelope). It
// visits an object's members as raw byte spans without reflection or
// copying, where encoding/json scans a document twice (validation, then
// decoding) and allocates for every member. It accepts exactly the
// documents encoding/json accepts (a differential fuzz test checks it);
// callers fall back to encoding/json for anything unusual, such as escaped
// keys.

// jsonMaxDepth is encoding/json's nesting limit.
const jsonMaxDepth = 10000

// members calls fn with the raw key (between its quotes, escapes
// undecoded) and the raw value of each member of the JSON object doc, which
// may be surrounded by whitespace and nothing else. It reports whether doc is
// a valid JSON object; fn may have been called for members before an
// invalid part is found.
func members(doc []byte, fn func(key, val []byte)) bool {
	i := skipSpace(doc, 0)
	if i == len(doc) || doc[i] != '{' {
		return false
	}
	i = scanObject(doc, i, 1, fn)
	return i >= 0 && skipSpace(doc, i) == len(doc)
}

// Valid reports whether doc is one valid JSON value, as json.Valid does.
func Valid(doc []byte) bool {
	i := skipValue(doc, skipSpace(doc, 0), 0)
	return i >= 0 && skipSpace(doc, i) == len(doc)
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// scanObject scans the object starting at b[i] == '{' and returns the index
// just past it, or -1 if it is invalid. fn, if not nil, gets each member.
func scanObject(b []byte, i, depth int, fn func(key, val []byte)) int {
	if depth > jsonMaxDepth {
		return -1
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return -1
		}
		ks := i
		if i = skipString(b, i); i < 0 {
			return -1
		}
		key := b[ks+1 : i-1]
		if i = skipSpace(b, i); i >= len(b) || b[i] != ':' {
			return -1
		}
		vs := skipSpace(b, i+1)
		if i = skipValue(b, vs, depth); i < 0 {
			return -1
		}
		if fn != nil {
			fn(key, b[vs:i])
		}
		var more bool
		if i, more = afterElement(b, i, '}'); !more {
			return i
		}
	}
}

// afterElement reads what follows a member or element of an object or array
// that ends at b[i]: a comma, after which it returns the index of the next
// one and more; or the closing end byte, after which it returns the index
// just past it. It returns -1 when neither follows.
func afterElement(b []byte, i int, end byte) (next int, more bool) {
	if i = skipSpace(b, i); i >= len(b) {
		return -1, false
	}
	switch b[i] {
	case ',':
		return skipSpace(b, i+1), true
	case end:
		return i + 1, false
	}
	return -1, false
}

// skipValue returns the index just past the JSON value starting at b[i],
// or -1 if there is none. depth is the nesting of the enclosing value.
func skipValue(b []byte, i, depth int) int {
	if i >= len(b) {
		return -1
	}
	switch c := b[i]; {
	case c == '"':
		return skipString(b, i)
	case c == '{':
		return scanObject(b, i, depth+1, nil)
	case c == '[':
		return skipArray(b, i, depth+1)
	case c == '-' || c >= '0' && c <= '9':
		return skipNumber(b, i)
	case c == 't':
		return skipLiteral(b, i, "true")
	case c == 'f':
		return skipLiteral(b, i, "false")
	case c == 'n':
		return skipLiteral(b, i, "null")
	}
	return -1
}

func skipArray(b []byte, i, depth int) int {
	if depth > jsonMaxDepth {
		return -1
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == ']' {
		return i + 1
	}
	for {
		if i = skipValue(b, i, depth); i < 0 {
			return -1
		}
		var more bool
		if i, more = afterElement(b, i, ']'); !more {
			return i
		}
	}
}

// skipString returns the index just past the string starting at b[i] == '"'.
func skipString(b []byte, i int) int {
	for i++; i < len(b); {
		switch c := b[i]; {
		case c == '"':
			return i + 1
		case c == '\\':
			if i+1 >= len(b) {
				return -1
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
					return -1
				}
				i += 6
			default:
				return -1
			}
		case c < 0x20:
			return -1
		default:
			i++
		}
	}
	return -1
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// skipNumber returns the index just past the number starting at b[i].
func skipNumber(b []byte, i int) int {
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i++; i < len(b) && isDigit(b[i]); i++ {
		}
	default:
		return -1
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || !isDigit(b[i]) {
			return -1
		}
		for i++; i < len(b) && isDigit(b[i]); i++ {
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || !isDigit(b[i]) {
			return -1
		}
		for i++; i < len(b) && isDigit(b[i]); i++ {
		}
	}
	return i
}

func skipLiteral(b []byte, i int, lit string) int {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return -1
	}
	return i + len(lit)
}

// Unquote decodes a raw JSON value that the scanner or encoding/json
// has validated, as encoding/json decodes it into a string. It reports false
// when the value is not a string.
func Unquote(raw []byte) (string, bool) {
	b, ok := unquoteBytes(raw)
	return string(b), ok
}

// unquoteBytes is Unquote returning bytes, which alias raw when
// the string has no escapes.
func unquoteBytes(raw []byte) ([]byte, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return nil, false
	}
	inner := raw[1 : len(raw)-1]
	if bytes.IndexByte(inner, '\\') < 0 && bytes.IndexByte(inner, '"') < 0 && utf8.Valid(inner) {
		return inner, true
	}
	if buf, ok := unescapeSimple(inner); ok {
		return buf, true
	}
	var s string // \u escapes or invalid UTF-8: encoding/json's rules apply
	if json.Unmarshal(raw, &s) != nil {
		return nil, false
	}
	return []byte(s), true
}

// envelopeKey returns k as a string, without allocating for the members a
// CloudEvents envelope usually has.
func envelopeKey(k []byte) string {
	switch string(k) {
	case "specversion":
		return "specversion"
	case "id":
		return "id"
	case "source":
		return "source"
	case "type":
		return "type"
	case "subject":
		return "subject"
	case "time":
		return "time"
	case "datacontenttype":
		return "datacontenttype"
	case "data":
		return "data"
	}
	return string(k)
}

// unescapeSimple decodes the body of a valid JSON string whose escapes are
// all single-character ones and whose bytes are valid UTF-8; it reports false
// for anything else.
func unescapeSimple(in []byte) ([]byte, bool) {
	if !utf8.Valid(in) {
		return nil, false
	}
	out := make([]byte, 0, len(in))
	for {
		j := bytes.IndexByte(in, '\\')
		if j < 0 {
			return append(out, in...), true
		}
		out = append(out, in[:j]...)
		if j+1 >= len(in) {
			return nil, false
		}
		var c byte
		switch in[j+1] {
		case '"', '\\', '/':
			c = in[j+1]
		case 'b':
			c = '\b'
		case 'f':
			c = '\f'
		case 'n':
			c = '\n'
		case 'r':
			c = '\r'
		case 't':
			c = '\t'
		default:
			return nil, false
		}
		out = append(out, c)
		in = in[j+2:]
	}
}

// foreignKey reports whether k, a member key matching none of fields
// exactly, must be left to encoding/json: it is escaped or non-ASCII, or a
// case variant of one of fields, which encoding/json would match.
func foreignKey(k []byte, fields ...string) bool {
	if !plainKey(k) {
		return true
	}
	for _, f := range fields {
		if bytes.EqualFold(k, []byte(f)) {
			return true
		}
	}
	return false
}

// plainKey reports whether a raw member key is the same escaped and
// decoded: no escapes, ASCII only (encoding/json folds some non-ASCII
// letters onto ASCII field names).
func plainKey(k []byte) bool {
	for _, c := range k {
		if c == '\\' || c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// object returns body's top-level members when body is a JSON object,
// nil otherwise. Decoding walks each JSON layer once through it.
func object(body []byte) map[string]json.RawMessage {
	keys := make(map[string]json.RawMessage, 8)
	plain := true
	if !members(body, func(k, v []byte) {
		plain = plain && plainKey(k)
		keys[envelopeKey(k)] = v
	}) {
		return nil
	}
	if !plain { // escaped or non-ASCII keys: let encoding/json decode them
		clear(keys)
		if json.Unmarshal(body, &keys) != nil {
			return nil
		}
	}
	return keys
}
