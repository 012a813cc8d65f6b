package awsworld

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/firedrill-ir/firedrill/cloudsim/world"
)

// Managed policies firedrill knows by ARN.
var managedPolicies = map[string]string{
	"arn:aws:iam::aws:policy/AdministratorAccess": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`,
	"arn:aws:iam::aws:policy/AWSDenyAll":          `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}`,
	"arn:aws:iam::aws:policy/ReadOnlyAccess": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",` +
		`"Action":["*:Describe*","*:List*","*:Get*","*:Lookup*","s3:Head*","sts:GetCallerIdentity"],"Resource":"*"}]}`,
	"arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",` +
		`"Action":["ssm:*","ssmmessages:*","ec2messages:*","s3:PutObject","s3:GetObject"],"Resource":"*"}]}`,
	"arn:aws:iam::aws:policy/AmazonS3FullAccess": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`,
	"arn:aws:iam::aws:policy/AmazonEC2FullAccess": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",` +
		`"Action":["ec2:*","autoscaling:*","cloudwatch:*"],"Resource":"*"}]}`,
}

// ManagedPolicyDocument returns the document of a known managed policy.
func ManagedPolicyDocument(arn string) (string, bool) {
	doc, ok := managedPolicies[arn]
	return doc, ok
}

// Principal is the caller behind a set of credentials.
type Principal struct {
	Kind        string // "user", "session", "anonymous"
	ARN         string
	ID          string // AIDA… for users, AROA…:session for sessions
	Account     string
	Name        string
	AccessKeyID string
	Secret      string
	User        *User
	Role        *Role
	Session     *Session
}

// IdentityType is the principal's CloudTrail userIdentity.type.
func (p *Principal) IdentityType() string {
	switch p.Kind {
	case "user":
		return "IAMUser"
	case "session":
		return "AssumedRole"
	}
	return "Anonymous"
}

// Authentication errors, mapped to each protocol's code by the front ends.
var (
	ErrUnknownAccessKey  = errors.New("the security token included in the request is invalid")
	ErrInactiveAccessKey = errors.New("the access key is inactive")
	ErrExpiredToken      = errors.New("the security token included in the request is expired")
	// ErrInvalidSessionToken: the request carries a session token that is
	// not the one issued with its access key (or one at all with a
	// long-term key).
	ErrInvalidSessionToken = errors.New("the session token included in the request does not belong to its access key")
)

// Authenticate resolves an access key ID and the session token that
// came with it (X-Amz-Security-Token, "" when absent) to a principal.
//
// Temporary credentials are three parts, and AWS accepts a session key
// (ASIA…) only with the session token issued with it ("Use temporary
// credentials with AWS resources", IAM User Guide): without it the key is
// not recognised, and a wrong token is refused as invalid
// (InvalidClientTokenId, "The security token included in the request is
// invalid", on STS). A long-term key (AKIA…) sent with a session token is
// refused the same way, the familiar symptom of a stale AWS_SESSION_TOKEN.
func (s *State) Authenticate(akid, token string) (*Principal, error) {
	now := s.w.Now()
	if k, ok := s.authorizingKey(akid); ok {
		u := s.Users.Lookup(k.User)
		if u == nil {
			return nil, ErrUnknownAccessKey
		}
		if token != "" {
			return nil, ErrInvalidSessionToken
		}
		if k.Status != "Active" {
			return nil, ErrInactiveAccessKey
		}
		return &Principal{Kind: "user", ARN: u.ARN, ID: u.ID, Account: u.Account, Name: u.Name,
			AccessKeyID: akid, Secret: k.Secret, User: u}, nil
	}
	if sess, ok := s.Sessions.Get(akid); ok {
		switch {
		case token == "":
			return nil, ErrUnknownAccessKey
		case subtle.ConstantTimeCompare([]byte(token), []byte(sess.Token)) != 1:
			return nil, ErrInvalidSessionToken
		}
		if !now.Before(sess.Expires) {
			return nil, ErrExpiredToken
		}
		if sess.User != "" {
			u := s.Users.Lookup(sess.User)
			if u == nil {
				return nil, ErrUnknownAccessKey
			}
			return &Principal{Kind: "user", ARN: u.ARN, ID: u.ID, Account: u.Account, Name: u.Name,
				AccessKeyID: akid, Secret: sess.Secret, User: u, Session: sess}, nil
		}
		r := s.Roles.Lookup(sess.Role)
		if r == nil {
			return nil, ErrUnknownAccessKey
		}
		return &Principal{Kind: "session",
			ARN: fmt.Sprintf("arn:aws:sts::%s:assumed-role/%s/%s", r.Account, r.Name, sess.SessionName),
			ID:  r.ID + ":" + sess.SessionName, Account: r.Account, Name: sess.SessionName,
			AccessKeyID: akid, Secret: sess.Secret, Role: r, Session: sess}, nil
	}
	return nil, ErrUnknownAccessKey
}

// IdentityPolicies returns every identity policy that applies to p,
// inline and managed, in a stable order: the ones authorization sees, which
// lag a recent change until it has propagated (propagation.go).
func (s *State) IdentityPolicies(p *Principal) ([]*world.Policy, error) {
	var inline map[string]string
	var managed []string
	switch {
	case p.User != nil:
		inline, managed = s.authorizingGrants("user", p.User.Name, p.User.Policies, p.User.Managed)
	case p.Role != nil:
		inline, managed = s.authorizingGrants("role", p.Role.Name, p.Role.Policies, p.Role.Managed)
	default:
		return nil, nil
	}
	if p.User != nil {
		// A user also gets its groups' policies (groups.go).
		gInline, gManaged := s.groupGrants(p.User.Name)
		managed = append(slices.Clone(managed), gManaged...)
		if len(gInline) > 0 {
			inline = maps.Clone(inline)
			if inline == nil {
				inline = map[string]string{}
			}
			for i, doc := range gInline {
				inline[fmt.Sprintf("\x00group/%03d", i)] = doc
			}
		}
	}
	var out []*world.Policy
	for _, arn := range managed {
		doc, ok := managedPolicies[arn]
		if !ok {
			continue
		}
		pol, err := s.parsedPolicy(doc)
		if err != nil {
			return nil, fmt.Errorf("managed policy %s: %w", arn, err)
		}
		out = append(out, pol)
	}
	for _, name := range world.SortedKeys(inline) {
		pol, err := s.parsedPolicy(inline[name])
		if err != nil {
			return nil, fmt.Errorf("inline policy %s: %w", name, err)
		}
		out = append(out, pol)
	}
	return out, nil
}

// RequestContext returns the global condition keys for a call by p.
// aws:TokenIssueTime is present only for temporary credentials, so a
// condition on it does not match a long-term key's calls.
func (s *State) RequestContext(p *Principal, sourceIP string) world.Context {
	ctx := world.Context{}
	ctx.Set("aws:CurrentTime", world.IAMTime(s.w.Now()))
	ctx.Set("aws:PrincipalArn", p.ARN)
	ctx.Set("aws:SourceIp", sourceIP)
	if p.Account != "" {
		ctx.Set("aws:PrincipalAccount", p.Account)
	}
	if p.Session != nil {
		ctx.Set("aws:TokenIssueTime", p.Session.IssuedAt.UTC().Format(time.RFC3339Nano))
		if p.Role != nil {
			ctx.Set("aws:PrincipalArn", p.Role.ARN)
		}
	}
	if p.User != nil {
		ctx.Set("aws:username", p.User.Name)
	}
	return ctx
}

// Authorize decides an identity-based request by p. Resource policies
// (bucket policies) are layered on by the storage front end.
func (s *State) Authorize(p *Principal, req world.Request) (world.Decision, error) {
	d, _, err := s.Explain(p, req)
	return d, err
}

// Explain is Authorize that also names the resource that decided
// a denial (see Explain), for the error message.
func (s *State) Explain(p *Principal, req world.Request) (world.Decision, string, error) {
	pols, err := s.IdentityPolicies(p)
	if err != nil {
		return world.ExplicitDeny, "", err
	}
	d, at := world.Explain(pols, req)
	return d, at, nil
}

// parsedPolicy parses a policy document once and reuses the result:
// every authorized call evaluates the caller's policies, and parsing their
// JSON each time was a visible share of a call's cost. Parsed policies are
// never mutated, so sharing them is safe; the cache is keyed by the
// document's text, so an edited policy is parsed afresh.
func (s *State) parsedPolicy(doc string) (*world.Policy, error) {
	if p, ok := s.policyCache[doc]; ok {
		return p, nil
	}
	p, err := world.ParsePolicy(doc)
	if err != nil {
		return nil, err
	}
	if s.policyCache == nil || len(s.policyCache) > 4096 {
		s.policyCache = map[string]*world.Policy{}
	}
	s.policyCache[doc] = p
	return p, nil
}
