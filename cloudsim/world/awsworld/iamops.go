package awsworld

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/firedrill-ir/firedrill/cloudsim/world"
)

// IAM mutation errors. Front ends map them to their wire codes with
// errors.Is; the wrapped message is what the client sees.
var (
	ErrNoSuchEntity      = errors.New("NoSuchEntity")
	ErrEntityExists      = errors.New("EntityAlreadyExists")
	ErrDeleteConflict    = errors.New("DeleteConflict")
	ErrLimitExceeded     = errors.New("LimitExceeded")
	ErrMalformedPolicy   = errors.New("MalformedPolicyDocument")
	ErrInvalidIAMRequest = errors.New("ValidationError")
)

// entityErr wraps a sentinel with an AWS-worded message: the message is what
// the client reads, the sentinel is what the front end maps to a code.
type entityErr struct {
	kind error
	msg  string
}

func (e *entityErr) Error() string { return e.msg }
func (e *entityErr) Unwrap() error { return e.kind }

func iamErr(kind error, format string, args ...any) error {
	return &entityErr{kind: kind, msg: fmt.Sprintf(format, args...)}
}

// Quotas IAM enforces that a responder can run into.
const (
	MaxAccessKeysPerUser      = 2
	MaxRolesPerProfile        = 1
	MaxInlineUserPolicyChars  = 2048
	MaxInlineRolePolicyChars  = 10240
	DefaultRoleSessionSeconds = 3600
)

// TouchAccessKey records that a long-term access key authenticated a
// call, so GetAccessKeyLastUsed can answer as IAM does. Session (ASIA) keys
// are not access keys and are ignored.
func (s *State) TouchAccessKey(akid, service, region string, now time.Time) {
	k, ok := s.AccessKeys.Get(akid)
	if !ok {
		return
	}
	k.LastUsed, k.LastUsedService, k.LastUsedRegion = now, service, region
}

// CreateUser creates a user under path (default "/").
func (s *State) CreateUser(account, name, path string, tags world.Tags) (*User, error) {
	if _, ok := s.Users.Get(name); ok {
		return nil, iamErr(ErrEntityExists, "User with name %s already exists.", name)
	}
	if path == "" {
		path = "/"
	}
	u := s.AddUser(account, name)
	u.Path = path
	u.ARN = fmt.Sprintf("arn:aws:iam::%s:user%s%s", account, path, name)
	for k, v := range tags {
		u.Tags[k] = v
	}
	return u, nil
}

// User finds a user by name.
func (s *State) User(name string) (*User, error) {
	u, ok := s.Users.Get(name)
	if !ok {
		return nil, iamErr(ErrNoSuchEntity, "The user with name %s cannot be found.", name)
	}
	return u, nil
}

// DeleteUser deletes a user that no longer holds keys or policies, as
// IAM requires (DeleteConflict otherwise).
func (s *State) DeleteUser(name string) error {
	u, err := s.User(name)
	if err != nil {
		return err
	}
	for _, id := range s.AccessKeys.Keys() {
		if s.AccessKeys.Lookup(id).User == name {
			return iamErr(ErrDeleteConflict, "Cannot delete entity, must delete access keys first.")
		}
	}
	if len(u.Policies) > 0 {
		return iamErr(ErrDeleteConflict, "Cannot delete entity, must delete policies first.")
	}
	if len(u.Managed) > 0 {
		return iamErr(ErrDeleteConflict, "Cannot delete entity, must detach all policies first.")
	}
	if len(s.GroupsOfUser(name)) > 0 {
		return iamErr(ErrDeleteConflict, "Cannot delete entity, must remove users from group first.")
	}
	if _, ok := s.logins[name]; ok {
		return iamErr(ErrDeleteConflict, "Cannot delete entity, must delete login profile first.")
	}
	if len(s.mfa[name]) > 0 {
		return iamErr(ErrDeleteConflict, "Cannot delete entity, must delete MFA device first.")
	}
	s.Users.Delete(name)
	s.forgetIAM("user", name)
	return nil
}

// UserKeys returns a user's access keys, oldest first.
func (s *State) UserKeys(user string) []*AccessKey {
	var out []*AccessKey
	for _, k := range s.AccessKeys.All() {
		if k.User == user {
			out = append(out, k)
		}
	}
	slices.SortStableFunc(out, func(a, b *AccessKey) int { return a.CreateDate.Compare(b.CreateDate) })
	return out
}

// CreateAccessKey issues a key, enforcing IAM's two-keys-per-user quota.
func (s *State) CreateAccessKey(user string) (*AccessKey, error) {
	if _, err := s.User(user); err != nil {
		return nil, err
	}
	if len(s.UserKeys(user)) >= MaxAccessKeysPerUser {
		return nil, iamErr(ErrLimitExceeded, "Cannot exceed quota for AccessKeysPerUser: %d", MaxAccessKeysPerUser)
	}
	return s.AddAccessKey(user)
}

// UserAccessKey finds a key that belongs to user.
func (s *State) UserAccessKey(user, akid string) (*AccessKey, error) {
	if _, err := s.User(user); err != nil {
		return nil, err
	}
	k, ok := s.AccessKeys.Get(akid)
	if !ok || k.User != user {
		return nil, iamErr(ErrNoSuchEntity, "The Access Key with id %s cannot be found.", akid)
	}
	return k, nil
}

// UpdateAccessKey sets a key Active or Inactive. Called directly
// (seeding, harnesses) it takes effect at once; through the wire
// (AccessKeyChange) authentication sees it once it has propagated.
// IR deactivates rather than deletes: the key stays as evidence and can be
// re-enabled.
func (s *State) UpdateAccessKey(user, akid, status string) error {
	if status != "Active" && status != "Inactive" {
		return iamErr(ErrInvalidIAMRequest, "1 validation error detected: Value '%s' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [Active, Inactive]", status)
	}
	k, err := s.UserAccessKey(user, akid)
	if err != nil {
		return err
	}
	k.Status = status
	return nil
}

// DeleteAccessKey removes a key permanently (see
// AccessKeyChange for the propagation of a deletion made through the
// wire).
func (s *State) DeleteAccessKey(user, akid string) error {
	if _, err := s.UserAccessKey(user, akid); err != nil {
		return err
	}
	s.AccessKeys.Delete(akid)
	return nil
}

// CreateRole creates a role with a validated trust policy.
func (s *State) CreateRole(account, name, path, trust string, maxSession time.Duration, tags world.Tags) (*Role, error) {
	if _, ok := s.Roles.Get(name); ok {
		return nil, iamErr(ErrEntityExists, "Role with name %s already exists.", name)
	}
	if err := ValidateTrustPolicy(trust); err != nil {
		return nil, err
	}
	if path == "" {
		path = "/"
	}
	if maxSession == 0 {
		maxSession = time.Hour
	}
	r := s.AddRole(account, name, trust)
	r.Path = path
	r.ARN = fmt.Sprintf("arn:aws:iam::%s:role%s%s", account, path, name)
	r.MaxSession = maxSession
	for k, v := range tags {
		r.Tags[k] = v
	}
	return r, nil
}

// Role finds a role by name.
func (s *State) Role(name string) (*Role, error) {
	r, ok := s.Roles.Get(name)
	if !ok {
		return nil, iamErr(ErrNoSuchEntity, "The role with name %s cannot be found.", name)
	}
	return r, nil
}

// DeleteRole deletes a role that is in no instance profile and has no
// policies. Sessions already issued for it stop authenticating, because
// their role no longer exists.
func (s *State) DeleteRole(name string) error {
	r, err := s.Role(name)
	if err != nil {
		return err
	}
	if len(s.ProfilesForRole(name)) > 0 {
		return iamErr(ErrDeleteConflict, "Cannot delete entity, must remove roles from instance profile first.")
	}
	if len(r.Policies) > 0 {
		return iamErr(ErrDeleteConflict, "Cannot delete entity, must delete policies first.")
	}
	if len(r.Managed) > 0 {
		return iamErr(ErrDeleteConflict, "Cannot delete entity, must detach all policies first.")
	}
	s.Roles.Delete(name)
	s.forgetIAM("role", name)
	return nil
}

// UpdateAssumeRolePolicy replaces a role's trust policy. Sessions
// already issued keep working until they expire; only new AssumeRole calls
// see the new trust.
func (s *State) UpdateAssumeRolePolicy(name, doc string) error {
	r, err := s.Role(name)
	if err != nil {
		return err
	}
	if err := ValidateTrustPolicy(doc); err != nil {
		return err
	}
	r.TrustPolicy = doc
	return nil
}

// ValidateTrustPolicy checks a role trust policy: valid JSON, and every
// statement names a Principal and no Resource, as IAM requires.
func ValidateTrustPolicy(doc string) error {
	p, err := world.ParsePolicy(doc)
	if err != nil {
		return iamErr(ErrMalformedPolicy, "%v", err)
	}
	for i, st := range p.Statement {
		if len(st.Principal) == 0 {
			return iamErr(ErrMalformedPolicy, "Statement[%d]: Missing required field Principal", i)
		}
		if len(st.Resource) > 0 {
			return iamErr(ErrMalformedPolicy, "Statement[%d]: Has prohibited field Resource", i)
		}
	}
	return nil
}

// ValidateIdentityPolicy checks an inline identity policy: valid JSON, and
// no statement names a Principal or NotPrincipal (those belong in resource
// policies).
func ValidateIdentityPolicy(doc string) error {
	p, err := world.ParsePolicy(doc)
	if err != nil {
		return iamErr(ErrMalformedPolicy, "%v", err)
	}
	for i, st := range p.Statement {
		if len(st.Principal) > 0 {
			return iamErr(ErrMalformedPolicy, "Statement[%d]: Has prohibited field Principal", i)
		}
		if len(st.NotPrincipal) > 0 {
			return iamErr(ErrMalformedPolicy, "Statement[%d]: Has prohibited field NotPrincipal", i)
		}
	}
	return nil
}

// TrustDecision evaluates a role's trust policy for caller p.
// byName reports whether the allowing statement names the caller itself (not
// the account or "*"): IAM then needs no identity-policy permission for the
// same-account AssumeRole.
func (s *State) TrustDecision(r *Role, p *Principal, ctx world.Context) (d world.Decision, byName bool, err error) {
	pol, err := world.ParsePolicy(r.TrustPolicy)
	if err != nil {
		return world.ExplicitDeny, false, fmt.Errorf("trust policy of role %s: %w", r.Name, err)
	}
	arns := []string{p.ARN}
	if p.Role != nil {
		arns = append(arns, p.Role.ARN) // a role's sessions act as the role
	}
	req := world.Request{Action: "sts:AssumeRole", Context: ctx}
	var matching []world.Statement
	for _, st := range pol.Statement {
		if !st.AppliesToPrincipal(arns, p.Account) {
			continue
		}
		matching = append(matching, st)
		for _, a := range arns {
			if st.Effect == "Allow" && slices.Contains(st.Principal, a) && world.Evaluate([]*world.Policy{{Statement: []world.Statement{st}}}, req) == world.Allowed {
				byName = true
			}
		}
	}
	d = world.Evaluate([]*world.Policy{{Statement: matching}}, req)
	return d, byName && d == world.Allowed, nil
}

// PutInlinePolicy stores an inline policy on a "user" or "role".
// Like every policy change here (delete, attach, detach), it takes effect
// at once when called directly; through the wire (IAMChange)
// authorization applies it only once it has propagated.
func (s *State) PutInlinePolicy(kind, name, policyName, doc string) error {
	pols, err := s.inline(kind, name)
	if err != nil {
		return err
	}
	if err := ValidateIdentityPolicy(doc); err != nil {
		return err
	}
	limit := MaxInlineRolePolicyChars
	if kind == "user" {
		limit = MaxInlineUserPolicyChars
	}
	total := len(doc)
	for n, d := range pols {
		if n != policyName {
			total += len(d)
		}
	}
	if total > limit {
		return iamErr(ErrLimitExceeded, "Maximum policy size of %d bytes exceeded for %s %s", limit, kind, name)
	}
	pols[policyName] = doc
	return nil
}

// InlinePolicy returns one inline policy document.
func (s *State) InlinePolicy(kind, name, policyName string) (string, error) {
	pols, err := s.inline(kind, name)
	if err != nil {
		return "", err
	}
	doc, ok := pols[policyName]
	if !ok {
		return "", iamErr(ErrNoSuchEntity, "The %s policy with name %s cannot be found.", kind, policyName)
	}
	return doc, nil
}

// DeleteInlinePolicy removes one inline policy.
func (s *State) DeleteInlinePolicy(kind, name, policyName string) error {
	if _, err := s.InlinePolicy(kind, name, policyName); err != nil {
		return err
	}
	pols, _ := s.inline(kind, name)
	delete(pols, policyName)
	return nil
}

// InlinePolicyNames lists inline policy names, sorted.
func (s *State) InlinePolicyNames(kind, name string) ([]string, error) {
	pols, err := s.inline(kind, name)
	if err != nil {
		return nil, err
	}
	return world.SortedKeys(pols), nil
}

func (s *State) inline(kind, name string) (map[string]string, error) {
	switch kind {
	case "user":
		u, err := s.User(name)
		if err != nil {
			return nil, err
		}
		if u.Policies == nil {
			u.Policies = map[string]string{}
		}
		return u.Policies, nil
	case "role":
		r, err := s.Role(name)
		if err != nil {
			return nil, err
		}
		if r.Policies == nil {
			r.Policies = map[string]string{}
		}
		return r.Policies, nil
	case "group":
		g, err := s.Group(name)
		if err != nil {
			return nil, err
		}
		return g.Policies, nil
	}
	return nil, fmt.Errorf("unknown IAM entity kind %q", kind)
}

func (s *State) managed(kind, name string) (*[]string, error) {
	switch kind {
	case "user":
		u, err := s.User(name)
		if err != nil {
			return nil, err
		}
		return &u.Managed, nil
	case "role":
		r, err := s.Role(name)
		if err != nil {
			return nil, err
		}
		return &r.Managed, nil
	case "group":
		g, err := s.Group(name)
		if err != nil {
			return nil, err
		}
		return &g.Managed, nil
	}
	return nil, fmt.Errorf("unknown IAM entity kind %q", kind)
}

// AttachPolicy attaches a known managed policy (idempotent, as IAM).
func (s *State) AttachPolicy(kind, name, arn string) error {
	list, err := s.managed(kind, name)
	if err != nil {
		return err
	}
	if _, ok := managedPolicies[arn]; !ok {
		return iamErr(ErrNoSuchEntity, "Policy %s does not exist or is not attachable.", arn)
	}
	if !slices.Contains(*list, arn) {
		*list = append(*list, arn)
	}
	return nil
}

// DetachPolicy detaches a managed policy.
func (s *State) DetachPolicy(kind, name, arn string) error {
	list, err := s.managed(kind, name)
	if err != nil {
		return err
	}
	i := slices.Index(*list, arn)
	if i < 0 {
		return iamErr(ErrNoSuchEntity, "Policy %s was not found.", arn)
	}
	*list = slices.Delete(*list, i, i+1)
	return nil
}

// AttachedPolicies lists attached managed policy ARNs in attach order.
func (s *State) AttachedPolicies(kind, name string) ([]string, error) {
	list, err := s.managed(kind, name)
	if err != nil {
		return nil, err
	}
	return append([]string(nil), (*list)...), nil
}

// ManagedPolicyName is the name part of a managed policy ARN.
func ManagedPolicyName(arn string) string {
	return arn[strings.LastIndexByte(arn, '/')+1:]
}

// CreateInstanceProfile creates an empty instance profile.
func (s *State) CreateInstanceProfile(account, name, path string) (*InstanceProfile, error) {
	if _, ok := s.Profiles.Get(name); ok {
		return nil, iamErr(ErrEntityExists, "Instance Profile %s already exists.", name)
	}
	if path == "" {
		path = "/"
	}
	p := s.AddInstanceProfile(account, name, "")
	p.Path = path
	p.ARN = fmt.Sprintf("arn:aws:iam::%s:instance-profile%s%s", account, path, name)
	return p, nil
}

// InstanceProfile finds an instance profile by name.
func (s *State) InstanceProfile(name string) (*InstanceProfile, error) {
	p, ok := s.Profiles.Get(name)
	if !ok {
		return nil, iamErr(ErrNoSuchEntity, "Instance Profile %s cannot be found.", name)
	}
	return p, nil
}

// DeleteInstanceProfile deletes a profile that holds no role.
func (s *State) DeleteInstanceProfile(name string) error {
	p, err := s.InstanceProfile(name)
	if err != nil {
		return err
	}
	if len(p.Roles) > 0 {
		return iamErr(ErrDeleteConflict, "Cannot delete entity, must remove roles from instance profile first.")
	}
	s.Profiles.Delete(name)
	return nil
}

// AddRoleToProfile puts a role in a profile (quota: one role).
func (s *State) AddRoleToProfile(profile, role string) error {
	p, err := s.InstanceProfile(profile)
	if err != nil {
		return err
	}
	if _, err := s.Role(role); err != nil {
		return err
	}
	if len(p.Roles) >= MaxRolesPerProfile {
		return iamErr(ErrLimitExceeded, "Cannot exceed quota for InstanceSessionsPerInstanceProfile: %d", MaxRolesPerProfile)
	}
	p.Roles = append(p.Roles, role)
	return nil
}

// RemoveRoleFromProfile takes a role out of a profile. Instances using
// the profile keep the credentials IMDS already handed out.
func (s *State) RemoveRoleFromProfile(profile, role string) error {
	p, err := s.InstanceProfile(profile)
	if err != nil {
		return err
	}
	if _, err := s.Role(role); err != nil {
		return err
	}
	i := slices.Index(p.Roles, role)
	if i < 0 {
		return iamErr(ErrNoSuchEntity, "The role with name %s cannot be found in instance profile %s.", role, profile)
	}
	p.Roles = slices.Delete(p.Roles, i, i+1)
	return nil
}

// ProfilesForRole lists the profiles holding role, by name.
func (s *State) ProfilesForRole(role string) []*InstanceProfile {
	var out []*InstanceProfile
	for _, p := range s.Profiles.All() {
		if slices.Contains(p.Roles, role) {
			out = append(out, p)
		}
	}
	return out
}
