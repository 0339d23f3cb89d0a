package snssqstest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"sort"
	"strconv"
	"strings"
)

// Filter policy scopes (the FilterPolicyScope subscription attribute).
const (
	scopeMessageAttributes = "MessageAttributes"
	scopeMessageBody       = "MessageBody"
)

// Limits enforced when a filter policy is set. They follow "Filter policy
// constraints in Amazon SNS": at most five keys (leaf key paths, counted
// across $or branches too), at most 150 filterCombinations (the product of the
// sizes of the condition arrays; the branches of a $or add up), numeric
// values within ±10^9, and a policy of at most 256 KiB.
const (
	maxFilterPolicyKeys         = 5
	maxFilterPolicyCombinations = 150
	maxFilterPolicyBytes        = 256 * 1024
	maxFilterNumber             = 1e9
)

// filterPolicyError is a rejected filter policy; its text is the
// InvalidParameter message AWS returns, so it starts with a capital letter.
type filterPolicyError struct{ msg string }

func (e *filterPolicyError) Error() string { return e.msg }

func filterErrorf(format string, args ...any) error {
	return &filterPolicyError{msg: fmt.Sprintf(format, args...)}
}

// filterPolicy is a compiled SNS subscription filter policy. The zero value
// is not used: a subscription without a policy has a nil *filterPolicy,
// which matches every message.
type filterPolicy struct {
	scope string
	root  *filterNode
}

// filterNode is one JSON object of a policy: every field must match (AND)
// and, for every $or, at least one alternative must match.
type filterNode struct {
	fields []filterField
	ors    [][]*filterNode
}

// filterField is one key of a policy object: either a leaf with an array of
// conditions (any may match) or, in MessageBody scope, a nested object.
type filterField struct {
	key   string
	conds []filterCond
	child *filterNode
}

// filterLeaf is what a message holds at one key path: whether the key is
// present and its scalar values (string, float64, bool or nil); an array
// contributes each of its scalar elements.
type filterLeaf struct {
	present bool
	vals    []any
}

// filterCond is one element of a policy's condition array.
type filterCond interface {
	matches(v filterLeaf) bool
}

// compileFilterPolicy parses and validates a filter policy for scope
// (scopeMessageAttributes when empty). The error text is the
// InvalidParameter message returned to the client.
func compileFilterPolicy(policy, scope string) (*filterPolicy, error) {
	if scope == "" {
		scope = scopeMessageAttributes
	}
	if scope != scopeMessageAttributes && scope != scopeMessageBody {
		return nil, filterErrorf("Invalid parameter: FilterPolicyScope: Invalid filter policy scope: %s", scope)
	}
	if len(policy) > maxFilterPolicyBytes {
		return nil, filterErrorf("Invalid parameter: FilterPolicy: Filter policy is too long")
	}
	dec := json.NewDecoder(strings.NewReader(policy))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, filterErrorf("Invalid parameter: FilterPolicy: failed to parse JSON: %v", err)
	}
	if dec.More() {
		return nil, filterErrorf("Invalid parameter: FilterPolicy: trailing data after JSON object")
	}
	obj, ok := doc.(map[string]any)
	if !ok {
		return nil, filterErrorf("Invalid parameter: FilterPolicy: Filter policy must be a JSON object")
	}
	c := filterCompiler{scope: scope, keys: map[string]struct{}{}}
	root, err := c.node(obj, "", false)
	if err != nil {
		return nil, err
	}
	if len(c.keys) > maxFilterPolicyKeys {
		return nil, filterErrorf("Invalid parameter: FilterPolicy: Filter policy can not have more than %d keys", maxFilterPolicyKeys)
	}
	if filterCombinations(root) > maxFilterPolicyCombinations {
		return nil, filterErrorf("Invalid parameter: FilterPolicy: Filter policy is too complex")
	}
	return &filterPolicy{scope: scope, root: root}, nil
}

type filterCompiler struct {
	scope string
	keys  map[string]struct{} // leaf key paths, for the five-key limit
}

func (c *filterCompiler) node(obj map[string]any, path string, nested bool) (*filterNode, error) {
	if nested && c.scope == scopeMessageAttributes {
		return nil, filterErrorf("Invalid parameter: Filter policy scope MessageAttributes does not support nested filter policy")
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	n := &filterNode{}
	for _, k := range keys {
		v := obj[k]
		if k == "$or" {
			alts, err := c.or(v, path)
			if err != nil {
				return nil, err
			}
			n.ors = append(n.ors, alts)
			continue
		}
		full := k
		if path != "" {
			full = path + "." + k
		}
		switch tv := v.(type) {
		case []any:
			conds, err := c.conditions(k, tv)
			if err != nil {
				return nil, err
			}
			c.keys[full] = struct{}{}
			n.fields = append(n.fields, filterField{key: k, conds: conds})
		case map[string]any:
			child, err := c.node(tv, full, true)
			if err != nil {
				return nil, err
			}
			n.fields = append(n.fields, filterField{key: k, child: child})
		default:
			return nil, filterErrorf("Invalid parameter: FilterPolicy: %q must be an object or an array", k)
		}
	}
	return n, nil
}

func (c *filterCompiler) or(v any, path string) ([]*filterNode, error) {
	arr, ok := v.([]any)
	if !ok || len(arr) < 2 {
		return nil, filterErrorf("Invalid parameter: FilterPolicy: $or must be an array of at least two objects")
	}
	alts := make([]*filterNode, 0, len(arr))
	for _, a := range arr {
		obj, ok := a.(map[string]any)
		if !ok {
			return nil, filterErrorf("Invalid parameter: FilterPolicy: $or must be an array of at least two objects")
		}
		// An $or alternative is a sibling of the object holding it, not a
		// nested property, so it is allowed in MessageAttributes scope.
		n, err := c.node(obj, path, false)
		if err != nil {
			return nil, err
		}
		alts = append(alts, n)
	}
	return alts, nil
}

func (c *filterCompiler) conditions(key string, arr []any) ([]filterCond, error) {
	if len(arr) == 0 {
		return nil, filterErrorf("Invalid parameter: FilterPolicy: Empty arrays are not allowed (key %q)", key)
	}
	conds := make([]filterCond, 0, len(arr))
	for _, e := range arr {
		cond, err := compileFilterCond(e)
		if err != nil {
			return nil, err
		}
		conds = append(conds, cond)
	}
	return conds, nil
}

func compileFilterCond(e any) (filterCond, error) {
	switch v := e.(type) {
	case nil:
		return filterExact{val: nil}, nil
	case string:
		return filterExact{val: v}, nil
	case bool:
		return filterExact{val: v}, nil
	case json.Number:
		f, err := filterParseNumber(v)
		if err != nil {
			return nil, err
		}
		return filterExact{val: f}, nil
	case map[string]any:
		if len(v) != 1 {
			return nil, filterErrorf("Invalid parameter: FilterPolicy: Match object must have exactly one key")
		}
		for op, arg := range v {
			return compileFilterOperator(op, arg)
		}
	}
	return nil, filterErrorf("Invalid parameter: FilterPolicy: Match value must be String, number, true, false, or null")
}

func filterParseNumber(n json.Number) (float64, error) {
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, filterErrorf("Invalid parameter: FilterPolicy: Invalid number %s", n)
	}
	if f <= -maxFilterNumber || f >= maxFilterNumber {
		return 0, filterErrorf("Invalid parameter: FilterPolicy: Numeric value %s is out of range (-10^9, 10^9)", n)
	}
	return f, nil
}

func compileFilterOperator(op string, arg any) (filterCond, error) {
	switch op {
	case "prefix", "suffix", "equals-ignore-case", "wildcard":
		s, ok := arg.(string)
		if !ok || s == "" {
			return nil, filterErrorf("Invalid parameter: FilterPolicy: %s match pattern must be a non-empty string", op)
		}
		return filterStringOp{op: op, arg: s}, nil
	case "exists":
		b, ok := arg.(bool)
		if !ok {
			return nil, filterErrorf("Invalid parameter: FilterPolicy: exists match pattern must be either true or false.")
		}
		return filterExists{want: b}, nil
	case "anything-but":
		return compileFilterAnythingBut(arg)
	case "numeric":
		return compileFilterNumeric(arg)
	case "cidr":
		s, ok := arg.(string)
		if !ok {
			return nil, filterErrorf("Invalid parameter: FilterPolicy: Malformed CIDR, one '/' required")
		}
		_, ipnet, err := net.ParseCIDR(s)
		if err != nil {
			return nil, filterErrorf("Invalid parameter: FilterPolicy: Malformed CIDR %q", s)
		}
		return filterCIDR{net: ipnet}, nil
	}
	return nil, filterErrorf("Invalid parameter: FilterPolicy: Unrecognized match type %s", op)
}

func compileFilterAnythingBut(arg any) (filterCond, error) {
	switch v := arg.(type) {
	case string:
		return filterAnythingBut{vals: []any{v}}, nil
	case json.Number:
		f, err := filterParseNumber(v)
		if err != nil {
			return nil, err
		}
		return filterAnythingBut{vals: []any{f}}, nil
	case []any:
		if len(v) == 0 {
			return nil, filterErrorf("Invalid parameter: FilterPolicy: Empty arrays are not allowed in anything-but")
		}
		vals := make([]any, 0, len(v))
		for _, e := range v {
			switch ev := e.(type) {
			case string:
				vals = append(vals, ev)
			case json.Number:
				f, err := filterParseNumber(ev)
				if err != nil {
					return nil, err
				}
				vals = append(vals, f)
			default:
				return nil, filterErrorf("Invalid parameter: FilterPolicy: Inside anything but list, start|null|boolean is not supported.")
			}
		}
		return filterAnythingBut{vals: vals}, nil
	case map[string]any:
		if len(v) != 1 {
			return nil, filterErrorf("Invalid parameter: FilterPolicy: anything-but object must have exactly one key")
		}
		for op, a := range v {
			switch op {
			case "prefix", "suffix":
				s, ok := a.(string)
				if !ok || s == "" {
					return nil, filterErrorf("Invalid parameter: FilterPolicy: anything-but %s must be a non-empty string", op)
				}
				return filterAnythingBut{op: op, vals: []any{s}}, nil
			case "equals-ignore-case":
				var strs []any
				switch av := a.(type) {
				case string:
					strs = []any{av}
				case []any:
					for _, e := range av {
						s, ok := e.(string)
						if !ok {
							return nil, filterErrorf("Invalid parameter: FilterPolicy: anything-but equals-ignore-case takes strings")
						}
						strs = append(strs, s)
					}
				}
				if len(strs) == 0 {
					return nil, filterErrorf("Invalid parameter: FilterPolicy: anything-but equals-ignore-case takes strings")
				}
				return filterAnythingBut{op: op, vals: strs}, nil
			}
			return nil, filterErrorf("Invalid parameter: FilterPolicy: Unsupported anything-but pattern: %s", op)
		}
	}
	return nil, filterErrorf("Invalid parameter: FilterPolicy: Value of anything-but must be an array or single string/number value.")
}

func compileFilterNumeric(arg any) (filterCond, error) {
	arr, ok := arg.([]any)
	if !ok || len(arr) == 0 {
		return nil, filterErrorf("Invalid parameter: FilterPolicy: Value of numeric must be an array.")
	}
	if len(arr)%2 != 0 || len(arr) > 4 {
		return nil, filterErrorf("Invalid parameter: FilterPolicy: Too many elements in numeric expression")
	}
	var nc filterNumeric
	for i := 0; i < len(arr); i += 2 {
		op, ok := arr[i].(string)
		if !ok {
			return nil, filterErrorf("Invalid parameter: FilterPolicy: Invalid member in numeric match: %v", arr[i])
		}
		switch op {
		case "=", "<", "<=", ">", ">=":
		default:
			return nil, filterErrorf("Invalid parameter: FilterPolicy: Unrecognized numeric range operator: %s", op)
		}
		n, ok := arr[i+1].(json.Number)
		if !ok {
			return nil, filterErrorf("Invalid parameter: FilterPolicy: Value of %s must be numeric", op)
		}
		f, err := filterParseNumber(n)
		if err != nil {
			return nil, err
		}
		nc.ops = append(nc.ops, filterNumericOp{op: op, val: f})
	}
	if len(nc.ops) == 2 {
		lo, hi := nc.ops[0], nc.ops[1]
		if lo.op != ">" && lo.op != ">=" {
			return nil, filterErrorf("Invalid parameter: FilterPolicy: Too many elements in numeric expression")
		}
		if hi.op != "<" && hi.op != "<=" {
			return nil, filterErrorf("Invalid parameter: FilterPolicy: Bad numeric range operator: %s", hi.op)
		}
		if hi.val <= lo.val {
			return nil, filterErrorf("Invalid parameter: FilterPolicy: Bottom must be less than top")
		}
	}
	return nc, nil
}

// filterCombinations is the policy's complexity: the product of the filterCond
// array sizes; the alternatives of a $or add up.
func filterCombinations(n *filterNode) int {
	total := 1
	for _, f := range n.fields {
		if f.child != nil {
			total *= filterCombinations(f.child)
		} else {
			total *= len(f.conds)
		}
		if total > maxFilterPolicyCombinations {
			return total
		}
	}
	for _, alts := range n.ors {
		sum := 0
		for _, a := range alts {
			sum += filterCombinations(a)
		}
		total *= sum
		if total > maxFilterPolicyCombinations {
			return total
		}
	}
	return total
}

// matchAttributes reports whether message attributes match a
// MessageAttributes-scope policy. String and String.Array attributes are
// compared as strings (array elements by their JSON type), Number
// attributes as numbers; Binary attributes are ignored.
func (p *filterPolicy) matchAttributes(attrs map[string]messageAttribute) bool {
	doc := make(map[string]any, len(attrs))
	for name, a := range attrs {
		switch snsAttrBaseType(a.DataType) {
		case "String":
			if snsIsStringArray(a.DataType) {
				var arr []any
				if err := filterDecodeJSON(a.StringValue, &arr); err != nil {
					continue
				}
				doc[name] = arr
			} else {
				doc[name] = a.StringValue
			}
		case "Number":
			f, err := strconv.ParseFloat(a.StringValue, 64)
			if err != nil {
				continue
			}
			doc[name] = f
		}
	}
	return p.root.match([]map[string]any{doc})
}

// matchBody reports whether a message body matches a MessageBody-scope
// policy. A body that is not a JSON object matches nothing.
func (p *filterPolicy) matchBody(body string) bool {
	var doc any
	if err := filterDecodeJSON(body, &doc); err != nil {
		return false
	}
	obj, ok := doc.(map[string]any)
	if !ok {
		return false
	}
	return p.root.match([]map[string]any{obj})
}

// matches applies the policy in its scope.
func (p *filterPolicy) matches(body string, attrs map[string]messageAttribute) bool {
	if p == nil {
		return true
	}
	if p.scope == scopeMessageBody {
		return p.matchBody(body)
	}
	return p.matchAttributes(attrs)
}

// filterDecodeJSON decodes JSON with numbers as float64 (via json.Number,
// so precision loss is explicit) into out.
func filterDecodeJSON(s string, out any) error {
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	dec.UseNumber()
	if err := dec.Decode(out); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data")
	}
	return nil
}

// match evaluates the node against every object reachable at its level;
// values are pooled across them (arrays of objects are flattened, as AWS
// does).
func (n *filterNode) match(objs []map[string]any) bool {
	for _, f := range n.fields {
		if f.child != nil {
			var children []map[string]any
			for _, o := range objs {
				children = filterAppendObjects(children, o[f.key])
			}
			if !f.child.match(children) {
				return false
			}
			continue
		}
		var lv filterLeaf
		for _, o := range objs {
			v, ok := o[f.key]
			if !ok {
				continue
			}
			lv.collect(v)
		}
		if !filterAnyMatches(f.conds, lv) {
			return false
		}
	}
	for _, alts := range n.ors {
		ok := false
		for _, a := range alts {
			if a.match(objs) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

func filterAppendObjects(dst []map[string]any, v any) []map[string]any {
	switch tv := v.(type) {
	case map[string]any:
		return append(dst, tv)
	case []any:
		for _, e := range tv {
			dst = filterAppendObjects(dst, e)
		}
	}
	return dst
}

// collect adds v to the leaf: scalars directly, arrays element by element;
// objects are not leaves and leave the key absent.
func (lv *filterLeaf) collect(v any) {
	switch tv := v.(type) {
	case map[string]any:
		return
	case []any:
		lv.present = true
		for _, e := range tv {
			switch e.(type) {
			case map[string]any, []any:
				continue
			}
			lv.vals = append(lv.vals, filterNormalizeScalar(e))
		}
	default:
		lv.present = true
		lv.vals = append(lv.vals, filterNormalizeScalar(tv))
	}
}

func filterNormalizeScalar(v any) any {
	if n, ok := v.(json.Number); ok {
		f, err := strconv.ParseFloat(string(n), 64)
		if err != nil {
			return string(n)
		}
		return f
	}
	return v
}

func filterAnyMatches(conds []filterCond, lv filterLeaf) bool {
	for _, c := range conds {
		if c.matches(lv) {
			return true
		}
	}
	return false
}

// filterNumbersEqual compares with the five decimal digits of accuracy AWS uses.
func filterNumbersEqual(a, b float64) bool {
	return math.Abs(a-b) < 0.000005
}

func filterScalarEqual(a, b any) bool {
	if fa, ok := a.(float64); ok {
		fb, ok := b.(float64)
		return ok && filterNumbersEqual(fa, fb)
	}
	return a == b
}

// filterExact matches a string, number, boolean or null literal.
type filterExact struct{ val any }

func (c filterExact) matches(v filterLeaf) bool {
	for _, x := range v.vals {
		if filterScalarEqual(x, c.val) {
			return true
		}
	}
	return false
}

// filterStringOp is prefix, suffix, equals-ignore-case or wildcard.
type filterStringOp struct{ op, arg string }

func (c filterStringOp) matches(v filterLeaf) bool {
	for _, x := range v.vals {
		s, ok := x.(string)
		if ok && c.test(s) {
			return true
		}
	}
	return false
}

func (c filterStringOp) test(s string) bool {
	switch c.op {
	case "prefix":
		return strings.HasPrefix(s, c.arg)
	case "suffix":
		return strings.HasSuffix(s, c.arg)
	case "equals-ignore-case":
		return strings.EqualFold(s, c.arg)
	case "wildcard":
		return filterWildcardMatch(c.arg, s)
	}
	return false
}

// filterWildcardMatch matches s against a pattern where '*' stands for any run of
// characters.
func filterWildcardMatch(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return len(s) >= len(last) && strings.HasSuffix(s, last)
}

// filterExists matches on the presence (true) or absence (false) of the key.
type filterExists struct{ want bool }

func (c filterExists) matches(v filterLeaf) bool { return v.present == c.want }

// filterAnythingBut matches a present value that is none of vals (op ""),
// lacks the prefix or suffix, or equals none of vals ignoring case.
type filterAnythingBut struct {
	op   string
	vals []any
}

func (c filterAnythingBut) matches(v filterLeaf) bool {
	for _, x := range v.vals {
		if c.accepts(x) {
			return true
		}
	}
	return false
}

func (c filterAnythingBut) accepts(x any) bool {
	if c.op == "" {
		if x == nil {
			return false
		}
		for _, b := range c.vals {
			if filterScalarEqual(x, b) {
				return false
			}
		}
		return true
	}
	s, ok := x.(string)
	if !ok {
		return false
	}
	for _, b := range c.vals {
		arg := b.(string)
		switch c.op {
		case "prefix":
			if strings.HasPrefix(s, arg) {
				return false
			}
		case "suffix":
			if strings.HasSuffix(s, arg) {
				return false
			}
		case "equals-ignore-case":
			if strings.EqualFold(s, arg) {
				return false
			}
		}
	}
	return true
}

type filterNumericOp struct {
	op  string
	val float64
}

// filterNumeric matches a number satisfying every comparison.
type filterNumeric struct{ ops []filterNumericOp }

func (c filterNumeric) matches(v filterLeaf) bool {
	for _, x := range v.vals {
		f, ok := x.(float64)
		if ok && c.test(f) {
			return true
		}
	}
	return false
}

func (c filterNumeric) test(f float64) bool {
	for _, o := range c.ops {
		var ok bool
		switch o.op {
		case "=":
			ok = filterNumbersEqual(f, o.val)
		case "<":
			ok = f < o.val && !filterNumbersEqual(f, o.val)
		case "<=":
			ok = f <= o.val || filterNumbersEqual(f, o.val)
		case ">":
			ok = f > o.val && !filterNumbersEqual(f, o.val)
		case ">=":
			ok = f >= o.val || filterNumbersEqual(f, o.val)
		}
		if !ok {
			return false
		}
	}
	return true
}

// filterCIDR matches a string holding an IP address inside the network.
type filterCIDR struct{ net *net.IPNet }

func (c filterCIDR) matches(v filterLeaf) bool {
	for _, x := range v.vals {
		s, ok := x.(string)
		if !ok {
			continue
		}
		if ip := net.ParseIP(s); ip != nil && c.net.Contains(ip) {
			return true
		}
	}
	return false
}
