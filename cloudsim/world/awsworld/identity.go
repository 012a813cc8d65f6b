package awsworld

import (
	"fmt"
	"strings"
	"time"

	"github.com/firedrill-ir/firedrill/cloudsim/world"
)

// AddUser creates an IAM user with managed policies attached.
func (s *State) AddUser(account, name string, managed ...string) *User {
	u := &User{Name: name, ID: s.uniqueID("AIDA"), Account: account, Path: "/",
		ARN: fmt.Sprintf("arn:aws:iam::%s:user/%s", account, name), CreateDate: s.w.Now(),
		Policies: map[string]string{}, Managed: append([]string(nil), managed...), Tags: world.Tags{}}
	s.Users.Put(name, u)
	return u
}

// AddAccessKey issues an active access key to a user.
func (s *State) AddAccessKey(user string) (*AccessKey, error) {
	u, ok := s.Users.Get(user)
	if !ok {
		return nil, fmt.Errorf("user %q does not exist", user)
	}
	k := &AccessKey{ID: s.keyID("AKIA"), Secret: s.w.NewSecretLocked(), User: user,
		Account: u.Account, Status: "Active", CreateDate: s.w.Now()}
	s.AccessKeys.Put(k.ID, k)
	return k, nil
}

// AddRole creates a role with a trust policy and managed policies.
func (s *State) AddRole(account, name, trust string, managed ...string) *Role {
	if trust == "" {
		trust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	}
	r := &Role{Name: name, ID: s.uniqueID("AROA"), Account: account, Path: "/",
		ARN: fmt.Sprintf("arn:aws:iam::%s:role/%s", account, name), TrustPolicy: trust,
		CreateDate: s.w.Now(), MaxSession: time.Hour, Policies: map[string]string{},
		Managed: append([]string(nil), managed...), Tags: world.Tags{}}
	s.Roles.Put(name, r)
	return r
}

// AddInstanceProfile creates an instance profile holding role.
func (s *State) AddInstanceProfile(account, name, role string) *InstanceProfile {
	p := &InstanceProfile{Name: name, ID: s.uniqueID("AIPA"), Account: account, Path: "/",
		ARN: fmt.Sprintf("arn:aws:iam::%s:instance-profile/%s", account, name), CreateDate: s.w.Now()}
	if role != "" {
		p.Roles = []string{role}
	}
	s.Profiles.Put(name, p)
	return p
}

// ProfileByARN finds an instance profile by ARN or name.
func (s *State) ProfileByARN(arnOrName string) *InstanceProfile {
	if p, ok := s.Profiles.Get(arnOrName); ok {
		return p
	}
	for _, p := range s.Profiles.All() {
		if p.ARN == arnOrName {
			return p
		}
	}
	return nil
}

// IssueSession mints temporary credentials for a role. IssuedAt is the
// current time; it is what an aws:TokenIssueTime condition compares against.
func (s *State) IssueSession(role, sessionName, source string, d time.Duration) (*Session, error) {
	r, ok := s.Roles.Get(role)
	if !ok {
		return nil, fmt.Errorf("role %q does not exist", role)
	}
	return s.newSession(&Session{Account: r.Account, Role: role, SessionName: sessionName, Source: source}, d), nil
}

// newSession draws the credentials of a session lasting d from now and
// stores it.
func (s *State) newSession(sess *Session, d time.Duration) *Session {
	now := s.w.Now()
	sess.AccessKeyID, sess.Secret = s.keyID("ASIA"), s.w.NewSecretLocked()
	sess.Token = "FwoGZXIvYXdzE" + strings.ToLower(s.keyID("FIRE")) + s.w.NewSecretLocked()
	sess.IssuedAt, sess.Expires = now, now.Add(d)
	s.Sessions.Put(sess.AccessKeyID, sess)
	return sess
}

// IssueUserSession mints temporary credentials for an IAM user
// (GetSessionToken): they act as the user, and carry a TokenIssueTime.
func (s *State) IssueUserSession(user string, d time.Duration) (*Session, error) {
	u, ok := s.Users.Get(user)
	if !ok {
		return nil, fmt.Errorf("user %q does not exist", user)
	}
	return s.newSession(&Session{Account: u.Account, User: user, SessionName: user, Source: "get-session-token:" + u.ARN}, d), nil
}

// RoleByARN finds a role by ARN.
func (s *State) RoleByARN(arn string) *Role {
	for _, r := range s.Roles.All() {
		if r.ARN == arn {
			return r
		}
	}
	return nil
}

// keyID returns a 20-character access-key-like id with the given 4-letter
// prefix (AKIA for long-term keys, ASIA for sessions).
func (s *State) keyID(prefix string) string { return s.randomID(prefix, 20) }

// uniqueID returns a 21-character IAM unique id (AIDA…, AROA…, AIPA…).
func (s *State) uniqueID(prefix string) string { return s.randomID(prefix, 21) }

// randomID pads prefix to n characters of IAM's id alphabet, drawn from
// the caller's "ids" stream.
func (s *State) randomID(prefix string, n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	ids := s.w.IDRandLocked()
	b := []byte(prefix)
	for len(b) < n {
		b = append(b, alphabet[ids.IntN(len(alphabet))])
	}
	return string(b)
}
