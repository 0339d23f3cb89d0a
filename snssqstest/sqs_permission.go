package snssqstest

import "regexp"

// sqsPermissionActions are the actions AddPermission grants ("*" for all);
// a grant of one covers its batch form.
// accountIDRE is an AWS account id.
var accountIDRE = regexp.MustCompile(`^[0-9]{12}$`)

var sqsPermissionActions = map[string]bool{
	"*": true, "SendMessage": true, "ReceiveMessage": true, "DeleteMessage": true,
	"ChangeMessageVisibility": true, "GetQueueAttributes": true, "GetQueueUrl": true,
}

// addPermission adds a statement labelled label to the queue's Policy,
// granting accounts the actions.
func (q *sqsService) addPermission(queueURL, label string, accounts, actions []string) *sqsError {
	x, err := q.resolve(queueURL)
	if err != nil {
		return err
	}
	switch {
	case label == "":
		return errMissingParameter("Label")
	case !policyLabelRE.MatchString(label):
		return errInvalidParameterValue("Value %s for parameter Label is invalid. Reason: Must only contain alphanumeric characters, hyphens (-), or underscores (_), up to 80 characters.", label)
	case len(accounts) == 0:
		return errMissingParameter("AWSAccountIds")
	case len(actions) == 0:
		return errMissingParameter("Actions")
	}
	for _, a := range accounts {
		if !accountIDRE.MatchString(a) {
			return errInvalidParameterValue("Value [%s] for parameter PrincipalId is invalid. Reason: Unable to verify.", a)
		}
	}
	stored := make([]string, len(actions))
	for i, a := range actions {
		if !sqsPermissionActions[a] {
			return errInvalidParameterValue("Value SQS:%s for parameter ActionName is invalid. Reason: Please refer to the appropriate WSDL for a list of valid actions.", a)
		}
		stored[i] = "SQS:" + a
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	policy, exists, perr := addPolicyStatement(x.attrs["Policy"], x.arn+"/SQSDefaultPolicy", label, accounts, stored, x.arn)
	switch {
	case perr != nil:
		return errInvalidAttributeValue("Policy")
	case exists:
		return errInvalidParameterValue("Value %s for parameter Label is invalid. Reason: Already exists.", label)
	}
	x.attrs["Policy"] = policy
	x.lastModified = q.clk.Now()
	return nil
}

// removePermission removes the statement labelled label from the queue's
// Policy (and the Policy when no statement is left).
func (q *sqsService) removePermission(queueURL, label string) *sqsError {
	x, err := q.resolve(queueURL)
	if err != nil {
		return err
	}
	if label == "" {
		return errMissingParameter("Label")
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	policy, found := removePolicyStatement(x.attrs["Policy"], label)
	if !found {
		return errInvalidParameterValue("Value %s for parameter Label is invalid. Reason: can't find label on existing policy.", label)
	}
	if policy == "" {
		delete(x.attrs, "Policy")
	} else {
		x.attrs["Policy"] = policy
	}
	x.lastModified = q.clk.Now()
	return nil
}
