package snssqstest

// snsPermissionActions are the actions AddPermission grants on a topic.
var snsPermissionActions = map[string]bool{
	"*": true, "Publish": true, "Subscribe": true, "Receive": true, "GetTopicAttributes": true,
	"SetTopicAttributes": true, "DeleteTopic": true, "ListSubscriptionsByTopic": true,
	"AddPermission": true, "RemovePermission": true,
}

// addPermission adds a statement labelled label to the topic's Policy (the
// default policy when none was set), granting accounts the actions.
func (n *snsService) addPermission(topicARN, label string, accounts, actions []string) *snsError {
	n.mu.Lock()
	defer n.mu.Unlock()
	t, err := n.lookupTopicLocked(topicARN, "TopicArn")
	if err != nil {
		return err
	}
	switch {
	case label == "" || !policyLabelRE.MatchString(label):
		return snsInvalidParameter("Invalid parameter: Label")
	case len(accounts) == 0:
		return snsInvalidParameter("Invalid parameter: AWSAccountId")
	case len(actions) == 0:
		return snsInvalidParameter("Invalid parameter: ActionName")
	}
	for _, a := range accounts {
		if !accountIDRE.MatchString(a) {
			return snsInvalidParameter("Invalid parameter: AWSAccountId")
		}
	}
	stored := make([]string, len(actions))
	for i, a := range actions {
		if !snsPermissionActions[a] {
			return snsInvalidParameter("Invalid parameter: Policy statement action out of service scope!")
		}
		stored[i] = "SNS:" + a
	}
	policy := t.policyLocked(n.account)
	policy, exists, perr := addPolicyStatement(policy, "__default_policy_ID", label, accounts, stored, t.arn)
	switch {
	case perr != nil:
		return snsInvalidParameter("Invalid parameter: Policy")
	case exists:
		return snsInvalidParameter("Invalid parameter: Statement already exists")
	}
	t.attrs["Policy"] = policy
	return nil
}

// removePermission removes the statement labelled label from the topic's
// Policy.
func (n *snsService) removePermission(topicARN, label string) *snsError {
	n.mu.Lock()
	defer n.mu.Unlock()
	t, err := n.lookupTopicLocked(topicARN, "TopicArn")
	if err != nil {
		return err
	}
	if label == "" {
		return snsInvalidParameter("Invalid parameter: Label")
	}
	policy, found := removePolicyStatement(t.policyLocked(n.account), label)
	if !found {
		return snsInvalidParameter("Invalid parameter: Label")
	}
	if policy == "" {
		policy = `{"Version":"2008-10-17","Id":"__default_policy_ID","Statement":[]}`
	}
	t.attrs["Policy"] = policy
	return nil
}

// policyLocked is the topic's Policy: the one set, or the default.
func (t *snsTopic) policyLocked(account string) string {
	if p, ok := t.attrs["Policy"]; ok && p != "" {
		return p
	}
	return snsDefaultTopicPolicy(t.arn, account)
}
