package awssim

import (
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/awsworld"
)

// stsService serves STS (awsQuery). GetCallerIdentity needs no permission,
// as in AWS. AssumeRole authorizes itself (Public here) because STS combines
// the role's trust policy with the caller's identity policies.
func stsService() *Service {
	return &Service{
		Name: "sts", EventSource: "sts.amazonaws.com",
		proto: awsQuery{xmlns: "https://sts.amazonaws.com/doc/2011-06-15/"},
		Ops: map[string]*Op{
			"GetCallerIdentity": {Public: true, Latency: 60e6, Handle: getCallerIdentity},
			"AssumeRole":        {Public: true, Latency: 120e6, Handle: stsAssumeRole},
			"GetSessionToken":   {Public: true, Latency: 90e6, Handle: stsGetSessionToken},
		},
	}
}

func getCallerIdentity(c *Call) (any, error) {
	p := c.Caller
	id := p.ID
	if p.Kind == "session" {
		id = p.Role.ID + ":" + p.Session.SessionName
	}
	return []*X{T("Arn", p.ARN), T("UserId", id), T("Account", p.Account)}, nil
}

var (
	roleARNRe     = regexp.MustCompile(`^arn:aws:iam::(\d{12}):role/(?:[\x21-\x7e]*/)?([\w+=,.@-]{1,64})$`)
	sessionNameRe = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)
)

// Session duration bounds of AssumeRole. Role chaining (a session assuming a
// role) is capped at one hour whatever the role allows.
const (
	minSessionSeconds   = 900
	maxSessionSeconds   = 43200
	chainedSessionLimit = 3600
)

func stsValidation(format string, args ...any) error {
	return Errf(400, "ValidationError", format, args...)
}

// stsAssumeRole mints a session for a role. The decision follows IAM: an
// explicit deny in the caller's identity policies or the trust policy wins;
// otherwise the trust policy must allow the caller, and unless it names the
// caller itself, the caller's identity policies must allow sts:AssumeRole.
// A missing role is AccessDenied, as STS does not reveal which roles exist.
func stsAssumeRole(c *Call) (any, error) {
	arn := c.Form.Get("RoleArn")
	name := c.Form.Get("RoleSessionName")
	if arn == "" {
		return nil, stsValidation("1 validation error detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null")
	}
	if name == "" {
		return nil, stsValidation("1 validation error detected: Value null at 'roleSessionName' failed to satisfy constraint: Member must not be null")
	}
	if !sessionNameRe.MatchString(name) {
		return nil, stsValidation("1 validation error detected: Value '%s' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*", name)
	}
	if len(arn) < 20 || len(arn) > 2048 || !roleARNRe.MatchString(arn) {
		return nil, stsValidation("%s is invalid", arn)
	}
	secs := 3600
	if v := c.Form.Get("DurationSeconds"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return nil, stsValidation("1 validation error detected: Value '%s' at 'durationSeconds' failed to satisfy constraint: Member must be an integer", v)
		}
		secs = n
	}
	if secs < minSessionSeconds {
		return nil, stsValidation("1 validation error detected: Value '%d' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to %d", secs, minSessionSeconds)
	}
	if secs > maxSessionSeconds {
		return nil, stsValidation("1 validation error detected: Value '%d' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to %d", secs, maxSessionSeconds)
	}
	c.Param("roleArn", arn)
	c.Param("roleSessionName", name)
	c.Param("durationSeconds", strconv.Itoa(secs))
	c.Touch("AWS::IAM::Role", arn)

	denied := func(why string) error {
		return &APIError{Status: 403, Code: "AccessDenied", Sender: true,
			Message: fmt.Sprintf("User: %s is not authorized to perform: sts:AssumeRole on resource: %s%s", c.Caller.ARN, arn, why)}
	}
	role := awsworld.Of(c.World).RoleByARN(arn)
	if role == nil || c.Hidden(role.CreateDate) { // a just-created role may not have propagated yet
		return nil, denied("")
	}
	ctx := awsworld.Of(c.World).RequestContext(c.Caller, c.SourceIP)
	ctx.Set("sts:RoleSessionName", name)
	ident, err := awsworld.Of(c.World).Authorize(c.Caller, world.Request{Action: "sts:AssumeRole", Resources: []string{arn}, Context: ctx})
	if err != nil {
		return nil, fmt.Errorf("evaluating identity policies: %w", err)
	}
	if ident == world.ExplicitDeny {
		return nil, denied(" with an explicit deny in an identity-based policy")
	}
	trust, byName, err := awsworld.Of(c.World).TrustDecision(role, c.Caller, ctx)
	if err != nil {
		return nil, fmt.Errorf("evaluating trust policy: %w", err)
	}
	switch {
	case trust == world.ExplicitDeny:
		return nil, denied(" with an explicit deny in a resource-based policy")
	case trust != world.Allowed:
		return nil, denied("")
	case ident != world.Allowed && !byName:
		return nil, denied(" because no identity-based policy allows the sts:AssumeRole action")
	}

	if c.Caller.Kind == "session" && secs > chainedSessionLimit {
		return nil, stsValidation("The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.")
	}
	if time.Duration(secs)*time.Second > role.MaxSession {
		return nil, stsValidation("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	}
	s, err := awsworld.Of(c.World).IssueSession(role.Name, name, "assume-role:"+c.Caller.ARN, time.Duration(secs)*time.Second)
	if err != nil {
		return nil, fmt.Errorf("issuing session: %w", err)
	}
	c.Touch("AWS::STS::AssumedRole", s.AccessKeyID)
	return []*X{
		E("Credentials", T("AccessKeyId", s.AccessKeyID), T("SecretAccessKey", s.Secret),
			T("SessionToken", s.Token), T("Expiration", s.Expires)),
		E("AssumedRoleUser", T("AssumedRoleId", role.ID+":"+name),
			T("Arn", fmt.Sprintf("arn:aws:sts::%s:assumed-role/%s/%s", role.Account, role.Name, name))),
	}, nil
}

// stsGetSessionToken mints temporary credentials for the calling IAM user
// (DurationSeconds 900 to 129600, default 12 hours). As in AWS it needs no
// allow, but an explicit deny of sts:GetSessionToken refuses it; sessions
// cannot call it.
func stsGetSessionToken(c *Call) (any, error) {
	p := c.Caller
	if p.Kind != "user" || p.Session != nil {
		return nil, &APIError{Status: 403, Code: "AccessDenied", Message: "Cannot call GetSessionToken with session credentials", Sender: true}
	}
	req := world.Request{Action: "sts:GetSessionToken", Context: awsworld.Of(c.World).RequestContext(p, c.SourceIP)}
	if d, err := awsworld.Of(c.World).Authorize(p, req); err != nil || d == world.ExplicitDeny {
		return nil, &APIError{Status: 403, Code: "AccessDenied", Sender: true,
			Message: fmt.Sprintf("User: %s is not authorized to perform: sts:GetSessionToken with an explicit deny in an identity-based policy", p.ARN)}
	}
	secs, err := c.Form.Int("DurationSeconds", 43200)
	if err != nil || secs < 900 || secs > 129600 {
		return nil, stsValidation("1 validation error detected: Value '%s' at 'durationSeconds' failed to satisfy constraint: Member must have value between 900 and 129600", c.Form.Get("DurationSeconds"))
	}
	sess, err := awsworld.Of(c.World).IssueUserSession(p.Name, time.Duration(secs)*time.Second)
	if err != nil {
		return nil, err
	}
	c.Touch("AWS::IAM::User", p.Name)
	c.Param("durationSeconds", strconv.Itoa(secs))
	return []*X{E("Credentials", T("AccessKeyId", sess.AccessKeyID), T("SecretAccessKey", sess.Secret),
		T("SessionToken", sess.Token), T("Expiration", sess.Expires))}, nil
}
