package awssim

import (
	"crypto/sha256"
	"fmt"
	"strings"
	"time"

	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/awsworld"
)

// IAM enumeration a responder (or an attacker) runs first: groups and
// memberships, managed policies, the whole account at once
// (GetAccountAuthorizationDetails), MFA devices and console passwords.

func addIAMOps(ops map[string]*Op) {
	for name, op := range map[string]*Op{
		"CreateGroup":                    {Resources: groupRes("Path"), Handle: iamCreateGroup},
		"GetGroup":                       {Resources: groupRes(""), Handle: iamGetGroup},
		"ListGroups":                     {Handle: iamListGroups},
		"DeleteGroup":                    {Resources: groupRes(""), Handle: iamDeleteGroup},
		"AddUserToGroup":                 {Resources: groupRes(""), Handle: iamMembership(true)},
		"RemoveUserFromGroup":            {Resources: groupRes(""), Handle: iamMembership(false)},
		"ListGroupsForUser":              {Resources: userRes("UserName", ""), Handle: iamListGroupsForUser},
		"ListPolicies":                   {Handle: iamListPolicies},
		"GetPolicy":                      {Resources: func(c *Call) []string { return []string{c.Form.Get("PolicyArn")} }, Handle: iamGetPolicy},
		"GetAccountAuthorizationDetails": {Handle: iamGetAccountAuthorizationDetails},
		"ListMFADevices":                 {Resources: userRes("UserName", ""), Handle: iamListMFADevices},
		"CreateLoginProfile":             {Resources: userRes("UserName", ""), Handle: iamCreateLoginProfile},
		"GetLoginProfile":                {Resources: userRes("UserName", ""), Handle: iamGetLoginProfile},
		"DeleteLoginProfile":             {Resources: userRes("UserName", ""), Handle: iamDeleteLoginProfile},
	} {
		ops[name] = op
	}
}

func groupRes(pathKey string) func(*Call) []string {
	return func(c *Call) []string {
		name := c.Form.Get("GroupName")
		if g, ok := awsworld.Of(c.World).Groups.Get(name); ok {
			return []string{g.ARN}
		}
		path := "/"
		if pathKey != "" && c.Form.Get(pathKey) != "" {
			path = c.Form.Get(pathKey)
		}
		return []string{fmt.Sprintf("arn:aws:iam::%s:group%s%s", c.Account(), path, name)}
	}
}

func groupX(name string, g *awsworld.Group) *X {
	return E(name, T("Path", g.Path), T("GroupName", g.Name), T("GroupId", g.ID), T("Arn", g.ARN), T("CreateDate", g.CreateDate))
}

// ---- groups ----------------------------------------------------------------

func iamCreateGroup(c *Call) (any, error) {
	name, err := iamName(c, "GroupName", 128)
	if err != nil {
		return nil, err
	}
	path, err := iamPath(c)
	if err != nil {
		return nil, err
	}
	g, err := awsworld.Of(c.World).CreateGroup(c.Account(), name, path)
	if err != nil {
		return nil, iamAPIError(err)
	}
	c.Touch("AWS::IAM::Group", name)
	c.Param("groupName", name)
	return []*X{groupX("Group", g)}, nil
}

func iamGetGroup(c *Call) (any, error) {
	name, err := iamEntity(c, "group")
	if err != nil {
		return nil, err
	}
	g, err := awsworld.Of(c.World).Group(name)
	if err != nil {
		return nil, iamAPIError(err)
	}
	page, trunc, marker, err := iamPage(c, world.SortedKeys(setOf(g.Members)))
	if err != nil {
		return nil, err
	}
	var users []*X
	for _, n := range page {
		if u, ok := awsworld.Of(c.World).Users.Get(n); ok {
			users = append(users, userX("member", u, false))
		}
	}
	return append([]*X{groupX("Group", g)}, pageResult(members("Users", users), trunc, marker)...), nil
}

func setOf(names []string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// iamGroupList renders a page of groups.
func iamGroupList(c *Call, names []string) (any, error) {
	page, trunc, marker, err := iamPage(c, names)
	if err != nil {
		return nil, err
	}
	var items []*X
	for _, n := range page {
		items = append(items, groupX("member", awsworld.Of(c.World).Groups.Lookup(n)))
	}
	return pageResult(members("Groups", items), trunc, marker), nil
}

func iamListGroups(c *Call) (any, error) {
	st := awsworld.Of(c.World)
	return iamGroupList(c, pathFiltered(c, st.Groups.Keys(), func(n string) string { return st.Groups.Lookup(n).Path }))
}

func iamListGroupsForUser(c *Call) (any, error) {
	name, err := iamEntity(c, "user")
	if err != nil {
		return nil, err
	}
	if _, err := awsworld.Of(c.World).User(name); err != nil {
		return nil, iamAPIError(err)
	}
	var names []string
	for _, g := range awsworld.Of(c.World).GroupsOfUser(name) {
		names = append(names, g.Name)
	}
	return iamGroupList(c, names)
}

func iamDeleteGroup(c *Call) (any, error) {
	name, err := iamEntity(c, "group")
	if err != nil {
		return nil, err
	}
	return nil, iamAPIError(awsworld.Of(c.World).DeleteGroup(name))
}

// iamMembership adds a user to a group or removes one: a membership grants
// the group's policies at once (the simulator does not delay membership
// changes as it delays policy changes).
func iamMembership(add bool) func(*Call) (any, error) {
	return func(c *Call) (any, error) {
		group, err := iamEntity(c, "group")
		if err != nil {
			return nil, err
		}
		user, err := iamEntity(c, "user")
		if err != nil {
			return nil, err
		}
		if add {
			return nil, iamAPIError(awsworld.Of(c.World).AddUserToGroup(group, user))
		}
		return nil, iamAPIError(awsworld.Of(c.World).RemoveUserFromGroup(group, user))
	}
}

// ---- managed policies --------------------------------------------------------

// awsManagedCreated is when AWS created the managed policies firedrill knows.
var awsManagedCreated = time.Date(2015, 2, 6, 18, 39, 46, 0, time.UTC)

// managedPolicyID is a stable ANPA… id for a managed policy ARN.
func managedPolicyID(arn string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	sum := sha256.Sum256([]byte(arn))
	b := []byte("ANPA")
	for i := 0; len(b) < 21; i++ {
		b = append(b, alphabet[int(sum[i])%len(alphabet)])
	}
	return string(b)
}

func policyX(name string, c *Call, arn string, extra ...*X) *X {
	kids := []*X{T("PolicyName", awsworld.ManagedPolicyName(arn)), T("PolicyId", managedPolicyID(arn)), T("Arn", arn),
		T("Path", "/"), T("DefaultVersionId", "v1"), T("AttachmentCount", awsworld.Of(c.World).PolicyAttachments(arn)),
		T("PermissionsBoundaryUsageCount", 0), T("IsAttachable", true), T("CreateDate", awsManagedCreated),
		T("UpdateDate", awsManagedCreated)}
	return E(name, append(kids, extra...)...)
}

// iamListPolicies lists the managed policies: firedrill knows AWS-managed
// ones only (Scope Local is empty).
func iamListPolicies(c *Call) (any, error) {
	scope := c.Form.Get("Scope")
	switch scope {
	case "", "All", "AWS", "Local":
	default:
		return nil, Errf(400, "ValidationError", "1 validation error detected: Value '%s' at 'scope' failed to satisfy constraint: Member must satisfy enum value set: [All, AWS, Local]", scope)
	}
	onlyAttached, _ := c.Form.Bool("OnlyAttached")
	var arns []string
	if scope != "Local" {
		for _, arn := range awsworld.ManagedPolicyARNs() {
			if !onlyAttached || awsworld.Of(c.World).PolicyAttachments(arn) > 0 {
				arns = append(arns, arn)
			}
		}
	}
	page, trunc, marker, err := iamPage(c, arns)
	if err != nil {
		return nil, err
	}
	var items []*X
	for _, arn := range page {
		items = append(items, policyX("member", c, arn))
	}
	return pageResult(members("Policies", items), trunc, marker), nil
}

func iamGetPolicy(c *Call) (any, error) {
	arn, err := iamPolicyARN(c)
	if err != nil {
		return nil, err
	}
	if _, ok := awsworld.ManagedPolicyDocument(arn); !ok {
		return nil, Errf(404, "NoSuchEntity", "Policy %s does not exist or is not attachable.", arn)
	}
	return []*X{policyX("Policy", c, arn)}, nil
}

// ---- the whole account -------------------------------------------------------

func inlineListX(name string, pols map[string]string) *X {
	var items []*X
	for _, n := range world.SortedKeys(pols) {
		items = append(items, member(T("PolicyName", n), T("PolicyDocument", encodePolicyDoc(pols[n]))))
	}
	return L(name, items)
}

func attachedX(arns []string) *X {
	var items []*X
	for _, a := range arns {
		items = append(items, member(T("PolicyName", awsworld.ManagedPolicyName(a)), T("PolicyArn", a)))
	}
	return L("AttachedManagedPolicies", items)
}

// iamGetAccountAuthorizationDetails answers every user, group, role and
// attached managed policy with their policies, in one page (Filter picks
// entity types).
func iamGetAccountAuthorizationDetails(c *Call) (any, error) {
	want := map[string]bool{}
	for _, f := range c.Form.List("Filter") {
		switch f {
		case "User", "Role", "Group", "LocalManagedPolicy", "AWSManagedPolicy":
			want[f] = true
		default:
			return nil, Errf(400, "ValidationError", "1 validation error detected: Value '[%s]' at 'filter' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: [LocalManagedPolicy, Role, AWSManagedPolicy, User, Group]]", f)
		}
	}
	all := len(want) == 0
	st := awsworld.Of(c.World)
	acct := c.Account()
	var users, groups, roles, policies []*X
	if all || want["User"] {
		for _, n := range st.Users.Keys() {
			u := st.Users.Lookup(n)
			if u.Account != acct {
				continue
			}
			var gl []*X
			for _, g := range st.GroupsOfUser(n) {
				gl = append(gl, T("member", g.Name))
			}
			users = append(users, member(T("Path", u.Path), T("UserName", u.Name), T("UserId", u.ID), T("Arn", u.ARN),
				T("CreateDate", u.CreateDate), inlineListX("UserPolicyList", u.Policies), L("GroupList", gl),
				attachedX(u.Managed), tagsX(u.Tags)))
		}
	}
	if all || want["Group"] {
		for _, n := range st.Groups.Keys() {
			g := st.Groups.Lookup(n)
			if g.Account != acct {
				continue
			}
			groups = append(groups, member(T("Path", g.Path), T("GroupName", g.Name), T("GroupId", g.ID), T("Arn", g.ARN),
				T("CreateDate", g.CreateDate), inlineListX("GroupPolicyList", g.Policies), attachedX(g.Managed)))
		}
	}
	if all || want["Role"] {
		for _, n := range st.Roles.Keys() {
			r := st.Roles.Lookup(n)
			if r.Account != acct {
				continue
			}
			var profiles []*X
			for _, p := range st.ProfilesForRole(n) {
				profiles = append(profiles, profileX("member", c, p))
			}
			roles = append(roles, member(T("Path", r.Path), T("RoleName", r.Name), T("RoleId", r.ID), T("Arn", r.ARN),
				T("CreateDate", r.CreateDate), T("AssumeRolePolicyDocument", encodePolicyDoc(r.TrustPolicy)),
				L("InstanceProfileList", profiles), inlineListX("RolePolicyList", r.Policies), attachedX(r.Managed), tagsX(r.Tags)))
		}
	}
	if all || want["AWSManagedPolicy"] {
		for _, arn := range awsworld.ManagedPolicyARNs() {
			if st.PolicyAttachments(arn) == 0 {
				continue
			}
			doc, _ := awsworld.ManagedPolicyDocument(arn)
			policies = append(policies, policyX("member", c, arn, L("PolicyVersionList", []*X{member(
				T("Document", encodePolicyDoc(doc)), T("VersionId", "v1"), T("IsDefaultVersion", true), T("CreateDate", awsManagedCreated))})))
		}
	}
	return []*X{L("UserDetailList", users), L("GroupDetailList", groups), L("RoleDetailList", roles),
		L("Policies", policies), T("IsTruncated", false)}, nil
}

// ---- MFA devices and login profiles ----------------------------------------

func iamListMFADevices(c *Call) (any, error) {
	name, err := iamUserName(c)
	if err != nil {
		return nil, err
	}
	if _, err := awsworld.Of(c.World).User(name); err != nil {
		return nil, iamAPIError(err)
	}
	c.Touch("AWS::IAM::User", name)
	var items []*X
	for _, d := range awsworld.Of(c.World).MFADevices(name) {
		items = append(items, member(T("UserName", name), T("SerialNumber", d.SerialNumber), T("EnableDate", d.EnableDate)))
	}
	return []*X{members("MFADevices", items), T("IsTruncated", false)}, nil
}

func loginProfileX(user string, lp *awsworld.LoginProfile) *X {
	return E("LoginProfile", T("UserName", user), T("CreateDate", lp.CreateDate), T("PasswordResetRequired", lp.PasswordResetRequired))
}

// iamCreateLoginProfile gives a user a console password: the persistence
// an attacker with iam:CreateLoginProfile plants.
func iamCreateLoginProfile(c *Call) (any, error) {
	name, err := iamUserName(c)
	if err != nil {
		return nil, err
	}
	pw, err := iamRequired(c, "Password")
	if err != nil {
		return nil, err
	}
	if len(pw) < 8 || strings.TrimSpace(pw) == "" {
		return nil, Errf(400, "PasswordPolicyViolation", "Password should have a minimum length of 8")
	}
	reset, _ := c.Form.Bool("PasswordResetRequired")
	c.Touch("AWS::IAM::User", name)
	c.Param("userName", name)
	if err := awsworld.Of(c.World).SetLoginProfile(name, reset); err != nil {
		return nil, iamAPIError(err)
	}
	lp, _ := awsworld.Of(c.World).LoginProfileOf(name)
	return []*X{loginProfileX(name, lp)}, nil
}

func iamGetLoginProfile(c *Call) (any, error) {
	name, err := iamUserName(c)
	if err != nil {
		return nil, err
	}
	c.Touch("AWS::IAM::User", name)
	lp, err := awsworld.Of(c.World).LoginProfileOf(name)
	if err != nil {
		return nil, iamAPIError(err)
	}
	return []*X{loginProfileX(name, lp)}, nil
}

func iamDeleteLoginProfile(c *Call) (any, error) {
	name, err := iamUserName(c)
	if err != nil {
		return nil, err
	}
	c.Touch("AWS::IAM::User", name)
	c.Param("userName", name)
	return nil, iamAPIError(awsworld.Of(c.World).DeleteLoginProfile(name))
}
