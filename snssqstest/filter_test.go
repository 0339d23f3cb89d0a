package snssqstest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// docAttributes are the message attributes of the AWS "Amazon SNS example
// filter policies" page, plus an IP address and a Binary attribute.
func docAttributes() map[string]messageAttribute {
	return map[string]messageAttribute{
		"customer_interests": {DataType: "String.Array", StringValue: `["soccer", "rugby", "hockey"]`},
		"store":              {DataType: "String", StringValue: "example_corp"},
		"event":              {DataType: "String", StringValue: "order_placed"},
		"price_usd":          {DataType: "Number", StringValue: "210.75"},
		"source_ip":          {DataType: "String", StringValue: "10.0.0.255"},
		"encrypted":          {DataType: "Binary", BinaryValue: []byte{1, 2, 3}},
		"codes":              {DataType: "String.Array", StringValue: `[10, "x", true]`},
	}
}

func TestFilterPolicyMessageAttributes(t *testing.T) {
	tests := []struct {
		name   string
		policy string
		want   bool
	}{
		{"doc example: all keys match", `{"store":["example_corp"],"event":[{"anything-but":"order_cancelled"}],"customer_interests":["rugby","football","baseball"],"price_usd":[{"numeric":[">=",100]}]}`, true},
		{"exact string", `{"store":["example_corp"]}`, true},
		{"exact string is case sensitive", `{"store":["Example_Corp"]}`, false},
		{"OR within the array", `{"store":["other","example_corp"]}`, true},
		{"AND across keys fails on one", `{"store":["example_corp"],"event":["order_cancelled"]}`, false},
		{"missing attribute", `{"color":["red"]}`, false},
		{"String.Array element match", `{"customer_interests":["rugby"]}`, true},
		{"String.Array no element matches", `{"customer_interests":["tennis","golf"]}`, false},
		{"String.Array numeric element", `{"codes":[10]}`, true},
		{"String.Array boolean element", `{"codes":[true]}`, true},
		{"String.Array numeric range element", `{"codes":[{"numeric":[">",5,"<",11]}]}`, true},
		{"numeric exact", `{"price_usd":[210.75]}`, true},
		{"numeric exact other value", `{"price_usd":[210.7]}`, false},
		{"numeric equals operator", `{"price_usd":[{"numeric":["=",210.75]}]}`, true},
		{"numeric range inside", `{"price_usd":[{"numeric":[">",100,"<=",300]}]}`, true},
		{"numeric range outside (doc: 0 < x <= 150)", `{"price_usd":[{"numeric":[">",0,"<=",150]}]}`, false},
		{"numeric upper bound inclusive", `{"price_usd":[{"numeric":["<=",210.75]}]}`, true},
		{"numeric upper bound exclusive", `{"price_usd":[{"numeric":["<",210.75]}]}`, false},
		{"numeric does not match a String attribute", `{"store":[{"numeric":[">",0]}]}`, false},
		{"string does not match a Number attribute", `{"price_usd":["210.75"]}`, false},
		{"prefix", `{"event":[{"prefix":"order_"}]}`, true},
		{"prefix no match (doc: order-)", `{"event":[{"prefix":"order-"}]}`, false},
		{"suffix", `{"store":[{"suffix":"_corp"}]}`, true},
		{"suffix no match", `{"store":[{"suffix":"_inc"}]}`, false},
		{"equals-ignore-case", `{"store":[{"equals-ignore-case":"EXAMPLE_CORP"}]}`, true},
		{"anything-but single string", `{"event":[{"anything-but":"order_cancelled"}]}`, true},
		{"anything-but excludes the value", `{"event":[{"anything-but":"order_placed"}]}`, false},
		{"anything-but list", `{"store":[{"anything-but":["a","example_corp"]}]}`, false},
		{"anything-but numbers (doc: 100, 500)", `{"price_usd":[{"anything-but":[100,500]}]}`, true},
		{"anything-but number equal", `{"price_usd":[{"anything-but":[210.75]}]}`, false},
		{"anything-but prefix (doc)", `{"event":[{"anything-but":{"prefix":"order-"}}]}`, true},
		{"anything-but prefix excluded", `{"event":[{"anything-but":{"prefix":"order_"}}]}`, false},
		{"anything-but suffix excluded", `{"store":[{"anything-but":{"suffix":"corp"}}]}`, false},
		{"anything-but equals-ignore-case excluded", `{"store":[{"anything-but":{"equals-ignore-case":["EXAMPLE_CORP"]}}]}`, false},
		{"anything-but on missing attribute", `{"color":[{"anything-but":"red"}]}`, false},
		{"exists true", `{"store":[{"exists":true}]}`, true},
		{"exists false on present", `{"store":[{"exists":false}]}`, false},
		{"exists false on missing", `{"color":[{"exists":false}]}`, true},
		{"exists true on missing", `{"color":[{"exists":true}]}`, false},
		{"Binary attributes are ignored", `{"encrypted":[{"exists":true}]}`, false},
		{"cidr IPv4 (doc: 10.0.0.0/24)", `{"source_ip":[{"cidr":"10.0.0.0/24"}]}`, true},
		{"cidr IPv4 outside", `{"source_ip":[{"cidr":"10.0.1.0/24"}]}`, false},
		{"wildcard", `{"event":[{"wildcard":"order_*d"}]}`, true},
		{"$or first branch", `{"store":["example_corp"],"$or":[{"event":["order_placed"]},{"price_usd":[{"numeric":["<",1]}]}]}`, true},
		{"$or second branch", `{"$or":[{"event":["nope"]},{"price_usd":[{"numeric":[">",200]}]}]}`, true},
		{"$or no branch", `{"$or":[{"event":["nope"]},{"price_usd":[{"numeric":["<",1]}]}]}`, false},
		{"$or AND outer key fails", `{"store":["other"],"$or":[{"event":["order_placed"]},{"event":["x"]}]}`, false},
		{"empty policy matches everything", `{}`, true},
	}
	attrs := docAttributes()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := compileFilterPolicy(tt.policy, "")
			require.NoError(t, err)
			assert.Equal(t, tt.want, p.matches("not json", attrs))
		})
	}
}

func TestFilterPolicyIPv6(t *testing.T) {
	p, err := compileFilterPolicy(`{"ip":[{"cidr":"2001:db8::/32"}]}`, "")
	require.NoError(t, err)
	assert.True(t, p.matches("", map[string]messageAttribute{"ip": {DataType: "String", StringValue: "2001:db8::1"}}))
	assert.False(t, p.matches("", map[string]messageAttribute{"ip": {DataType: "String", StringValue: "2001:db9::1"}}))
	assert.False(t, p.matches("", map[string]messageAttribute{"ip": {DataType: "String", StringValue: "not an ip"}}))
}

// docBody is a payload in the shape of the AWS payload-based filtering
// examples, with nesting and arrays of objects.
const docBody = `{
  "store": {"name": "example_corp", "location": {"city": "Seattle", "zip": "98101"}},
  "event": "order_placed",
  "price_usd": 210.75,
  "customer_interests": ["soccer", "rugby"],
  "items": [{"sku": "a1", "qty": 2}, {"sku": "b2", "qty": 5}],
  "paid": true,
  "coupon": null,
  "source_ip": "10.0.0.255"
}`

func TestFilterPolicyMessageBody(t *testing.T) {
	tests := []struct {
		name   string
		policy string
		want   bool
	}{
		{"top-level string", `{"event":["order_placed"]}`, true},
		{"nested key", `{"store":{"name":["example_corp"]}}`, true},
		{"deeply nested key", `{"store":{"location":{"city":["Seattle"]}}}`, true},
		{"deeply nested mismatch", `{"store":{"location":{"city":["Portland"]}}}`, false},
		{"nested AND with top-level", `{"store":{"name":["example_corp"]},"event":["order_placed"]}`, true},
		{"array of scalars", `{"customer_interests":["rugby"]}`, true},
		{"array of objects is flattened", `{"items":{"sku":["b2"]}}`, true},
		{"array of objects numeric", `{"items":{"qty":[{"numeric":[">",4]}]}}`, true},
		{"array of objects no element", `{"items":{"sku":["zz"]}}`, false},
		{"number", `{"price_usd":[{"numeric":[">=",200]}]}`, true},
		{"string does not match a number", `{"price_usd":["210.75"]}`, false},
		{"boolean", `{"paid":[true]}`, true},
		{"boolean mismatch", `{"paid":[false]}`, false},
		{"null", `{"coupon":[null]}`, true},
		{"exists false nested", `{"store":{"owner":[{"exists":false}]}}`, true},
		{"exists true nested", `{"store":{"location":{"zip":[{"exists":true}]}}}`, true},
		{"exists false under a missing parent", `{"customer":{"id":[{"exists":false}]}}`, true},
		{"exists true under a missing parent", `{"customer":{"id":[{"exists":true}]}}`, false},
		{"prefix nested", `{"store":{"name":[{"prefix":"example"}]}}`, true},
		{"cidr", `{"source_ip":[{"cidr":"10.0.0.0/24"}]}`, true},
		{"$or across nesting", `{"$or":[{"store":{"name":["x"]}},{"items":{"sku":["a1"]}}]}`, true},
		{"anything-but", `{"event":[{"anything-but":["order_cancelled"]}]}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := compileFilterPolicy(tt.policy, scopeMessageBody)
			require.NoError(t, err)
			assert.Equal(t, tt.want, p.matches(docBody, nil))
		})
	}
}

func TestFilterPolicyMessageBodyNotJSON(t *testing.T) {
	p, err := compileFilterPolicy(`{"event":[{"exists":false}]}`, scopeMessageBody)
	require.NoError(t, err)
	assert.False(t, p.matches("plain text", nil), "a non-JSON body matches nothing")
	assert.False(t, p.matches(`["an","array"]`, nil), "a non-object body matches nothing")
	assert.True(t, p.matches(`{"other":1}`, nil))
}

func TestNilFilterPolicyMatchesEverything(t *testing.T) {
	var p *filterPolicy
	assert.True(t, p.matches("anything", nil))
}

func TestFilterPolicyValidation(t *testing.T) {
	sixKeys := `{"a":["1"],"b":["1"],"c":["1"],"d":["1"],"e":["1"],"f":["1"]}`
	// 6 x 5 x 6 = 180 combinations.
	tooComplex := `{"a":["1","2","3","4","5","6"],"b":["1","2","3","4","5"],"c":["1","2","3","4","5","6"]}`
	tests := []struct {
		name, policy, scope, wantMsg string
	}{
		{"not JSON", `{"a":`, "", "failed to parse JSON"},
		{"not an object", `["a"]`, "", "must be a JSON object"},
		{"scalar value", `{"a":"b"}`, "", `"a" must be an object or an array`},
		{"empty array", `{"a":[]}`, "", "Empty arrays"},
		{"nested in attribute scope", `{"a":{"b":["c"]}}`, scopeMessageAttributes, "does not support nested filter policy"},
		{"too many keys", sixKeys, "", "can not have more than 5 keys"},
		{"too complex", tooComplex, "", "too complex"},
		{"unknown operator", `{"a":[{"regex":"x"}]}`, "", "Unrecognized match type regex"},
		{"object as match value", `{"a":[["x"]]}`, "", "Match value must be String, number, true, false, or null"},
		{"exists not boolean", `{"a":[{"exists":"yes"}]}`, "", "exists match pattern must be either true or false"},
		{"numeric not array", `{"a":[{"numeric":5}]}`, "", "Value of numeric must be an array"},
		{"numeric bad operator", `{"a":[{"numeric":["!=",5]}]}`, "", "Unrecognized numeric range operator: !="},
		{"numeric non-number", `{"a":[{"numeric":["<","5"]}]}`, "", "Value of < must be numeric"},
		{"numeric bottom above top", `{"a":[{"numeric":[">",10,"<",5]}]}`, "", "Bottom must be less than top"},
		{"numeric wrong range order", `{"a":[{"numeric":["<",10,">",5]}]}`, "", "Too many elements"},
		{"numeric odd length", `{"a":[{"numeric":[">",1,"<"]}]}`, "", "Too many elements"},
		{"number out of range", `{"a":[1000000000]}`, "", "out of range"},
		{"prefix not string", `{"a":[{"prefix":5}]}`, "", "prefix match pattern must be a non-empty string"},
		{"cidr malformed", `{"a":[{"cidr":"10.0.0.0"}]}`, "", "Malformed CIDR"},
		{"anything-but boolean", `{"a":[{"anything-but":[true]}]}`, "", "anything but list"},
		{"anything-but unknown", `{"a":[{"anything-but":{"wildcard":"x"}}]}`, "", "Unsupported anything-but pattern"},
		{"$or with one branch", `{"$or":[{"a":["1"]}]}`, "", "$or must be an array of at least two objects"},
		{"bad scope", `{"a":["1"]}`, "Everything", "Invalid filter policy scope: Everything"},
		{"two operators in one object", `{"a":[{"prefix":"x","suffix":"y"}]}`, "", "exactly one key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := compileFilterPolicy(tt.policy, tt.scope)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantMsg)
			assert.True(t, strings.HasPrefix(err.Error(), "Invalid parameter: "), err.Error())
		})
	}
}

func TestFilterPolicyLimitsBoundaries(t *testing.T) {
	fiveKeys := `{"a":["1"],"b":["1"],"c":["1"],"d":["1"],"e":["1"]}`
	_, err := compileFilterPolicy(fiveKeys, "")
	require.NoError(t, err, "five keys is the limit, not over it")

	// 5 x 5 x 6 = 150 combinations: exactly the limit.
	var vals []string
	for i := 0; i < 6; i++ {
		vals = append(vals, fmt.Sprintf(`"%d"`, i))
	}
	six := "[" + strings.Join(vals, ",") + "]"
	five := "[" + strings.Join(vals[:5], ",") + "]"
	_, err = compileFilterPolicy(`{"a":`+five+`,"b":`+five+`,"c":`+six+`}`, "")
	require.NoError(t, err)

	// $or branches add up: (1 + 1) x 75 = 150 fits; a third branch does not.
	seventyFive := `{"x":` + five + `,"y":` + five + `,"z":["1","2","3"]}`
	_, err = compileFilterPolicy(`{"$or":[{"p":["1"]},{"q":["1"]}],"n":{"m":["1"]}}`, scopeMessageBody)
	require.NoError(t, err)
	_, err = compileFilterPolicy(`{"$or":[`+seventyFive+`,`+seventyFive+`]}`, scopeMessageBody)
	require.NoError(t, err)
	_, err = compileFilterPolicy(`{"$or":[`+seventyFive+`,`+seventyFive+`,{"w":["1"]}]}`, scopeMessageBody)
	require.Error(t, err)
}

func TestFilterWildcard(t *testing.T) {
	assert.True(t, filterWildcardMatch("a*c", "abc"))
	assert.True(t, filterWildcardMatch("a*c", "ac"))
	assert.True(t, filterWildcardMatch("*", "anything"))
	assert.True(t, filterWildcardMatch("a*b*c", "axxbyyc"))
	assert.False(t, filterWildcardMatch("a*c", "ab"))
	assert.False(t, filterWildcardMatch("a*a", "a"), "prefix and suffix may not overlap")
	assert.False(t, filterWildcardMatch("abc", "abcd"))
}
