package snssqstest

import (
	"encoding/xml"
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
		type errorXML struct {
			Type    string
			Code    string
			Message string
		}
		type errorResponse struct {
			XMLName   xml.Name `xml:"ErrorResponse"`
			Xmlns     string   `xml:"xmlns,attr"`
			Error     errorXML
			RequestID string `xml:"RequestId"`
		}
		body, _ := xml.Marshal(errorResponse{
			Xmlns:     stsXMLNamespace,
			Error:     errorXML{Type: "Sender", Code: "InvalidAction", Message: "Could not find operation " + action + " for version 2011-06-15"},
			RequestID: requestID,
		})
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write(body)
		return
	}
	type result struct {
		Arn     string
		UserId  string
		Account string
	}
	type metadata struct {
		RequestID string `xml:"RequestId"`
	}
	type response struct {
		XMLName  xml.Name `xml:"GetCallerIdentityResponse"`
		Xmlns    string   `xml:"xmlns,attr"`
		Result   result   `xml:"GetCallerIdentityResult"`
		Metadata metadata `xml:"ResponseMetadata"`
	}
	body, _ := xml.Marshal(response{
		Xmlns:    stsXMLNamespace,
		Result:   result{Arn: "arn:aws:iam::" + accountID + ":root", UserId: accountID, Account: accountID},
		Metadata: metadata{RequestID: requestID},
	})
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}
