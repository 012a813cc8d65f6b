package world

import (
	"fmt"
	"strings"
	"time"
)

// AddAccountLocked registers an account.
func (w *World) AddAccountLocked(cloud, id, name, region string) *Account {
	a := &Account{ID: id, Name: name, Cloud: cloud, Region: region}
	w.Accounts[id] = a
	return a
}

// AddUserLocked creates an IAM user with managed policies attached.
func (w *World) AddUserLocked(account, name string, managed ...string) *User {
	u := &User{Name: name, ID: w.UniqueIDLocked("AIDA"), Account: account, Path: "/",
		ARN: fmt.Sprintf("arn:aws:iam::%s:user/%s", account, name), CreateDate: w.clock.Now(),
		Policies: map[string]string{}, Managed: append([]string(nil), managed...), Tags: Tags{}}
	w.Users[name] = u
	return u
}

// AddAccessKeyLocked issues an active access key to a user.
func (w *World) AddAccessKeyLocked(user string) (*AccessKey, error) {
	u, ok := w.Users[user]
	if !ok {
		return nil, fmt.Errorf("user %q does not exist", user)
	}
	k := &AccessKey{ID: w.NewKeyIDLocked("AKIA"), Secret: w.NewSecretLocked(), User: user,
		Account: u.Account, Status: "Active", CreateDate: w.clock.Now()}
	w.AccessKeys[k.ID] = k
	return k, nil
}

// AddRoleLocked creates a role with a trust policy and managed policies.
func (w *World) AddRoleLocked(account, name, trust string, managed ...string) *Role {
	if trust == "" {
		trust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	}
	r := &Role{Name: name, ID: w.UniqueIDLocked("AROA"), Account: account, Path: "/",
		ARN: fmt.Sprintf("arn:aws:iam::%s:role/%s", account, name), TrustPolicy: trust,
		CreateDate: w.clock.Now(), MaxSession: time.Hour, Policies: map[string]string{},
		Managed: append([]string(nil), managed...), Tags: Tags{}}
	w.Roles[name] = r
	return r
}

// AddInstanceProfileLocked creates an instance profile holding role.
func (w *World) AddInstanceProfileLocked(account, name, role string) *InstanceProfile {
	p := &InstanceProfile{Name: name, ID: w.UniqueIDLocked("AIPA"), Account: account, Path: "/",
		ARN: fmt.Sprintf("arn:aws:iam::%s:instance-profile/%s", account, name), CreateDate: w.clock.Now()}
	if role != "" {
		p.Roles = []string{role}
	}
	w.Profiles[name] = p
	return p
}

// ProfileByARNLocked finds an instance profile by ARN or name.
func (w *World) ProfileByARNLocked(arnOrName string) *InstanceProfile {
	if p, ok := w.Profiles[arnOrName]; ok {
		return p
	}
	for _, name := range SortedKeys(w.Profiles) {
		if p := w.Profiles[name]; p.ARN == arnOrName {
			return p
		}
	}
	return nil
}

// IssueSessionLocked mints temporary credentials for a role. IssuedAt is the
// current time; it is what an aws:TokenIssueTime condition compares against.
func (w *World) IssueSessionLocked(role, sessionName, source string, d time.Duration) (*Session, error) {
	r, ok := w.Roles[role]
	if !ok {
		return nil, fmt.Errorf("role %q does not exist", role)
	}
	now := w.clock.Now()
	s := &Session{AccessKeyID: w.NewKeyIDLocked("ASIA"), Secret: w.NewSecretLocked(),
		Token:   "FwoGZXIvYXdzE" + strings.ToLower(w.NewKeyIDLocked("FIRE")) + w.NewSecretLocked(),
		Account: r.Account, Role: role, SessionName: sessionName, IssuedAt: now, Expires: now.Add(d), Source: source}
	w.Sessions[s.AccessKeyID] = s
	return s, nil
}

// RoleByARNLocked finds a role by ARN.
func (w *World) RoleByARNLocked(arn string) *Role {
	for _, name := range SortedKeys(w.Roles) {
		if r := w.Roles[name]; r.ARN == arn {
			return r
		}
	}
	return nil
}
