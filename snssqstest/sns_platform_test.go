package snssqstest

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Platform applications and endpoints are stored; a Publish to an endpoint
// is recorded, and refused once the endpoint is disabled.
func TestSNSPlatformApplicationsAndEndpoints(t *testing.T) {
	e := newSNSEnv(t)
	ctx := t.Context()
	app, err := e.sns.CreatePlatformApplication(ctx, &sns.CreatePlatformApplicationInput{Name: aws.String("cards-app"), Platform: aws.String("GCM"),
		Attributes: map[string]string{"PlatformCredential": "server-key", "EventDeliveryFailure": "arn:aws:sns:us-east-1:000000000000:failures"}})
	require.NoError(t, err)
	assert.Equal(t, "arn:aws:sns:us-east-1:000000000000:app/GCM/cards-app", aws.ToString(app.PlatformApplicationArn))
	attrs, err := e.sns.GetPlatformApplicationAttributes(ctx, &sns.GetPlatformApplicationAttributesInput{PlatformApplicationArn: app.PlatformApplicationArn})
	require.NoError(t, err)
	assert.NotContains(t, attrs.Attributes, "PlatformCredential", "the credential is write-only")
	assert.Equal(t, "arn:aws:sns:us-east-1:000000000000:failures", attrs.Attributes["EventDeliveryFailure"])
	_, err = e.sns.CreatePlatformApplication(ctx, &sns.CreatePlatformApplicationInput{Name: aws.String("x"), Platform: aws.String("FAX"), Attributes: map[string]string{"PlatformCredential": "k"}})
	var ip *snstypes.InvalidParameterException
	require.ErrorAs(t, err, &ip)

	ep, err := e.sns.CreatePlatformEndpoint(ctx, &sns.CreatePlatformEndpointInput{PlatformApplicationArn: app.PlatformApplicationArn, Token: aws.String("device-token"), CustomUserData: aws.String("user-1")})
	require.NoError(t, err)
	again, err := e.sns.CreatePlatformEndpoint(ctx, &sns.CreatePlatformEndpointInput{PlatformApplicationArn: app.PlatformApplicationArn, Token: aws.String("device-token")})
	require.NoError(t, err)
	assert.Equal(t, aws.ToString(ep.EndpointArn), aws.ToString(again.EndpointArn), "the same token is the same endpoint")
	list, err := e.sns.ListEndpointsByPlatformApplication(ctx, &sns.ListEndpointsByPlatformApplicationInput{PlatformApplicationArn: app.PlatformApplicationArn})
	require.NoError(t, err)
	require.Len(t, list.Endpoints, 1)
	assert.Equal(t, "user-1", list.Endpoints[0].Attributes["CustomUserData"])
	apps, err := e.sns.ListPlatformApplications(ctx, &sns.ListPlatformApplicationsInput{})
	require.NoError(t, err)
	require.Len(t, apps.PlatformApplications, 1)

	_, err = e.sns.Publish(ctx, &sns.PublishInput{TargetArn: ep.EndpointArn, Message: aws.String("your card shipped")})
	require.NoError(t, err)
	d := e.srv.EndpointDeliveries()
	require.Len(t, d, 1)
	assert.Equal(t, "application", d[0].Protocol)
	assert.Equal(t, aws.ToString(ep.EndpointArn), d[0].Endpoint)
	assert.Equal(t, "your card shipped", d[0].Body)

	_, err = e.sns.SetEndpointAttributes(ctx, &sns.SetEndpointAttributesInput{EndpointArn: ep.EndpointArn, Attributes: map[string]string{"Enabled": "false"}})
	require.NoError(t, err)
	_, err = e.sns.Publish(ctx, &sns.PublishInput{TargetArn: ep.EndpointArn, Message: aws.String("again")})
	var disabled *snstypes.EndpointDisabledException
	require.ErrorAs(t, err, &disabled)

	_, err = e.sns.DeleteEndpoint(ctx, &sns.DeleteEndpointInput{EndpointArn: ep.EndpointArn})
	require.NoError(t, err)
	_, err = e.sns.GetEndpointAttributes(ctx, &sns.GetEndpointAttributesInput{EndpointArn: ep.EndpointArn})
	var nf *snstypes.NotFoundException
	require.ErrorAs(t, err, &nf)
	_, err = e.sns.DeletePlatformApplication(ctx, &sns.DeletePlatformApplicationInput{PlatformApplicationArn: app.PlatformApplicationArn})
	require.NoError(t, err)
}

// SMS: a Publish to a phone number is recorded; SMS attributes are stored;
// an opted-out number is refused until it opts in again; sandbox numbers
// are verified with the one-time password recorded for them.
func TestSNSSMS(t *testing.T) {
	e := newSNSEnv(t)
	ctx := t.Context()
	_, err := e.sns.Publish(ctx, &sns.PublishInput{PhoneNumber: aws.String("+15555550100"), Message: aws.String("code 1234")})
	require.NoError(t, err)
	d := e.srv.EndpointDeliveries()
	require.Len(t, d, 1)
	assert.Equal(t, "sms", d[0].Protocol)
	assert.Equal(t, "+15555550100", d[0].Endpoint)
	_, err = e.sns.Publish(ctx, &sns.PublishInput{PhoneNumber: aws.String("555"), Message: aws.String("x")})
	var ip *snstypes.InvalidParameterException
	require.ErrorAs(t, err, &ip, "not E.164")

	_, err = e.sns.SetSMSAttributes(ctx, &sns.SetSMSAttributesInput{Attributes: map[string]string{"DefaultSMSType": "Transactional", "MonthlySpendLimit": "5"}})
	require.NoError(t, err)
	got, err := e.sns.GetSMSAttributes(ctx, &sns.GetSMSAttributesInput{Attributes: []string{"DefaultSMSType"}})
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"DefaultSMSType": "Transactional"}, got.Attributes)

	e.srv.OptOut("+15555550101")
	out, err := e.sns.CheckIfPhoneNumberIsOptedOut(ctx, &sns.CheckIfPhoneNumberIsOptedOutInput{PhoneNumber: aws.String("+15555550101")})
	require.NoError(t, err)
	assert.True(t, out.IsOptedOut)
	opted, err := e.sns.ListPhoneNumbersOptedOut(ctx, &sns.ListPhoneNumbersOptedOutInput{})
	require.NoError(t, err)
	assert.Equal(t, []string{"+15555550101"}, opted.PhoneNumbers)
	_, err = e.sns.Publish(ctx, &sns.PublishInput{PhoneNumber: aws.String("+15555550101"), Message: aws.String("x")})
	require.Error(t, err, "an opted-out number gets nothing")
	_, err = e.sns.OptInPhoneNumber(ctx, &sns.OptInPhoneNumberInput{PhoneNumber: aws.String("+15555550101")})
	require.NoError(t, err)
	out, err = e.sns.CheckIfPhoneNumberIsOptedOut(ctx, &sns.CheckIfPhoneNumberIsOptedOutInput{PhoneNumber: aws.String("+15555550101")})
	require.NoError(t, err)
	assert.False(t, out.IsOptedOut)

	_, err = e.sns.CreateSMSSandboxPhoneNumber(ctx, &sns.CreateSMSSandboxPhoneNumberInput{PhoneNumber: aws.String("+15555550102")})
	require.NoError(t, err)
	d = e.srv.EndpointDeliveries()
	otp := d[len(d)-1].Token
	_, err = e.sns.VerifySMSSandboxPhoneNumber(ctx, &sns.VerifySMSSandboxPhoneNumberInput{PhoneNumber: aws.String("+15555550102"), OneTimePassword: aws.String("000000")})
	require.Error(t, err, "a wrong password")
	_, err = e.sns.VerifySMSSandboxPhoneNumber(ctx, &sns.VerifySMSSandboxPhoneNumberInput{PhoneNumber: aws.String("+15555550102"), OneTimePassword: aws.String(otp)})
	require.NoError(t, err)
	sandbox, err := e.sns.ListSMSSandboxPhoneNumbers(ctx, &sns.ListSMSSandboxPhoneNumbersInput{})
	require.NoError(t, err)
	require.Len(t, sandbox.PhoneNumbers, 1)
	assert.Equal(t, snstypes.SMSSandboxPhoneNumberVerificationStatus("Verified"), sandbox.PhoneNumbers[0].Status)
	status, err := e.sns.GetSMSSandboxAccountStatus(ctx, &sns.GetSMSSandboxAccountStatusInput{})
	require.NoError(t, err)
	assert.True(t, status.IsInSandbox)
	_, err = e.sns.DeleteSMSSandboxPhoneNumber(ctx, &sns.DeleteSMSSandboxPhoneNumberInput{PhoneNumber: aws.String("+15555550102")})
	require.NoError(t, err)
}

// A topic's data protection policy is stored and read back; there are no
// origination numbers.
func TestSNSDataProtectionPolicyAndOriginationNumbers(t *testing.T) {
	e := newSNSEnv(t)
	ctx := t.Context()
	topic := e.topic("private", nil)
	policy := `{"Name":"p","Version":"2021-06-01","Statement":[]}`
	_, err := e.sns.PutDataProtectionPolicy(ctx, &sns.PutDataProtectionPolicyInput{ResourceArn: aws.String(topic), DataProtectionPolicy: aws.String(policy)})
	require.NoError(t, err)
	got, err := e.sns.GetDataProtectionPolicy(ctx, &sns.GetDataProtectionPolicyInput{ResourceArn: aws.String(topic)})
	require.NoError(t, err)
	assert.Equal(t, policy, aws.ToString(got.DataProtectionPolicy))
	_, err = e.sns.PutDataProtectionPolicy(ctx, &sns.PutDataProtectionPolicyInput{ResourceArn: aws.String(topic), DataProtectionPolicy: aws.String("{not json")})
	var ip *snstypes.InvalidParameterException
	require.ErrorAs(t, err, &ip)
	nums, err := e.sns.ListOriginationNumbers(ctx, &sns.ListOriginationNumbersInput{})
	require.NoError(t, err)
	assert.Empty(t, nums.PhoneNumbers)
}
