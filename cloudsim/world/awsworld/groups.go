package awsworld

import (
	"fmt"
	"slices"
	"time"

	"github.com/firedrill-ir/firedrill/cloudsim/world"
)

// Group is an IAM group: its members get its policies.
type Group struct {
	Name, ID, ARN, Account, Path string
	CreateDate                   time.Time
	Policies                     map[string]string // inline
	Managed                      []string
	Members                      []string // user names, in the order added
}

// MFADevice is a virtual MFA device enabled for a user.
type MFADevice struct {
	SerialNumber string
	EnableDate   time.Time
}

// LoginProfile is a user's console password (its existence is what IR
// reads and removes; the password itself is not kept).
type LoginProfile struct {
	CreateDate            time.Time
	PasswordResetRequired bool
}

// CreateGroup creates an IAM group.
func (s *State) CreateGroup(account, name, path string) (*Group, error) {
	if _, ok := s.Groups.Get(name); ok {
		return nil, iamErr(ErrEntityExists, "Group with name %s already exists.", name)
	}
	g := &Group{Name: name, ID: s.uniqueID("AGPA"), Account: account, Path: path,
		ARN: fmt.Sprintf("arn:aws:iam::%s:group%s%s", account, path, name), CreateDate: s.w.Now(),
		Policies: map[string]string{}}
	s.Groups.Put(name, g)
	return g, nil
}

// Group returns a group by name, or NoSuchEntity.
func (s *State) Group(name string) (*Group, error) {
	g, ok := s.Groups.Get(name)
	if !ok {
		return nil, iamErr(ErrNoSuchEntity, "The group with name %s cannot be found.", name)
	}
	return g, nil
}

// groupAndUser finds both ends of a membership.
func (s *State) groupAndUser(group, user string) (*Group, error) {
	g, err := s.Group(group)
	if err != nil {
		return nil, err
	}
	if _, err := s.User(user); err != nil {
		return nil, err
	}
	return g, nil
}

// AddUserToGroup makes a user a member of a group (again is a no-op).
func (s *State) AddUserToGroup(group, user string) error {
	g, err := s.groupAndUser(group, user)
	if err != nil {
		return err
	}
	if !slices.Contains(g.Members, user) {
		g.Members = append(g.Members, user)
	}
	return nil
}

// RemoveUserFromGroup ends a membership.
func (s *State) RemoveUserFromGroup(group, user string) error {
	g, err := s.groupAndUser(group, user)
	if err != nil {
		return err
	}
	if !slices.Contains(g.Members, user) {
		return iamErr(ErrNoSuchEntity, "User %s is not in group %s.", user, group)
	}
	g.Members = slices.DeleteFunc(g.Members, func(m string) bool { return m == user })
	return nil
}

// GroupsOfUser lists the groups a user is a member of, by name.
func (s *State) GroupsOfUser(user string) []*Group {
	var out []*Group
	for _, name := range s.Groups.Keys() {
		if g := s.Groups.Lookup(name); slices.Contains(g.Members, user) {
			out = append(out, g)
		}
	}
	return out
}

// groupGrants are the policies a user gets through its groups.
func (s *State) groupGrants(user string) (inline []string, managed []string) {
	for _, g := range s.GroupsOfUser(user) {
		// A group's policy changes propagate like a user's (IAMChange).
		gi, gm := s.authorizingGrants("group", g.Name, g.Policies, g.Managed)
		for _, n := range world.SortedKeys(gi) {
			inline = append(inline, gi[n])
		}
		managed = append(managed, gm...)
	}
	return inline, managed
}

// EnableMFADevice records a virtual MFA device for a user.
func (s *State) EnableMFADevice(user, serial string) error {
	u, err := s.User(user)
	if err != nil {
		return err
	}
	if s.mfa == nil {
		s.mfa = map[string][]MFADevice{}
	}
	s.mfa[u.Name] = append(s.mfa[u.Name], MFADevice{SerialNumber: serial, EnableDate: s.w.Now()})
	return nil
}

// MFADevices lists a user's MFA devices.
func (s *State) MFADevices(user string) []MFADevice { return s.mfa[user] }

// SetLoginProfile gives a user a console password.
func (s *State) SetLoginProfile(user string, resetRequired bool) error {
	if _, err := s.User(user); err != nil {
		return err
	}
	if s.logins == nil {
		s.logins = map[string]*LoginProfile{}
	}
	if _, ok := s.logins[user]; ok {
		return iamErr(ErrEntityExists, "Login Profile for user %s already exists.", user)
	}
	s.logins[user] = &LoginProfile{CreateDate: s.w.Now(), PasswordResetRequired: resetRequired}
	return nil
}

// LoginProfileOf returns a user's login profile, or NoSuchEntity.
func (s *State) LoginProfileOf(user string) (*LoginProfile, error) {
	if _, err := s.User(user); err != nil {
		return nil, err
	}
	lp, ok := s.logins[user]
	if !ok {
		return nil, iamErr(ErrNoSuchEntity, "Login Profile for User %s cannot be found.", user)
	}
	return lp, nil
}

// DeleteLoginProfile removes a user's console password.
func (s *State) DeleteLoginProfile(user string) error {
	if _, err := s.LoginProfileOf(user); err != nil {
		return err
	}
	delete(s.logins, user)
	return nil
}

// DeleteGroup deletes a group with no members and no policies.
func (s *State) DeleteGroup(name string) error {
	g, err := s.Group(name)
	if err != nil {
		return err
	}
	if len(g.Members) > 0 {
		return iamErr(ErrDeleteConflict, "Cannot delete entity, must remove users from group first.")
	}
	if len(g.Policies) > 0 || len(g.Managed) > 0 {
		return iamErr(ErrDeleteConflict, "Cannot delete entity, must delete policies first.")
	}
	s.Groups.Delete(name)
	s.forgetIAM("group", name)
	return nil
}

// ManagedPolicyARNs lists the managed policies firedrill knows, sorted.
func ManagedPolicyARNs() []string { return world.SortedKeys(managedPolicies) }

// PolicyAttachments counts the users, groups and roles a managed policy is
// attached to.
func (s *State) PolicyAttachments(arn string) int {
	n := 0
	for _, u := range s.Users.All() {
		if slices.Contains(u.Managed, arn) {
			n++
		}
	}
	for _, r := range s.Roles.All() {
		if slices.Contains(r.Managed, arn) {
			n++
		}
	}
	for _, g := range s.Groups.All() {
		if slices.Contains(g.Managed, arn) {
			n++
		}
	}
	return n
}
