package snssqstest

import (
	"net/http"

	"github.com/google/uuid"
)

// stsXMLNamespace is the namespace of STS query-protocol responses.
const stsXMLNamespace = "https://sts.amazonaws.com/doc/2011-06-15/"

// serveSTS answers the one STS action the emulator supports,
// GetCallerIdentity, as the account's root user: Account is accountID,
// Arn arn:aws:iam::ACCOUNT:root and UserId the account id (what AWS
// returns for root credentials). Any other action is InvalidAction.
func serveSTS(w http.ResponseWriter, r *http.Request, action, accountID string) {
	requestID := uuid.NewString()
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("X-Amzn-RequestId", requestID)
	if action != "GetCallerIdentity" {
		body := queryErrorBody(stsXMLNamespace, "Sender", "InvalidAction",
			"Could not find operation "+action+" for version 2011-06-15", requestID)
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write(body)
		return
	}
	type result struct {
		Arn     string
		UserId  string
		Account string
	}
	// result is a struct of strings: encoding it cannot fail.
	body, _ := queryResponseBody(stsXMLNamespace, action, requestID,
		result{Arn: "arn:aws:iam::" + accountID + ":root", UserId: accountID, Account: accountID})
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}
