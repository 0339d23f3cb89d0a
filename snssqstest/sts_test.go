package snssqstest

import (
	"context"
	"encoding/xml"
	"errors"
	"net/http"
	"net/url"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSTSGetCallerIdentity(t *testing.T) {
	srv := Run(t, WithAccountID("123456789012"), WithRegion("eu-west-1"))
	client := sts.NewFromConfig(srv.AWSConfig())
	out, err := client.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	require.NoError(t, err)
	assert.Equal(t, "123456789012", aws.ToString(out.Account))
	assert.Equal(t, "arn:aws:iam::123456789012:root", aws.ToString(out.Arn))
	assert.Equal(t, "123456789012", aws.ToString(out.UserId))
	assert.Equal(t, int64(1), srv.Requests()["sts:GetCallerIdentity"])
}

func TestSTSUnsupportedAction(t *testing.T) {
	srv := Run(t)
	client := sts.NewFromConfig(srv.AWSConfig())
	_, err := client.AssumeRole(context.Background(), &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::000000000000:role/r"), RoleSessionName: aws.String("s")})
	var apiErr smithy.APIError
	require.True(t, errors.As(err, &apiErr), "%v", err)
	assert.Equal(t, "InvalidAction", apiErr.ErrorCode())
}

func TestSTSUnsignedQuery(t *testing.T) {
	srv := Run(t)
	// Without a signature the action name routes the request to STS.
	resp, err := testHTTPClient(t).PostForm(srv.URL()+"/", url.Values{"Action": {"GetCallerIdentity"}, "Version": {"2011-06-15"}})
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var out struct {
		XMLName xml.Name
		Account string `xml:"GetCallerIdentityResult>Account"`
		Arn     string `xml:"GetCallerIdentityResult>Arn"`
		UserID  string `xml:"GetCallerIdentityResult>UserId"`
		ReqID   string `xml:"ResponseMetadata>RequestId"`
	}
	require.NoError(t, xml.NewDecoder(resp.Body).Decode(&out))
	assert.Equal(t, xml.Name{Space: stsXMLNamespace, Local: "GetCallerIdentityResponse"}, out.XMLName)
	assert.Equal(t, DefaultAccountID, out.Account)
	assert.Equal(t, "arn:aws:iam::"+DefaultAccountID+":root", out.Arn)
	assert.Equal(t, DefaultAccountID, out.UserID)
	assert.NotEmpty(t, out.ReqID)
}
