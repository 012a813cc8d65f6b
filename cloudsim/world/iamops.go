package world

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
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

// TouchAccessKeyLocked records that a long-term access key authenticated a
// call, so GetAccessKeyLastUsed can answer as IAM does. Session (ASIA) keys
// are not access keys and are ignored.
func (w *World) TouchAccessKeyLocked(akid, service, region string, now time.Time) {
	k, ok := w.AccessKeys[akid]
	if !ok {
		return
	}
	k.LastUsed, k.LastUsedService, k.LastUsedRegion = now, service, region
}

// CreateUserLocked creates a user under path (default "/").
func (w *World) CreateUserLocked(account, name, path string, tags Tags) (*User, error) {
	if _, ok := w.Users[name]; ok {
		return nil, iamErr(ErrEntityExists, "User with name %s already exists.", name)
	}
	if path == "" {
		path = "/"
	}
	u := w.AddUserLocked(account, name)
	u.Path = path
	u.ARN = fmt.Sprintf("arn:aws:iam::%s:user%s%s", account, path, name)
	for k, v := range tags {
		u.Tags[k] = v
	}
	return u, nil
}

// UserLocked finds a user by name.
func (w *World) UserLocked(name string) (*User, error) {
	u, ok := w.Users[name]
	if !ok {
		return nil, iamErr(ErrNoSuchEntity, "The user with name %s cannot be found.", name)
	}
	return u, nil
}

// DeleteUserLocked deletes a user that no longer holds keys or policies, as
// IAM requires (DeleteConflict otherwise).
func (w *World) DeleteUserLocked(name string) error {
	u, err := w.UserLocked(name)
	if err != nil {
		return err
	}
	for _, id := range SortedKeys(w.AccessKeys) {
		if w.AccessKeys[id].User == name {
			return iamErr(ErrDeleteConflict, "Cannot delete entity, must delete access keys first.")
		}
	}
	if len(u.Policies) > 0 {
		return iamErr(ErrDeleteConflict, "Cannot delete entity, must delete policies first.")
	}
	if len(u.Managed) > 0 {
		return iamErr(ErrDeleteConflict, "Cannot delete entity, must detach all policies first.")
	}
	delete(w.Users, name)
	w.forgetIAMLocked("user", name)
	return nil
}

// UserKeysLocked returns a user's access keys, oldest first.
func (w *World) UserKeysLocked(user string) []*AccessKey {
	var out []*AccessKey
	for _, id := range SortedKeys(w.AccessKeys) {
		if k := w.AccessKeys[id]; k.User == user {
			out = append(out, k)
		}
	}
	slices.SortStableFunc(out, func(a, b *AccessKey) int { return a.CreateDate.Compare(b.CreateDate) })
	return out
}

// CreateAccessKeyLocked issues a key, enforcing IAM's two-keys-per-user quota.
func (w *World) CreateAccessKeyLocked(user string) (*AccessKey, error) {
	if _, err := w.UserLocked(user); err != nil {
		return nil, err
	}
	if len(w.UserKeysLocked(user)) >= MaxAccessKeysPerUser {
		return nil, iamErr(ErrLimitExceeded, "Cannot exceed quota for AccessKeysPerUser: %d", MaxAccessKeysPerUser)
	}
	return w.AddAccessKeyLocked(user)
}

// UserAccessKeyLocked finds a key that belongs to user.
func (w *World) UserAccessKeyLocked(user, akid string) (*AccessKey, error) {
	if _, err := w.UserLocked(user); err != nil {
		return nil, err
	}
	k, ok := w.AccessKeys[akid]
	if !ok || k.User != user {
		return nil, iamErr(ErrNoSuchEntity, "The Access Key with id %s cannot be found.", akid)
	}
	return k, nil
}

// UpdateAccessKeyLocked sets a key Active or Inactive. Called directly
// (seeding, harnesses) it takes effect at once; through the wire
// (AccessKeyChangeLocked) authentication sees it once it has propagated.
// IR deactivates rather than deletes: the key stays as evidence and can be
// re-enabled.
func (w *World) UpdateAccessKeyLocked(user, akid, status string) error {
	if status != "Active" && status != "Inactive" {
		return iamErr(ErrInvalidIAMRequest, "1 validation error detected: Value '%s' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [Active, Inactive]", status)
	}
	k, err := w.UserAccessKeyLocked(user, akid)
	if err != nil {
		return err
	}
	k.Status = status
	return nil
}

// DeleteAccessKeyLocked removes a key permanently (see
// AccessKeyChangeLocked for the propagation of a deletion made through the
// wire).
func (w *World) DeleteAccessKeyLocked(user, akid string) error {
	if _, err := w.UserAccessKeyLocked(user, akid); err != nil {
		return err
	}
	delete(w.AccessKeys, akid)
	return nil
}

// CreateRoleLocked creates a role with a validated trust policy.
func (w *World) CreateRoleLocked(account, name, path, trust string, maxSession time.Duration, tags Tags) (*Role, error) {
	if _, ok := w.Roles[name]; ok {
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
	r := w.AddRoleLocked(account, name, trust)
	r.Path = path
	r.ARN = fmt.Sprintf("arn:aws:iam::%s:role%s%s", account, path, name)
	r.MaxSession = maxSession
	for k, v := range tags {
		r.Tags[k] = v
	}
	return r, nil
}

// RoleLocked finds a role by name.
func (w *World) RoleLocked(name string) (*Role, error) {
	r, ok := w.Roles[name]
	if !ok {
		return nil, iamErr(ErrNoSuchEntity, "The role with name %s cannot be found.", name)
	}
	return r, nil
}

// DeleteRoleLocked deletes a role that is in no instance profile and has no
// policies. Sessions already issued for it stop authenticating, because
// their role no longer exists.
func (w *World) DeleteRoleLocked(name string) error {
	r, err := w.RoleLocked(name)
	if err != nil {
		return err
	}
	if len(w.ProfilesForRoleLocked(name)) > 0 {
		return iamErr(ErrDeleteConflict, "Cannot delete entity, must remove roles from instance profile first.")
	}
	if len(r.Policies) > 0 {
		return iamErr(ErrDeleteConflict, "Cannot delete entity, must delete policies first.")
	}
	if len(r.Managed) > 0 {
		return iamErr(ErrDeleteConflict, "Cannot delete entity, must detach all policies first.")
	}
	delete(w.Roles, name)
	w.forgetIAMLocked("role", name)
	return nil
}

// UpdateAssumeRolePolicyLocked replaces a role's trust policy. Sessions
// already issued keep working until they expire; only new AssumeRole calls
// see the new trust.
func (w *World) UpdateAssumeRolePolicyLocked(name, doc string) error {
	r, err := w.RoleLocked(name)
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
	p, err := ParsePolicy(doc)
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
	p, err := ParsePolicy(doc)
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

// TrustDecisionLocked evaluates a role's trust policy for caller p.
// byName reports whether the allowing statement names the caller itself (not
// the account or "*"): IAM then needs no identity-policy permission for the
// same-account AssumeRole.
func (w *World) TrustDecisionLocked(r *Role, p *Principal, ctx Context) (d Decision, byName bool, err error) {
	pol, err := ParsePolicy(r.TrustPolicy)
	if err != nil {
		return ExplicitDeny, false, fmt.Errorf("trust policy of role %s: %w", r.Name, err)
	}
	arns := []string{p.ARN}
	if p.Role != nil {
		arns = append(arns, p.Role.ARN) // a role's sessions act as the role
	}
	req := Request{Action: "sts:AssumeRole", Context: ctx}
	var matching []Statement
	for _, st := range pol.Statement {
		if !st.AppliesToPrincipal(arns, p.Account) {
			continue
		}
		matching = append(matching, st)
		for _, a := range arns {
			if st.Effect == "Allow" && slices.Contains(st.Principal, a) && Evaluate([]*Policy{{Statement: []Statement{st}}}, req) == Allowed {
				byName = true
			}
		}
	}
	d = Evaluate([]*Policy{{Statement: matching}}, req)
	return d, byName && d == Allowed, nil
}

// PutInlinePolicyLocked stores an inline policy on a "user" or "role".
// Like every policy change here (delete, attach, detach), it takes effect
// at once when called directly; through the wire (IAMChangeLocked)
// authorization applies it only once it has propagated.
func (w *World) PutInlinePolicyLocked(kind, name, policyName, doc string) error {
	pols, err := w.inlineLocked(kind, name)
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

// InlinePolicyLocked returns one inline policy document.
func (w *World) InlinePolicyLocked(kind, name, policyName string) (string, error) {
	pols, err := w.inlineLocked(kind, name)
	if err != nil {
		return "", err
	}
	doc, ok := pols[policyName]
	if !ok {
		return "", iamErr(ErrNoSuchEntity, "The %s policy with name %s cannot be found.", kind, policyName)
	}
	return doc, nil
}

// DeleteInlinePolicyLocked removes one inline policy.
func (w *World) DeleteInlinePolicyLocked(kind, name, policyName string) error {
	if _, err := w.InlinePolicyLocked(kind, name, policyName); err != nil {
		return err
	}
	pols, _ := w.inlineLocked(kind, name)
	delete(pols, policyName)
	return nil
}

// InlinePolicyNamesLocked lists inline policy names, sorted.
func (w *World) InlinePolicyNamesLocked(kind, name string) ([]string, error) {
	pols, err := w.inlineLocked(kind, name)
	if err != nil {
		return nil, err
	}
	return SortedKeys(pols), nil
}

func (w *World) inlineLocked(kind, name string) (map[string]string, error) {
	switch kind {
	case "user":
		u, err := w.UserLocked(name)
		if err != nil {
			return nil, err
		}
		if u.Policies == nil {
			u.Policies = map[string]string{}
		}
		return u.Policies, nil
	case "role":
		r, err := w.RoleLocked(name)
		if err != nil {
			return nil, err
		}
		if r.Policies == nil {
			r.Policies = map[string]string{}
		}
		return r.Policies, nil
	}
	return nil, fmt.Errorf("unknown IAM entity kind %q", kind)
}

func (w *World) managedLocked(kind, name string) (*[]string, error) {
	switch kind {
	case "user":
		u, err := w.UserLocked(name)
		if err != nil {
			return nil, err
		}
		return &u.Managed, nil
	case "role":
		r, err := w.RoleLocked(name)
		if err != nil {
			return nil, err
		}
		return &r.Managed, nil
	}
	return nil, fmt.Errorf("unknown IAM entity kind %q", kind)
}

// AttachPolicyLocked attaches a known managed policy (idempotent, as IAM).
func (w *World) AttachPolicyLocked(kind, name, arn string) error {
	list, err := w.managedLocked(kind, name)
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

// DetachPolicyLocked detaches a managed policy.
func (w *World) DetachPolicyLocked(kind, name, arn string) error {
	list, err := w.managedLocked(kind, name)
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

// AttachedPoliciesLocked lists attached managed policy ARNs in attach order.
func (w *World) AttachedPoliciesLocked(kind, name string) ([]string, error) {
	list, err := w.managedLocked(kind, name)
	if err != nil {
		return nil, err
	}
	return append([]string(nil), (*list)...), nil
}

// ManagedPolicyName is the name part of a managed policy ARN.
func ManagedPolicyName(arn string) string {
	return arn[strings.LastIndexByte(arn, '/')+1:]
}

// CreateInstanceProfileLocked creates an empty instance profile.
func (w *World) CreateInstanceProfileLocked(account, name, path string) (*InstanceProfile, error) {
	if _, ok := w.Profiles[name]; ok {
		return nil, iamErr(ErrEntityExists, "Instance Profile %s already exists.", name)
	}
	if path == "" {
		path = "/"
	}
	p := w.AddInstanceProfileLocked(account, name, "")
	p.Path = path
	p.ARN = fmt.Sprintf("arn:aws:iam::%s:instance-profile%s%s", account, path, name)
	return p, nil
}

// InstanceProfileLocked finds an instance profile by name.
func (w *World) InstanceProfileLocked(name string) (*InstanceProfile, error) {
	p, ok := w.Profiles[name]
	if !ok {
		return nil, iamErr(ErrNoSuchEntity, "Instance Profile %s cannot be found.", name)
	}
	return p, nil
}

// DeleteInstanceProfileLocked deletes a profile that holds no role.
func (w *World) DeleteInstanceProfileLocked(name string) error {
	p, err := w.InstanceProfileLocked(name)
	if err != nil {
		return err
	}
	if len(p.Roles) > 0 {
		return iamErr(ErrDeleteConflict, "Cannot delete entity, must remove roles from instance profile first.")
	}
	delete(w.Profiles, name)
	return nil
}

// AddRoleToProfileLocked puts a role in a profile (quota: one role).
func (w *World) AddRoleToProfileLocked(profile, role string) error {
	p, err := w.InstanceProfileLocked(profile)
	if err != nil {
		return err
	}
	if _, err := w.RoleLocked(role); err != nil {
		return err
	}
	if len(p.Roles) >= MaxRolesPerProfile {
		return iamErr(ErrLimitExceeded, "Cannot exceed quota for InstanceSessionsPerInstanceProfile: %d", MaxRolesPerProfile)
	}
	p.Roles = append(p.Roles, role)
	return nil
}

// RemoveRoleFromProfileLocked takes a role out of a profile. Instances using
// the profile keep the credentials IMDS already handed out.
func (w *World) RemoveRoleFromProfileLocked(profile, role string) error {
	p, err := w.InstanceProfileLocked(profile)
	if err != nil {
		return err
	}
	if _, err := w.RoleLocked(role); err != nil {
		return err
	}
	i := slices.Index(p.Roles, role)
	if i < 0 {
		return iamErr(ErrNoSuchEntity, "The role with name %s cannot be found in instance profile %s.", role, profile)
	}
	p.Roles = slices.Delete(p.Roles, i, i+1)
	return nil
}

// ProfilesForRoleLocked lists the profiles holding role, by name.
func (w *World) ProfilesForRoleLocked(role string) []*InstanceProfile {
	var out []*InstanceProfile
	for _, n := range SortedKeys(w.Profiles) {
		if p := w.Profiles[n]; slices.Contains(p.Roles, role) {
			out = append(out, p)
		}
	}
	return out
}
