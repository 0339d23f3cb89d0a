package snssqstest

import (
	"encoding/json"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/google/uuid"
)

// Mobile push and SMS, stored and recorded: platform applications and
// their endpoints (CreatePlatformApplication, CreatePlatformEndpoint, ...),
// Publish to an endpoint (TargetArn) or a phone number, SMS attributes,
// opt-outs and the SMS sandbox. No push service or phone is ever reached;
// each message is recorded as an EndpointDelivery.

// snsPlatforms are the push platforms CreatePlatformApplication accepts.
var snsPlatforms = map[string]bool{
	"ADM": true, "APNS": true, "APNS_SANDBOX": true, "APNS_VOIP": true, "APNS_VOIP_SANDBOX": true,
	"BAIDU": true, "GCM": true, "MACOS": true, "MACOS_SANDBOX": true, "MPNS": true, "WNS": true,
}

// snsNameRE is what a platform application's name may hold.
var snsNameRE = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

// snsNotFound is NotFound (HTTP 404) with message.
func snsNotFound(message string) *snsError {
	return &snsError{status: http.StatusNotFound, code: "NotFound", message: message}
}

// snsPhoneRE is a phone number in E.164 form.
var snsPhoneRE = regexp.MustCompile(`^\+[1-9][0-9]{1,14}$`)

// snsPlatformApp is a platform application and its endpoints (by ARN).
type snsPlatformApp struct {
	arn       string
	attrs     map[string]string
	endpoints map[string]*snsPlatformEndpoint
}

type snsPlatformEndpoint struct {
	arn   string
	attrs map[string]string // Token, CustomUserData, Enabled
}

// snsMobile is a service's mobile and SMS state, guarded by snsService.mu.
type snsMobile struct {
	apps      map[string]*snsPlatformApp // by ARN
	smsAttrs  map[string]string
	optedOut  map[string]bool
	sandbox   map[string]string          // phone number -> "Pending" or "Verified"
	otps      map[string]string          // phone number -> one-time password sent
	endpoints map[string]*snsPlatformApp // endpoint ARN -> its application
}

func (m *snsMobile) init() {
	if m.apps == nil {
		m.apps, m.smsAttrs, m.optedOut = map[string]*snsPlatformApp{}, map[string]string{}, map[string]bool{}
		m.sandbox, m.otps, m.endpoints = map[string]string{}, map[string]string{}, map[string]*snsPlatformApp{}
	}
}

func (n *snsService) createPlatformApplication(name, platform string, attrs map[string]string) (string, *snsError) {
	switch {
	case name == "" || len(name) > 256 || !snsNameRE.MatchString(name):
		return "", snsInvalidParameter("Invalid parameter: Name")
	case !snsPlatforms[platform]:
		return "", snsInvalidParameter("Invalid parameter: Platform")
	case attrs["PlatformCredential"] == "" && platform != "APNS" && platform != "APNS_SANDBOX":
		return "", snsInvalidParameter("Invalid parameter: Attributes Reason: PlatformCredential attribute is required")
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.mobile.init()
	arn := "arn:aws:sns:" + n.region + ":" + n.account + ":app/" + platform + "/" + name
	if app := n.mobile.apps[arn]; app != nil {
		return arn, nil // idempotent
	}
	stored := maps.Clone(attrs)
	delete(stored, "PlatformCredential") // write-only, as in AWS
	n.mobile.apps[arn] = &snsPlatformApp{arn: arn, attrs: stored, endpoints: map[string]*snsPlatformEndpoint{}}
	return arn, nil
}

func (n *snsService) platformAppLocked(arn string) (*snsPlatformApp, *snsError) {
	n.mobile.init()
	if arn == "" {
		return nil, snsInvalidParameter("Invalid parameter: PlatformApplicationArn")
	}
	app := n.mobile.apps[arn]
	if app == nil {
		return nil, snsNotFound("PlatformApplication does not exist")
	}
	return app, nil
}

func (n *snsService) platformAppAttributes(arn string) (map[string]string, *snsError) {
	n.mu.Lock()
	defer n.mu.Unlock()
	app, err := n.platformAppLocked(arn)
	if err != nil {
		return nil, err
	}
	return maps.Clone(app.attrs), nil
}

func (n *snsService) setPlatformAppAttributes(arn string, attrs map[string]string) *snsError {
	n.mu.Lock()
	defer n.mu.Unlock()
	app, err := n.platformAppLocked(arn)
	if err != nil {
		return err
	}
	for k, v := range attrs {
		if k != "PlatformCredential" {
			app.attrs[k] = v
		}
	}
	return nil
}

func (n *snsService) listPlatformApplications() []snsPlatformAppMember {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.mobile.init()
	out := []snsPlatformAppMember{}
	for _, arn := range slices.Sorted(maps.Keys(n.mobile.apps)) {
		out = append(out, snsPlatformAppMember{PlatformApplicationArn: arn, Attributes: entriesOf(n.mobile.apps[arn].attrs)})
	}
	return out
}

func (n *snsService) deletePlatformApplication(arn string) *snsError {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.mobile.init()
	if app := n.mobile.apps[arn]; app != nil {
		for e := range app.endpoints {
			delete(n.mobile.endpoints, e)
		}
		delete(n.mobile.apps, arn)
	}
	return nil // deleting a missing application succeeds, as in AWS
}

func (n *snsService) createPlatformEndpoint(appARN, token, userData string, attrs map[string]string) (string, *snsError) {
	n.mu.Lock()
	defer n.mu.Unlock()
	app, err := n.platformAppLocked(appARN)
	if err != nil {
		return "", err
	}
	if token == "" {
		return "", snsInvalidParameter("Invalid parameter: Token")
	}
	for _, e := range app.endpoints {
		if e.attrs["Token"] == token {
			return e.arn, nil // the same token: the same endpoint
		}
	}
	arn := strings.Replace(appARN, ":app/", ":endpoint/", 1) + "/" + uuid.NewString()
	a := map[string]string{"Token": token, "Enabled": "true"}
	if userData != "" {
		a["CustomUserData"] = userData
	}
	maps.Copy(a, attrs)
	app.endpoints[arn] = &snsPlatformEndpoint{arn: arn, attrs: a}
	n.mobile.endpoints[arn] = app
	return arn, nil
}

func (n *snsService) endpointLocked(arn string) (*snsPlatformEndpoint, *snsError) {
	n.mobile.init()
	if app := n.mobile.endpoints[arn]; app != nil {
		return app.endpoints[arn], nil
	}
	return nil, snsNotFound("Endpoint does not exist")
}

func (n *snsService) endpointAttributes(arn string) (map[string]string, *snsError) {
	n.mu.Lock()
	defer n.mu.Unlock()
	e, err := n.endpointLocked(arn)
	if err != nil {
		return nil, err
	}
	return maps.Clone(e.attrs), nil
}

func (n *snsService) setEndpointAttributes(arn string, attrs map[string]string) *snsError {
	n.mu.Lock()
	defer n.mu.Unlock()
	e, err := n.endpointLocked(arn)
	if err != nil {
		return err
	}
	maps.Copy(e.attrs, attrs)
	return nil
}

func (n *snsService) listEndpoints(appARN string) ([]snsEndpointMember, *snsError) {
	n.mu.Lock()
	defer n.mu.Unlock()
	app, err := n.platformAppLocked(appARN)
	if err != nil {
		return nil, err
	}
	out := []snsEndpointMember{}
	for _, arn := range slices.Sorted(maps.Keys(app.endpoints)) {
		out = append(out, snsEndpointMember{EndpointArn: arn, Attributes: entriesOf(app.endpoints[arn].attrs)})
	}
	return out, nil
}

func (n *snsService) deleteEndpoint(arn string) *snsError {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.mobile.init()
	if app := n.mobile.endpoints[arn]; app != nil {
		delete(app.endpoints, arn)
		delete(n.mobile.endpoints, arn)
	}
	return nil
}

// publishDirect records a Publish to a platform endpoint (TargetArn) or a
// phone number and returns its message id.
func (n *snsService) publishDirect(targetARN, phone, message string) (string, *snsError) {
	n.mu.Lock()
	n.mobile.init()
	protocol, endpoint := "application", targetARN
	if phone != "" {
		if !snsPhoneRE.MatchString(phone) {
			n.mu.Unlock()
			return "", snsInvalidParameter("Invalid parameter: PhoneNumber Reason: %s is not valid to publish to", phone)
		}
		if n.mobile.optedOut[phone] {
			n.mu.Unlock()
			return "", snsBadRequest("OptedOut", "Phone number is opted out")
		}
		protocol, endpoint = "sms", phone
	} else {
		e, err := n.endpointLocked(targetARN)
		if err != nil {
			n.mu.Unlock()
			return "", err
		}
		if e.attrs["Enabled"] == "false" {
			n.mu.Unlock()
			return "", snsBadRequest("EndpointDisabled", "Endpoint is disabled")
		}
	}
	n.mu.Unlock()
	id := uuid.NewString()
	n.endpoints.record(EndpointDelivery{Type: "Notification", Protocol: protocol, Endpoint: endpoint, Body: message})
	return id, nil
}

func (n *snsService) setSMSAttributes(attrs map[string]string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.mobile.init()
	maps.Copy(n.mobile.smsAttrs, attrs)
}

func (n *snsService) smsAttributes(names []string) map[string]string {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.mobile.init()
	if len(names) == 0 {
		return maps.Clone(n.mobile.smsAttrs)
	}
	out := map[string]string{}
	for _, k := range names {
		if v, ok := n.mobile.smsAttrs[k]; ok {
			out[k] = v
		}
	}
	return out
}

// OptOut marks phone as opted out of SMS in the default account and
// region, as a reply of STOP would; tests use it before
// CheckIfPhoneNumberIsOptedOut and OptInPhoneNumber.
func (s *Server) OptOut(phone string) {
	n := s.sns
	n.mu.Lock()
	defer n.mu.Unlock()
	n.mobile.init()
	n.mobile.optedOut[phone] = true
}

func (n *snsService) phoneOptedOut(phone string) (bool, *snsError) {
	if !snsPhoneRE.MatchString(phone) {
		return false, snsInvalidParameter("Invalid parameter: PhoneNumber")
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.mobile.init()
	return n.mobile.optedOut[phone], nil
}

func (n *snsService) listOptedOut() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.mobile.init()
	return slices.Sorted(maps.Keys(n.mobile.optedOut))
}

func (n *snsService) optIn(phone string) *snsError {
	if !snsPhoneRE.MatchString(phone) {
		return snsInvalidParameter("Invalid parameter: PhoneNumber")
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.mobile.init()
	delete(n.mobile.optedOut, phone)
	return nil
}

// createSandboxNumber adds phone to the SMS sandbox, pending, and records
// the one-time password "sent" to it (EndpointDeliveries).
func (n *snsService) createSandboxNumber(phone string) *snsError {
	if !snsPhoneRE.MatchString(phone) {
		return snsInvalidParameter("Invalid parameter: PhoneNumber")
	}
	n.mu.Lock()
	n.mobile.init()
	otp := newToken()[:6]
	n.mobile.sandbox[phone], n.mobile.otps[phone] = "Pending", otp
	n.mu.Unlock()
	n.endpoints.record(EndpointDelivery{Type: "SandboxVerification", Protocol: "sms", Endpoint: phone, Body: otp, Token: otp})
	return nil
}

func (n *snsService) verifySandboxNumber(phone, otp string) *snsError {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.mobile.init()
	if _, ok := n.mobile.sandbox[phone]; !ok {
		return snsNotFound("Phone number does not exist in the sandbox")
	}
	if otp == "" || n.mobile.otps[phone] != otp {
		return snsBadRequest("VerificationException", "Invalid one-time password")
	}
	n.mobile.sandbox[phone] = "Verified"
	return nil
}

func (n *snsService) deleteSandboxNumber(phone string) *snsError {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.mobile.init()
	if _, ok := n.mobile.sandbox[phone]; !ok {
		return snsNotFound("Phone number does not exist in the sandbox")
	}
	delete(n.mobile.sandbox, phone)
	delete(n.mobile.otps, phone)
	return nil
}

func (n *snsService) listSandboxNumbers() []snsSandboxNumberXML {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.mobile.init()
	out := []snsSandboxNumberXML{}
	for _, p := range slices.Sorted(maps.Keys(n.mobile.sandbox)) {
		out = append(out, snsSandboxNumberXML{PhoneNumber: p, Status: n.mobile.sandbox[p]})
	}
	return out
}

// entriesOf lists a map as the query protocol's key/value entries.
func entriesOf(m map[string]string) []snsAttributeEntry {
	out := make([]snsAttributeEntry, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, snsAttributeEntry{Key: k, Value: m[k]})
	}
	return out
}

// snsPlatformAppMember is one platform application of
// ListPlatformApplications.
type snsPlatformAppMember struct {
	PlatformApplicationArn string
	Attributes             []snsAttributeEntry `xml:"Attributes>entry"`
}

// snsEndpointMember is one endpoint of ListEndpointsByPlatformApplication.
type snsEndpointMember struct {
	EndpointArn string
	Attributes  []snsAttributeEntry `xml:"Attributes>entry"`
}

type snsSandboxNumberXML struct {
	PhoneNumber string
	Status      string
}

// putDataProtectionPolicy stores a topic's data protection policy (a JSON
// document; it is not applied to messages).
func (n *snsService) putDataProtectionPolicy(arn, policy string) *snsError {
	if policy == "" || !json.Valid([]byte(policy)) {
		return snsInvalidParameter("Invalid parameter: DataProtectionPolicy")
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	t, err := n.lookupTopicLocked(arn, "ResourceArn")
	if err != nil {
		return err
	}
	t.dataProtection = policy
	return nil
}

// dataProtectionPolicy returns a topic's data protection policy, "" for none.
func (n *snsService) dataProtectionPolicy(arn string) (string, *snsError) {
	n.mu.Lock()
	defer n.mu.Unlock()
	t, err := n.lookupTopicLocked(arn, "ResourceArn")
	if err != nil {
		return "", err
	}
	return t.dataProtection, nil
}
