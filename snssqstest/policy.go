package snssqstest

import (
	"encoding/json"
	"regexp"
)

// policyLabelRE is what AddPermission accepts as a Label (SQS and SNS):
// "Maximum 80 characters. Alphanumeric characters, hyphens (-), and
// underscores (_) are allowed."
var policyLabelRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}$`)

// addPolicyStatement returns policy (a JSON policy document, or "" for
// none, which starts one with id) with a statement labelled sid granting
// principals (account ids) the actions on resource. exists reports a
// statement with that sid already there; the policy is then unchanged.
func addPolicyStatement(policy, id, sid string, accounts, actions []string, resource string) (out string, exists bool, err error) {
	doc, err := parsePolicy(policy, id)
	if err != nil {
		return "", false, err
	}
	stmts, _ := doc["Statement"].([]any)
	for _, s := range stmts {
		if m, ok := s.(map[string]any); ok && m["Sid"] == sid {
			return policy, true, nil
		}
	}
	principals := make([]any, len(accounts))
	for i, a := range accounts {
		principals[i] = "arn:aws:iam::" + a + ":root"
	}
	acts := make([]any, len(actions))
	for i, a := range actions {
		acts[i] = a
	}
	var principal, action any = principals, acts
	if len(principals) == 1 {
		principal = principals[0]
	}
	if len(acts) == 1 {
		action = acts[0]
	}
	doc["Statement"] = append(stmts, map[string]any{
		"Sid": sid, "Effect": "Allow", "Principal": map[string]any{"AWS": principal}, "Action": action, "Resource": resource,
	})
	b, err := json.Marshal(doc)
	return string(b), false, err
}

// removePolicyStatement returns policy without the statement labelled sid,
// "" when no statement is left; found reports whether there was one.
func removePolicyStatement(policy, sid string) (out string, found bool) {
	if policy == "" {
		return "", false
	}
	doc, err := parsePolicy(policy, "")
	if err != nil {
		return policy, false
	}
	stmts, _ := doc["Statement"].([]any)
	kept := stmts[:0:0]
	for _, s := range stmts {
		if m, ok := s.(map[string]any); ok && m["Sid"] == sid {
			found = true
			continue
		}
		kept = append(kept, s)
	}
	if !found {
		return policy, false
	}
	if len(kept) == 0 {
		return "", true
	}
	doc["Statement"] = kept
	b, _ := json.Marshal(doc)
	return string(b), true
}

// parsePolicy decodes a policy document, or starts one with id.
func parsePolicy(policy, id string) (map[string]any, error) {
	if policy == "" {
		return map[string]any{"Version": "2012-10-17", "Id": id, "Statement": []any{}}, nil
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(policy), &doc); err != nil {
		return nil, err
	}
	if _, ok := doc["Statement"].([]any); !ok {
		if s, ok := doc["Statement"].(map[string]any); ok {
			doc["Statement"] = []any{s}
		} else {
			doc["Statement"] = []any{}
		}
	}
	return doc, nil
}
