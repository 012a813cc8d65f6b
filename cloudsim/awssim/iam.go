package awssim

import (
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/awsworld"
)

// iamService serves IAM (awsQuery). Element names follow the SDK's schemas
// (service/iam/schemas): the client looks for <{Op}Result> and reads members
// by name, lists as <member>. Policy documents come back URL-encoded, as IAM
// sends them, so clients that forget to decode see what they would in AWS.
func iamService() *Service {
	ops := map[string]*Op{
		"CreateUser":             {Resources: userRes("UserName", "Path"), Handle: iamCreateUser},
		"GetUser":                {Resources: userRes("UserName", ""), Handle: iamGetUser},
		"ListUsers":              {Handle: iamListUsers},
		"DeleteUser":             {Resources: userRes("UserName", ""), Handle: iamDeleteUser},
		"CreateAccessKey":        {Resources: userRes("UserName", ""), Handle: iamCreateAccessKey},
		"ListAccessKeys":         {Resources: userRes("UserName", ""), Handle: iamListAccessKeys},
		"UpdateAccessKey":        {Resources: userRes("UserName", ""), Handle: iamUpdateAccessKey},
		"DeleteAccessKey":        {Resources: userRes("UserName", ""), Handle: iamDeleteAccessKey},
		"GetAccessKeyLastUsed":   {Resources: keyOwnerRes, Handle: iamGetAccessKeyLastUsed},
		"CreateRole":             {Resources: roleRes("Path"), Handle: iamCreateRole},
		"GetRole":                {Resources: roleRes(""), Handle: iamGetRole},
		"ListRoles":              {Handle: iamListRoles},
		"DeleteRole":             {Resources: roleRes(""), Handle: iamDeleteRole},
		"UpdateAssumeRolePolicy": {Resources: roleRes(""), Handle: iamUpdateAssumeRolePolicy},

		"CreateInstanceProfile":         {Resources: profileRes("Path"), Handle: iamCreateInstanceProfile},
		"GetInstanceProfile":            {Resources: profileRes(""), Handle: iamGetInstanceProfile},
		"ListInstanceProfiles":          {Handle: iamListInstanceProfiles},
		"DeleteInstanceProfile":         {Resources: profileRes(""), Handle: iamDeleteInstanceProfile},
		"AddRoleToInstanceProfile":      {Resources: profileRes(""), Handle: iamAddRoleToInstanceProfile},
		"RemoveRoleFromInstanceProfile": {Resources: profileRes(""), Handle: iamRemoveRoleFromInstanceProfile},
		"ListInstanceProfilesForRole":   {Resources: roleRes(""), Handle: iamListInstanceProfilesForRole},
	}
	for _, kind := range []string{"User", "Role", "Group"} {
		res := userRes("UserName", "")
		switch kind {
		case "Role":
			res = roleRes("")
		case "Group":
			res = groupRes("")
		}
		k := strings.ToLower(kind)
		ops["Put"+kind+"Policy"] = &Op{Resources: res, Handle: iamPutInline(k)}
		ops["Get"+kind+"Policy"] = &Op{Resources: res, Handle: iamGetInline(k)}
		ops["Delete"+kind+"Policy"] = &Op{Resources: res, Handle: iamDeleteInline(k)}
		ops["List"+kind+"Policies"] = &Op{Resources: res, Handle: iamListInline(k)}
		ops["Attach"+kind+"Policy"] = &Op{Resources: res, Handle: iamAttach(k)}
		ops["Detach"+kind+"Policy"] = &Op{Resources: res, Handle: iamDetach(k)}
		ops["ListAttached"+kind+"Policies"] = &Op{Resources: res, Handle: iamListAttached(k)}
	}
	addIAMOps(ops)
	return &Service{Name: "iam", EventSource: "iam.amazonaws.com",
		proto: awsQuery{xmlns: "https://iam.amazonaws.com/doc/2010-05-08/"}, Ops: ops}
}

// ---- request helpers --------------------------------------------------------

var (
	iamNameRe = regexp.MustCompile(`^[\w+=,.@-]+$`)
	iamPathRe = regexp.MustCompile(`^/([\x21-\x7e]*/)?$`)
)

// iamRequired returns a required parameter, or IAM's validation error.
func iamRequired(c *Call, key string) (string, error) {
	v := c.Form.Get(key)
	if v == "" {
		return "", Errf(400, "ValidationError", "1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", lowerFirst(key))
	}
	return v, nil
}

// iamName returns a required entity name checked against IAM's pattern.
func iamName(c *Call, key string, max int) (string, error) {
	v, err := iamRequired(c, key)
	if err != nil {
		return "", err
	}
	if len(v) > max || !iamNameRe.MatchString(v) {
		return "", Errf(400, "ValidationError", "1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+ and have length less than or equal to %d", v, lowerFirst(key), max)
	}
	return v, nil
}

// iamPath returns the optional Path parameter, validated.
func iamPath(c *Call) (string, error) {
	p := c.Form.Get("Path")
	if p == "" {
		return "/", nil
	}
	if len(p) > 512 || !iamPathRe.MatchString(p) {
		return "", Errf(400, "ValidationError", "The specified value for path is invalid. It must begin and end with / and contain only alphanumeric characters and/or / characters.")
	}
	return p, nil
}

// iamUserName is the UserName parameter, defaulting (as IAM does) to the
// calling user when omitted.
func iamUserName(c *Call) (string, error) {
	if v := c.Form.Get("UserName"); v != "" {
		return v, nil
	}
	if c.Caller != nil && c.Caller.Kind == "user" {
		return c.Caller.Name, nil
	}
	return "", Errf(400, "ValidationError", "Must specify userName when calling with non-User credentials")
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// iamAPIError maps world errors to IAM's wire errors.
func iamAPIError(err error) error {
	if err == nil {
		return nil
	}
	var ae *APIError
	if errors.As(err, &ae) {
		return ae
	}
	for _, m := range []struct {
		kind   error
		status int
	}{
		{awsworld.ErrNoSuchEntity, 404}, {awsworld.ErrEntityExists, 409}, {awsworld.ErrDeleteConflict, 409},
		{awsworld.ErrLimitExceeded, 409}, {awsworld.ErrMalformedPolicy, 400}, {awsworld.ErrInvalidIAMRequest, 400},
	} {
		if errors.Is(err, m.kind) {
			return Errf(m.status, m.kind.Error(), "%s", err.Error())
		}
	}
	return fmt.Errorf("iam: %w", err)
}

// iamTags decodes Tags.member.N.Key/Value.
func iamTags(c *Call) world.Tags { return c.Form.Tags("Tags") }

// ---- authorization resources ---------------------------------------------------

func userARN(c *Call, name, path string) string {
	if u, ok := awsworld.Of(c.World).Users.Get(name); ok {
		return u.ARN
	}
	if path == "" {
		path = "/"
	}
	return fmt.Sprintf("arn:aws:iam::%s:user%s%s", c.Account(), path, name)
}

// userRes authorizes against the named user (the caller when omitted).
func userRes(key, pathKey string) func(*Call) []string {
	return func(c *Call) []string {
		name := c.Form.Get(key)
		if name == "" && c.Caller != nil && c.Caller.Kind == "user" {
			name = c.Caller.Name
		}
		path := ""
		if pathKey != "" {
			path = c.Form.Get(pathKey)
		}
		return []string{userARN(c, name, path)}
	}
}

func roleRes(pathKey string) func(*Call) []string {
	return func(c *Call) []string {
		name := c.Form.Get("RoleName")
		if r, ok := awsworld.Of(c.World).Roles.Get(name); ok {
			return []string{r.ARN}
		}
		path := "/"
		if pathKey != "" && c.Form.Get(pathKey) != "" {
			path = c.Form.Get(pathKey)
		}
		return []string{fmt.Sprintf("arn:aws:iam::%s:role%s%s", c.Account(), path, name)}
	}
}

func profileRes(pathKey string) func(*Call) []string {
	return func(c *Call) []string {
		name := c.Form.Get("InstanceProfileName")
		if p, ok := awsworld.Of(c.World).Profiles.Get(name); ok {
			return []string{p.ARN}
		}
		path := "/"
		if pathKey != "" && c.Form.Get(pathKey) != "" {
			path = c.Form.Get(pathKey)
		}
		return []string{fmt.Sprintf("arn:aws:iam::%s:instance-profile%s%s", c.Account(), path, name)}
	}
}

func keyOwnerRes(c *Call) []string {
	if k, ok := awsworld.Of(c.World).AccessKeys.Get(c.Form.Get("AccessKeyId")); ok {
		return []string{userARN(c, k.User, "")}
	}
	return nil
}

// ---- pagination ---------------------------------------------------------------

// iamPage cuts a sorted list of names at Marker/MaxItems. The marker is an
// opaque token naming the first entry of the next page, so concurrent
// inserts and deletes never make a page skip or repeat an entry.
func iamPage(c *Call, names []string) (page []string, truncated bool, marker string, err error) {
	maxItems, err := c.Form.Int("MaxItems", 100)
	if err != nil || maxItems < 1 || maxItems > 1000 {
		return nil, false, "", Errf(400, "ValidationError", "1 validation error detected: Value '%s' at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 1000", c.Form.Get("MaxItems"))
	}
	start := 0
	if m := c.Form.Get("Marker"); m != "" {
		raw, derr := base64.RawURLEncoding.DecodeString(m)
		if derr != nil || !strings.HasPrefix(string(raw), "fd1:") {
			return nil, false, "", Errf(400, "ValidationError", "Invalid Marker.")
		}
		next := strings.TrimPrefix(string(raw), "fd1:")
		start = sort.SearchStrings(names, next)
	}
	end := min(start+maxItems, len(names))
	page = names[start:end]
	if end < len(names) {
		return page, true, base64.RawURLEncoding.EncodeToString([]byte("fd1:" + names[end])), nil
	}
	return page, false, "", nil
}

// pageResult renders the members, IsTruncated and Marker of a list result.
func pageResult(list *X, truncated bool, marker string) []*X {
	return []*X{list, T("IsTruncated", truncated), TO("Marker", marker)}
}

func members(name string, items []*X) *X { return L(name, items) }

func member(kids ...*X) *X { return E("member", kids...) }

// pathFiltered keeps the names whose entity path has the PathPrefix.
func pathFiltered(c *Call, names []string, pathOf func(string) string) []string {
	prefix := c.Form.Get("PathPrefix")
	if prefix == "" {
		return names
	}
	var out []string
	for _, n := range names {
		if strings.HasPrefix(pathOf(n), prefix) {
			out = append(out, n)
		}
	}
	return out
}

// encodePolicyDoc percent-encodes a policy document the way IAM returns it
// (RFC 3986: everything but unreserved characters), so both
// url.QueryUnescape and url.PathUnescape recover it.
func encodePolicyDoc(doc string) string {
	const hexd = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(doc); i++ {
		ch := doc[i]
		if ch >= 'A' && ch <= 'Z' || ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '_' || ch == '.' || ch == '~' {
			b.WriteByte(ch)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexd[ch>>4])
		b.WriteByte(hexd[ch&15])
	}
	return b.String()
}

func tagsX(tags world.Tags) *X {
	if len(tags) == 0 {
		return nil
	}
	var items []*X
	for _, k := range world.SortedKeys(tags) {
		items = append(items, member(T("Key", k), T("Value", tags[k])))
	}
	return L("Tags", items)
}

// ---- users and keys ---------------------------------------------------------

func userX(name string, u *awsworld.User, withTags bool) *X {
	var tags *X
	if withTags {
		tags = tagsX(u.Tags)
	}
	return E(name, T("Path", u.Path), T("UserName", u.Name), T("UserId", u.ID), T("Arn", u.ARN),
		T("CreateDate", u.CreateDate), tags)
}

func iamCreateUser(c *Call) (any, error) {
	name, err := iamName(c, "UserName", 64)
	if err != nil {
		return nil, err
	}
	path, err := iamPath(c)
	if err != nil {
		return nil, err
	}
	u, err := awsworld.Of(c.World).CreateUser(c.Account(), name, path, iamTags(c))
	if err != nil {
		return nil, iamAPIError(err)
	}
	c.Touch("AWS::IAM::User", name)
	c.Param("userName", name)
	return []*X{userX("User", u, true)}, nil
}

func iamGetUser(c *Call) (any, error) {
	name, err := iamUserName(c)
	if err != nil {
		return nil, err
	}
	u, err := awsworld.Of(c.World).User(name)
	if err != nil {
		return nil, iamAPIError(err)
	}
	if c.Hidden(u.CreateDate) { // eventual-consistency fault: not yet propagated
		return nil, Errf(404, "NoSuchEntity", "The user with name %s cannot be found.", u.Name)
	}
	c.Touch("AWS::IAM::User", name)
	return []*X{userX("User", u, true)}, nil
}

func iamListUsers(c *Call) (any, error) {
	names := pathFiltered(c, awsworld.Of(c.World).Users.Keys(), func(n string) string { return awsworld.Of(c.World).Users.Lookup(n).Path })
	page, trunc, marker, err := iamPage(c, names)
	if err != nil {
		return nil, err
	}
	var items []*X
	for _, n := range page {
		items = append(items, userX("member", awsworld.Of(c.World).Users.Lookup(n), false))
	}
	return pageResult(members("Users", items), trunc, marker), nil
}

func iamDeleteUser(c *Call) (any, error) {
	name, err := iamRequired(c, "UserName")
	if err != nil {
		return nil, err
	}
	c.Touch("AWS::IAM::User", name)
	c.Param("userName", name)
	return nil, iamAPIError(awsworld.Of(c.World).DeleteUser(name))
}

func iamCreateAccessKey(c *Call) (any, error) {
	user, err := iamUserName(c)
	if err != nil {
		return nil, err
	}
	k, err := awsworld.Of(c.World).CreateAccessKey(user)
	if err != nil {
		return nil, iamAPIError(err)
	}
	c.Touch("AWS::IAM::User", user)
	c.Touch("AWS::IAM::AccessKey", k.ID)
	c.Param("userName", user)
	return []*X{E("AccessKey", T("UserName", user), T("AccessKeyId", k.ID), T("Status", k.Status),
		T("SecretAccessKey", k.Secret), T("CreateDate", k.CreateDate))}, nil
}

func iamListAccessKeys(c *Call) (any, error) {
	user, err := iamUserName(c)
	if err != nil {
		return nil, err
	}
	if _, err := awsworld.Of(c.World).User(user); err != nil {
		return nil, iamAPIError(err)
	}
	keys := awsworld.Of(c.World).UserKeys(user)
	ids := make([]string, len(keys))
	byID := map[string]*awsworld.AccessKey{}
	for i, k := range keys {
		ids[i] = k.ID
		byID[k.ID] = k
	}
	sort.Strings(ids)
	page, trunc, marker, err := iamPage(c, ids)
	if err != nil {
		return nil, err
	}
	var items []*X
	for _, id := range page {
		k := byID[id]
		items = append(items, member(T("UserName", user), T("AccessKeyId", k.ID), T("Status", k.Status), T("CreateDate", k.CreateDate)))
	}
	c.Touch("AWS::IAM::User", user)
	return pageResult(members("AccessKeyMetadata", items), trunc, marker), nil
}

func iamUpdateAccessKey(c *Call) (any, error) {
	user, err := iamUserName(c)
	if err != nil {
		return nil, err
	}
	id, err := iamRequired(c, "AccessKeyId")
	if err != nil {
		return nil, err
	}
	status, err := iamRequired(c, "Status")
	if err != nil {
		return nil, err
	}
	c.Touch("AWS::IAM::AccessKey", id)
	c.Param("userName", user)
	c.Param("accessKeyId", id)
	c.Param("status", status)
	// Listed at once; authenticates the old way until it has propagated.
	return nil, iamAPIError(awsworld.Of(c.World).AccessKeyChange(id, func() error { return awsworld.Of(c.World).UpdateAccessKey(user, id, status) }))
}

func iamDeleteAccessKey(c *Call) (any, error) {
	user, err := iamUserName(c)
	if err != nil {
		return nil, err
	}
	id, err := iamRequired(c, "AccessKeyId")
	if err != nil {
		return nil, err
	}
	c.Touch("AWS::IAM::AccessKey", id)
	c.Param("userName", user)
	c.Param("accessKeyId", id)
	return nil, iamAPIError(awsworld.Of(c.World).AccessKeyChange(id, func() error { return awsworld.Of(c.World).DeleteAccessKey(user, id) }))
}

func iamGetAccessKeyLastUsed(c *Call) (any, error) {
	id, err := iamRequired(c, "AccessKeyId")
	if err != nil {
		return nil, err
	}
	k, ok := awsworld.Of(c.World).AccessKeys.Get(id)
	if !ok {
		return nil, Errf(404, "NoSuchEntity", "The Access Key with id %s cannot be found.", id)
	}
	c.Touch("AWS::IAM::AccessKey", id)
	used := E("AccessKeyLastUsed", T("ServiceName", "N/A"), T("Region", "N/A"))
	if !k.LastUsed.IsZero() {
		used = E("AccessKeyLastUsed", T("LastUsedDate", k.LastUsed), T("ServiceName", k.LastUsedService), T("Region", k.LastUsedRegion))
	}
	return []*X{T("UserName", k.User), used}, nil
}

// ---- roles ----------------------------------------------------------------------

func roleX(name string, r *awsworld.Role, withTags bool) *X {
	var tags *X
	if withTags {
		tags = tagsX(r.Tags)
	}
	return E(name, T("Path", r.Path), T("RoleName", r.Name), T("RoleId", r.ID), T("Arn", r.ARN),
		T("CreateDate", r.CreateDate), T("AssumeRolePolicyDocument", encodePolicyDoc(r.TrustPolicy)),
		T("MaxSessionDuration", int(r.MaxSession/time.Second)), tags)
}

func iamCreateRole(c *Call) (any, error) {
	name, err := iamName(c, "RoleName", 64)
	if err != nil {
		return nil, err
	}
	path, err := iamPath(c)
	if err != nil {
		return nil, err
	}
	doc, err := iamRequired(c, "AssumeRolePolicyDocument")
	if err != nil {
		return nil, err
	}
	maxS, err := c.Form.Int("MaxSessionDuration", 3600)
	if err != nil || maxS < 3600 || maxS > 43200 {
		return nil, Errf(400, "ValidationError", "1 validation error detected: Value '%s' at 'maxSessionDuration' failed to satisfy constraint: Member must have value between 3600 and 43200", c.Form.Get("MaxSessionDuration"))
	}
	r, err := awsworld.Of(c.World).CreateRole(c.Account(), name, path, doc, time.Duration(maxS)*time.Second, iamTags(c))
	if err != nil {
		return nil, iamAPIError(err)
	}
	c.Touch("AWS::IAM::Role", name)
	c.Param("roleName", name)
	c.Param("assumeRolePolicyDocument", doc)
	return []*X{roleX("Role", r, true)}, nil
}

func iamGetRole(c *Call) (any, error) {
	name, err := iamRequired(c, "RoleName")
	if err != nil {
		return nil, err
	}
	r, err := awsworld.Of(c.World).Role(name)
	if err != nil {
		return nil, iamAPIError(err)
	}
	if c.Hidden(r.CreateDate) { // eventual-consistency fault: not yet propagated
		return nil, Errf(404, "NoSuchEntity", "The role with name %s cannot be found.", r.Name)
	}
	c.Touch("AWS::IAM::Role", name)
	return []*X{roleX("Role", r, true)}, nil
}

func iamListRoles(c *Call) (any, error) {
	names := pathFiltered(c, awsworld.Of(c.World).Roles.Keys(), func(n string) string { return awsworld.Of(c.World).Roles.Lookup(n).Path })
	page, trunc, marker, err := iamPage(c, names)
	if err != nil {
		return nil, err
	}
	var items []*X
	for _, n := range page {
		items = append(items, roleX("member", awsworld.Of(c.World).Roles.Lookup(n), false))
	}
	return pageResult(members("Roles", items), trunc, marker), nil
}

func iamDeleteRole(c *Call) (any, error) {
	name, err := iamRequired(c, "RoleName")
	if err != nil {
		return nil, err
	}
	c.Touch("AWS::IAM::Role", name)
	c.Param("roleName", name)
	return nil, iamAPIError(awsworld.Of(c.World).DeleteRole(name))
}

func iamUpdateAssumeRolePolicy(c *Call) (any, error) {
	name, err := iamRequired(c, "RoleName")
	if err != nil {
		return nil, err
	}
	doc, err := iamRequired(c, "PolicyDocument")
	if err != nil {
		return nil, err
	}
	c.Touch("AWS::IAM::Role", name)
	c.Param("roleName", name)
	c.Param("policyDocument", doc)
	return nil, iamAPIError(awsworld.Of(c.World).UpdateAssumeRolePolicy(name, doc))
}

// ---- instance profiles ----------------------------------------------------------

func profileX(name string, c *Call, p *awsworld.InstanceProfile) *X {
	var roles []*X
	for _, rn := range p.Roles {
		if r, ok := awsworld.Of(c.World).Roles.Get(rn); ok {
			roles = append(roles, roleX("member", r, false))
		}
	}
	return E(name, T("Path", p.Path), T("InstanceProfileName", p.Name), T("InstanceProfileId", p.ID),
		T("Arn", p.ARN), T("CreateDate", p.CreateDate), L("Roles", roles))
}

func iamCreateInstanceProfile(c *Call) (any, error) {
	name, err := iamName(c, "InstanceProfileName", 128)
	if err != nil {
		return nil, err
	}
	path, err := iamPath(c)
	if err != nil {
		return nil, err
	}
	p, err := awsworld.Of(c.World).CreateInstanceProfile(c.Account(), name, path)
	if err != nil {
		return nil, iamAPIError(err)
	}
	c.Touch("AWS::IAM::InstanceProfile", name)
	c.Param("instanceProfileName", name)
	return []*X{profileX("InstanceProfile", c, p)}, nil
}

func iamGetInstanceProfile(c *Call) (any, error) {
	name, err := iamRequired(c, "InstanceProfileName")
	if err != nil {
		return nil, err
	}
	p, err := awsworld.Of(c.World).InstanceProfile(name)
	if err != nil {
		return nil, iamAPIError(err)
	}
	if c.Hidden(p.CreateDate) { // eventual-consistency fault: not yet propagated
		return nil, Errf(404, "NoSuchEntity", "The instance profile with name %s cannot be found.", p.Name)
	}
	c.Touch("AWS::IAM::InstanceProfile", name)
	return []*X{profileX("InstanceProfile", c, p)}, nil
}

func iamListInstanceProfiles(c *Call) (any, error) {
	names := pathFiltered(c, awsworld.Of(c.World).Profiles.Keys(), func(n string) string { return awsworld.Of(c.World).Profiles.Lookup(n).Path })
	page, trunc, marker, err := iamPage(c, names)
	if err != nil {
		return nil, err
	}
	var items []*X
	for _, n := range page {
		items = append(items, profileX("member", c, awsworld.Of(c.World).Profiles.Lookup(n)))
	}
	return pageResult(members("InstanceProfiles", items), trunc, marker), nil
}

func iamDeleteInstanceProfile(c *Call) (any, error) {
	name, err := iamRequired(c, "InstanceProfileName")
	if err != nil {
		return nil, err
	}
	c.Touch("AWS::IAM::InstanceProfile", name)
	c.Param("instanceProfileName", name)
	return nil, iamAPIError(awsworld.Of(c.World).DeleteInstanceProfile(name))
}

func iamProfileRole(c *Call) (profile, role string, err error) {
	if profile, err = iamRequired(c, "InstanceProfileName"); err != nil {
		return "", "", err
	}
	if role, err = iamRequired(c, "RoleName"); err != nil {
		return "", "", err
	}
	c.Touch("AWS::IAM::InstanceProfile", profile)
	c.Touch("AWS::IAM::Role", role)
	c.Param("instanceProfileName", profile)
	c.Param("roleName", role)
	return profile, role, nil
}

func iamAddRoleToInstanceProfile(c *Call) (any, error) {
	profile, role, err := iamProfileRole(c)
	if err != nil {
		return nil, err
	}
	return nil, iamAPIError(awsworld.Of(c.World).AddRoleToProfile(profile, role))
}

func iamRemoveRoleFromInstanceProfile(c *Call) (any, error) {
	profile, role, err := iamProfileRole(c)
	if err != nil {
		return nil, err
	}
	return nil, iamAPIError(awsworld.Of(c.World).RemoveRoleFromProfile(profile, role))
}

func iamListInstanceProfilesForRole(c *Call) (any, error) {
	role, err := iamRequired(c, "RoleName")
	if err != nil {
		return nil, err
	}
	if _, err := awsworld.Of(c.World).Role(role); err != nil {
		return nil, iamAPIError(err)
	}
	var names []string
	for _, p := range awsworld.Of(c.World).ProfilesForRole(role) {
		names = append(names, p.Name)
	}
	page, trunc, marker, err := iamPage(c, names)
	if err != nil {
		return nil, err
	}
	var items []*X
	for _, n := range page {
		items = append(items, profileX("member", c, awsworld.Of(c.World).Profiles.Lookup(n)))
	}
	return pageResult(members("InstanceProfiles", items), trunc, marker), nil
}

// ---- inline and managed policies ---------------------------------------------------

// iamEntity reads the UserName or RoleName of a policy call.
func iamEntity(c *Call, kind string) (string, error) {
	key := entityKey(kind)
	name, err := iamRequired(c, key)
	if err != nil {
		return "", err
	}
	c.Touch("AWS::IAM::"+strings.TrimSuffix(key, "Name"), name)
	c.Param(lowerFirst(key), name)
	return name, nil
}

func entityKey(kind string) string {
	switch kind {
	case "user":
		return "UserName"
	case "group":
		return "GroupName"
	}
	return "RoleName"
}

func iamPutInline(kind string) func(*Call) (any, error) {
	return func(c *Call) (any, error) {
		name, err := iamEntity(c, kind)
		if err != nil {
			return nil, err
		}
		pname, err := iamName(c, "PolicyName", 128)
		if err != nil {
			return nil, err
		}
		doc, err := iamRequired(c, "PolicyDocument")
		if err != nil {
			return nil, err
		}
		c.Param("policyName", pname)
		c.Param("policyDocument", doc)
		return nil, iamAPIError(awsworld.Of(c.World).IAMChange(kind, name, func() error { return awsworld.Of(c.World).PutInlinePolicy(kind, name, pname, doc) }))
	}
}

func iamGetInline(kind string) func(*Call) (any, error) {
	return func(c *Call) (any, error) {
		name, err := iamEntity(c, kind)
		if err != nil {
			return nil, err
		}
		pname, err := iamRequired(c, "PolicyName")
		if err != nil {
			return nil, err
		}
		doc, err := awsworld.Of(c.World).InlinePolicy(kind, name, pname)
		if err != nil {
			return nil, iamAPIError(err)
		}
		return []*X{T(entityKey(kind), name), T("PolicyName", pname), T("PolicyDocument", encodePolicyDoc(doc))}, nil
	}
}

func iamDeleteInline(kind string) func(*Call) (any, error) {
	return func(c *Call) (any, error) {
		name, err := iamEntity(c, kind)
		if err != nil {
			return nil, err
		}
		pname, err := iamRequired(c, "PolicyName")
		if err != nil {
			return nil, err
		}
		c.Param("policyName", pname)
		return nil, iamAPIError(awsworld.Of(c.World).IAMChange(kind, name, func() error { return awsworld.Of(c.World).DeleteInlinePolicy(kind, name, pname) }))
	}
}

func iamListInline(kind string) func(*Call) (any, error) {
	return func(c *Call) (any, error) {
		name, err := iamEntity(c, kind)
		if err != nil {
			return nil, err
		}
		names, err := awsworld.Of(c.World).InlinePolicyNames(kind, name)
		if err != nil {
			return nil, iamAPIError(err)
		}
		page, trunc, marker, err := iamPage(c, names)
		if err != nil {
			return nil, err
		}
		var items []*X
		for _, n := range page {
			items = append(items, T("member", n))
		}
		return pageResult(members("PolicyNames", items), trunc, marker), nil
	}
}

func iamPolicyARN(c *Call) (string, error) {
	arn, err := iamRequired(c, "PolicyArn")
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(arn, "arn:aws:iam::") || !strings.Contains(arn, ":policy/") {
		return "", Errf(400, "InvalidInput", "ARN %s is not valid.", arn)
	}
	c.Param("policyArn", arn)
	return arn, nil
}

func iamAttach(kind string) func(*Call) (any, error) {
	return func(c *Call) (any, error) {
		name, err := iamEntity(c, kind)
		if err != nil {
			return nil, err
		}
		arn, err := iamPolicyARN(c)
		if err != nil {
			return nil, err
		}
		return nil, iamAPIError(awsworld.Of(c.World).IAMChange(kind, name, func() error { return awsworld.Of(c.World).AttachPolicy(kind, name, arn) }))
	}
}

func iamDetach(kind string) func(*Call) (any, error) {
	return func(c *Call) (any, error) {
		name, err := iamEntity(c, kind)
		if err != nil {
			return nil, err
		}
		arn, err := iamPolicyARN(c)
		if err != nil {
			return nil, err
		}
		return nil, iamAPIError(awsworld.Of(c.World).IAMChange(kind, name, func() error { return awsworld.Of(c.World).DetachPolicy(kind, name, arn) }))
	}
}

func iamListAttached(kind string) func(*Call) (any, error) {
	return func(c *Call) (any, error) {
		name, err := iamEntity(c, kind)
		if err != nil {
			return nil, err
		}
		arns, err := awsworld.Of(c.World).AttachedPolicies(kind, name)
		if err != nil {
			return nil, iamAPIError(err)
		}
		prefix := c.Form.Get("PathPrefix")
		var keep []string
		for _, a := range arns {
			// Managed policy paths: AWS-managed policies live under "/".
			if prefix == "" || prefix == "/" {
				keep = append(keep, a)
			}
		}
		sort.Strings(keep)
		page, trunc, marker, err := iamPage(c, keep)
		if err != nil {
			return nil, err
		}
		var items []*X
		for _, a := range page {
			items = append(items, member(T("PolicyName", awsworld.ManagedPolicyName(a)), T("PolicyArn", a)))
		}
		return pageResult(members("AttachedPolicies", items), trunc, marker), nil
	}
}
