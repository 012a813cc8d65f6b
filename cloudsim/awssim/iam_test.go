package awssim_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/cloudsim/awssim/awssimtest"
)

// errCode is the API error code of err ("" when err is nil or not an API
// error), so tables can expect exact wire codes.
func errCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// requireCode fails unless err is an API error with the given code.
func requireCode(t *testing.T, err error, code string) {
	t.Helper()
	require.Error(t, err)
	require.Equal(t, code, errCode(err), "error: %v", err)
}

const trustAccount = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"sts:AssumeRole"}]}`

const allowListBuckets = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListAllMyBuckets","Resource":"*"}]}`

func TestIAMUserLifecycle(t *testing.T) {
	env := awssimtest.New(t)
	ctx := context.Background()
	c := iam.NewFromConfig(env.Admin)

	out, err := c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("alice"), Path: aws.String("/staff/"),
		Tags: []iamtypes.Tag{{Key: aws.String("team"), Value: aws.String("sre")}}})
	require.NoError(t, err)
	require.Equal(t, "arn:aws:iam::111122223333:user/staff/alice", *out.User.Arn)
	require.Equal(t, "/staff/", *out.User.Path)
	require.Regexp(t, `^AIDA[A-Z2-7]{17}$`, *out.User.UserId)
	require.Equal(t, awssimtest.Start, *out.User.CreateDate)

	got, err := c.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("alice")})
	require.NoError(t, err)
	require.Equal(t, *out.User.Arn, *got.User.Arn)
	require.Len(t, got.User.Tags, 1)
	require.Equal(t, "sre", *got.User.Tags[0].Value)

	self, err := c.GetUser(ctx, &iam.GetUserInput{})
	require.NoError(t, err, "GetUser without a name describes the caller")
	require.Equal(t, "admin", *self.User.UserName)

	for _, tc := range []struct {
		name string
		call func() error
		code string
	}{
		{"duplicate user", func() error {
			_, err := c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("alice")})
			return err
		}, "EntityAlreadyExists"},
		{"missing user", func() error {
			_, err := c.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("nobody")})
			return err
		}, "NoSuchEntity"},
		{"bad name", func() error {
			_, err := c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("bad name!")})
			return err
		}, "ValidationError"},
		{"bad path", func() error {
			_, err := c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("bob"), Path: aws.String("nopath")})
			return err
		}, "ValidationError"},
		{"delete missing", func() error {
			_, err := c.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String("nobody")})
			return err
		}, "NoSuchEntity"},
	} {
		t.Run(tc.name, func(t *testing.T) { requireCode(t, tc.call(), tc.code) })
	}

	var nf *iamtypes.NoSuchEntityException
	_, err = c.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("nobody")})
	require.ErrorAs(t, err, &nf, "NoSuchEntity must deserialize to the SDK's typed error")

	// DeleteUser refuses while the user still holds keys or policies.
	key, err := c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("alice")})
	require.NoError(t, err)
	_, err = c.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String("alice")})
	var dc *iamtypes.DeleteConflictException
	require.ErrorAs(t, err, &dc)
	_, err = c.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String("alice"), AccessKeyId: key.AccessKey.AccessKeyId})
	require.NoError(t, err)
	_, err = c.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("alice"), PolicyArn: aws.String("arn:aws:iam::aws:policy/ReadOnlyAccess")})
	require.NoError(t, err)
	_, err = c.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String("alice")})
	requireCode(t, err, "DeleteConflict")
	_, err = c.DetachUserPolicy(ctx, &iam.DetachUserPolicyInput{UserName: aws.String("alice"), PolicyArn: aws.String("arn:aws:iam::aws:policy/ReadOnlyAccess")})
	require.NoError(t, err)
	_, err = c.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String("alice")})
	require.NoError(t, err)
	_, err = c.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("alice")})
	requireCode(t, err, "NoSuchEntity")
}

func TestIAMListUsersPaginates(t *testing.T) {
	env := awssimtest.New(t)
	ctx := context.Background()
	c := iam.NewFromConfig(env.Admin)
	for i := range 5 {
		_, err := c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(fmt.Sprintf("u%d", i))})
		require.NoError(t, err)
	}
	first, err := c.ListUsers(ctx, &iam.ListUsersInput{MaxItems: aws.Int32(2)})
	require.NoError(t, err)
	require.True(t, first.IsTruncated)
	require.NotEmpty(t, *first.Marker)
	require.Len(t, first.Users, 2)

	var names []string
	pages := 0
	p := iam.NewListUsersPaginator(c, &iam.ListUsersInput{MaxItems: aws.Int32(2)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		require.NoError(t, err)
		pages++
		for _, u := range page.Users {
			names = append(names, *u.UserName)
		}
	}
	require.Equal(t, 3, pages)
	require.Equal(t, []string{"admin", "u0", "u1", "u2", "u3", "u4"}, names)

	_, err = c.ListUsers(ctx, &iam.ListUsersInput{Marker: aws.String("not-a-marker")})
	requireCode(t, err, "ValidationError")
	_, err = c.ListUsers(ctx, &iam.ListUsersInput{MaxItems: aws.Int32(0)})
	requireCode(t, err, "ValidationError")
}

func TestIAMAccessKeys(t *testing.T) {
	env := awssimtest.New(t)
	ctx := context.Background()
	c := iam.NewFromConfig(env.Admin)
	_, err := c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("ci")})
	require.NoError(t, err)
	_, err = c.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("ci"), PolicyName: aws.String("buckets"), PolicyDocument: aws.String(allowListBuckets)})
	require.NoError(t, err)

	k1, err := c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("ci")})
	require.NoError(t, err)
	require.Regexp(t, `^AKIA[A-Z2-7]{16}$`, *k1.AccessKey.AccessKeyId)
	require.Len(t, *k1.AccessKey.SecretAccessKey, 40)
	require.Equal(t, iamtypes.StatusTypeActive, k1.AccessKey.Status)
	_, err = c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("ci")})
	require.NoError(t, err)
	_, err = c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("ci")})
	var le *iamtypes.LimitExceededException
	require.ErrorAs(t, err, &le, "a third key exceeds the two-key quota")

	list, err := c.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String("ci")})
	require.NoError(t, err)
	require.Len(t, list.AccessKeyMetadata, 2)
	require.Equal(t, "ci", *list.AccessKeyMetadata[0].UserName)
	require.False(t, list.IsTruncated)

	mine, err := c.ListAccessKeys(ctx, &iam.ListAccessKeysInput{})
	require.NoError(t, err, "ListAccessKeys without a user lists the caller's keys")
	require.Len(t, mine.AccessKeyMetadata, 1)
	require.Equal(t, env.AdminKey.ID, *mine.AccessKeyMetadata[0].AccessKeyId)

	// Last-used is recorded per authenticated call: time, service, region.
	id := k1.AccessKey.AccessKeyId
	lu, err := c.GetAccessKeyLastUsed(ctx, &iam.GetAccessKeyLastUsedInput{AccessKeyId: id})
	require.NoError(t, err)
	require.Equal(t, "ci", *lu.UserName)
	require.Nil(t, lu.AccessKeyLastUsed.LastUsedDate)
	require.Equal(t, "N/A", *lu.AccessKeyLastUsed.ServiceName)

	env.Clock.Advance(90 * 60e9)
	ciCfg := env.Config(*id, *k1.AccessKey.SecretAccessKey, "")
	_, err = sts.NewFromConfig(ciCfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	require.NoError(t, err)
	lu, err = c.GetAccessKeyLastUsed(ctx, &iam.GetAccessKeyLastUsedInput{AccessKeyId: id})
	require.NoError(t, err)
	require.Equal(t, awssimtest.Start.Add(90*60e9), *lu.AccessKeyLastUsed.LastUsedDate)
	require.Equal(t, "sts", *lu.AccessKeyLastUsed.ServiceName)
	require.Equal(t, awssimtest.Region, *lu.AccessKeyLastUsed.Region)

	// Deactivation is listed at once and authenticates until it has
	// propagated; reactivation restores the key the same way.
	_, err = c.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String("ci"), AccessKeyId: id, Status: iamtypes.StatusTypeInactive})
	require.NoError(t, err)
	keys, err := c.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String("ci")})
	require.NoError(t, err)
	for _, k := range keys.AccessKeyMetadata {
		if *k.AccessKeyId == *id {
			require.Equal(t, iamtypes.StatusTypeInactive, k.Status, "listed at once")
		}
	}
	_, err = sts.NewFromConfig(ciCfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	require.NoError(t, err, "the deactivation has not propagated yet")
	env.Propagate()
	_, err = sts.NewFromConfig(ciCfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	requireCode(t, err, "InvalidClientTokenId")
	_, err = c.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String("ci"), AccessKeyId: id, Status: iamtypes.StatusTypeActive})
	require.NoError(t, err)
	env.Propagate()
	_, err = sts.NewFromConfig(ciCfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	require.NoError(t, err)

	for _, tc := range []struct {
		name string
		call func() error
		code string
	}{
		{"bad status", func() error {
			_, err := c.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String("ci"), AccessKeyId: id, Status: "Paused"})
			return err
		}, "ValidationError"},
		{"key of another user", func() error {
			_, err := c.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String("admin"), AccessKeyId: id, Status: iamtypes.StatusTypeInactive})
			return err
		}, "NoSuchEntity"},
		{"unknown key last used", func() error {
			_, err := c.GetAccessKeyLastUsed(ctx, &iam.GetAccessKeyLastUsedInput{AccessKeyId: aws.String("AKIAUNKNOWN000000000")})
			return err
		}, "NoSuchEntity"},
		{"delete unknown key", func() error {
			_, err := c.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String("ci"), AccessKeyId: aws.String("AKIAUNKNOWN000000000")})
			return err
		}, "NoSuchEntity"},
		{"keys of a missing user", func() error {
			_, err := c.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String("ghost")})
			return err
		}, "NoSuchEntity"},
	} {
		t.Run(tc.name, func(t *testing.T) { requireCode(t, tc.call(), tc.code) })
	}

	_, err = c.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String("ci"), AccessKeyId: id})
	require.NoError(t, err)
	_, err = sts.NewFromConfig(ciCfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	require.NoError(t, err, "a deleted key authenticates until the deletion has propagated")
	env.Propagate()
	_, err = sts.NewFromConfig(ciCfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	requireCode(t, err, "InvalidClientTokenId")
}

func TestIAMRoles(t *testing.T) {
	env := awssimtest.New(t)
	ctx := context.Background()
	c := iam.NewFromConfig(env.Admin)

	out, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("app"), Path: aws.String("/svc/"),
		AssumeRolePolicyDocument: aws.String(trustAccount), MaxSessionDuration: aws.Int32(7200)})
	require.NoError(t, err)
	require.Equal(t, "arn:aws:iam::111122223333:role/svc/app", *out.Role.Arn)
	require.Regexp(t, `^AROA`, *out.Role.RoleId)

	got, err := c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("app")})
	require.NoError(t, err)
	require.Equal(t, int32(7200), *got.Role.MaxSessionDuration)
	require.NotContains(t, *got.Role.AssumeRolePolicyDocument, "{", "IAM returns policy documents URL-encoded")
	doc, err := url.QueryUnescape(*got.Role.AssumeRolePolicyDocument)
	require.NoError(t, err)
	require.JSONEq(t, trustAccount, doc)

	newTrust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/admin"},"Action":"sts:AssumeRole"}]}`
	_, err = c.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String("app"), PolicyDocument: aws.String(newTrust)})
	require.NoError(t, err)
	got, err = c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("app")})
	require.NoError(t, err)
	doc, err = url.PathUnescape(*got.Role.AssumeRolePolicyDocument)
	require.NoError(t, err)
	require.JSONEq(t, newTrust, doc)

	_, err = c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("other"), AssumeRolePolicyDocument: aws.String(trustAccount)})
	require.NoError(t, err)
	roles, err := c.ListRoles(ctx, &iam.ListRolesInput{})
	require.NoError(t, err)
	require.Len(t, roles.Roles, 2)
	require.Equal(t, "app", *roles.Roles[0].RoleName)
	svc, err := c.ListRoles(ctx, &iam.ListRolesInput{PathPrefix: aws.String("/svc/")})
	require.NoError(t, err)
	require.Len(t, svc.Roles, 1)

	for _, tc := range []struct {
		name string
		call func() error
		code string
	}{
		{"duplicate", func() error {
			_, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("app"), AssumeRolePolicyDocument: aws.String(trustAccount)})
			return err
		}, "EntityAlreadyExists"},
		{"trust not json", func() error {
			_, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("x"), AssumeRolePolicyDocument: aws.String("{not json")})
			return err
		}, "MalformedPolicyDocument"},
		{"trust without principal", func() error {
			_, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("x"), AssumeRolePolicyDocument: aws.String(allowListBuckets)})
			return err
		}, "MalformedPolicyDocument"},
		{"session too long", func() error {
			_, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("x"), AssumeRolePolicyDocument: aws.String(trustAccount), MaxSessionDuration: aws.Int32(50000)})
			return err
		}, "ValidationError"},
		{"update trust malformed", func() error {
			_, err := c.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String("app"), PolicyDocument: aws.String(`{"Statement":[{"Effect":"Maybe"}]}`)})
			return err
		}, "MalformedPolicyDocument"},
		{"update trust of missing role", func() error {
			_, err := c.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String("ghost"), PolicyDocument: aws.String(trustAccount)})
			return err
		}, "NoSuchEntity"},
		{"get missing", func() error {
			_, err := c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("ghost")})
			return err
		}, "NoSuchEntity"},
	} {
		t.Run(tc.name, func(t *testing.T) { requireCode(t, tc.call(), tc.code) })
	}

	_, err = c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("other"), PolicyName: aws.String("p"), PolicyDocument: aws.String(allowListBuckets)})
	require.NoError(t, err)
	_, err = c.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("other")})
	requireCode(t, err, "DeleteConflict")
	_, err = c.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String("other"), PolicyName: aws.String("p")})
	require.NoError(t, err)
	_, err = c.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("other")})
	require.NoError(t, err)
	_, err = c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("other")})
	requireCode(t, err, "NoSuchEntity")
}

func TestIAMInstanceProfiles(t *testing.T) {
	env := awssimtest.New(t)
	ctx := context.Background()
	c := iam.NewFromConfig(env.Admin)
	for _, r := range []string{"web", "spare"} {
		_, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(r), AssumeRolePolicyDocument: aws.String(trustAccount)})
		require.NoError(t, err)
	}
	cp, err := c.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String("web-profile")})
	require.NoError(t, err)
	require.Equal(t, "arn:aws:iam::111122223333:instance-profile/web-profile", *cp.InstanceProfile.Arn)
	require.Regexp(t, `^AIPA`, *cp.InstanceProfile.InstanceProfileId)
	require.Empty(t, cp.InstanceProfile.Roles)

	_, err = c.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: aws.String("web-profile"), RoleName: aws.String("web")})
	require.NoError(t, err)
	gp, err := c.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: aws.String("web-profile")})
	require.NoError(t, err)
	require.Len(t, gp.InstanceProfile.Roles, 1)
	require.Equal(t, "web", *gp.InstanceProfile.Roles[0].RoleName)

	lp, err := c.ListInstanceProfiles(ctx, &iam.ListInstanceProfilesInput{})
	require.NoError(t, err)
	require.Len(t, lp.InstanceProfiles, 1)
	fr, err := c.ListInstanceProfilesForRole(ctx, &iam.ListInstanceProfilesForRoleInput{RoleName: aws.String("web")})
	require.NoError(t, err)
	require.Len(t, fr.InstanceProfiles, 1)
	fr, err = c.ListInstanceProfilesForRole(ctx, &iam.ListInstanceProfilesForRoleInput{RoleName: aws.String("spare")})
	require.NoError(t, err)
	require.Empty(t, fr.InstanceProfiles)

	for _, tc := range []struct {
		name string
		call func() error
		code string
	}{
		{"second role exceeds quota", func() error {
			_, err := c.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: aws.String("web-profile"), RoleName: aws.String("spare")})
			return err
		}, "LimitExceeded"},
		{"duplicate profile", func() error {
			_, err := c.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String("web-profile")})
			return err
		}, "EntityAlreadyExists"},
		{"missing profile", func() error {
			_, err := c.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: aws.String("ghost")})
			return err
		}, "NoSuchEntity"},
		{"role missing from profile", func() error {
			_, err := c.RemoveRoleFromInstanceProfile(ctx, &iam.RemoveRoleFromInstanceProfileInput{InstanceProfileName: aws.String("web-profile"), RoleName: aws.String("spare")})
			return err
		}, "NoSuchEntity"},
		{"delete role still in a profile", func() error {
			_, err := c.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("web")})
			return err
		}, "DeleteConflict"},
		{"delete profile holding a role", func() error {
			_, err := c.DeleteInstanceProfile(ctx, &iam.DeleteInstanceProfileInput{InstanceProfileName: aws.String("web-profile")})
			return err
		}, "DeleteConflict"},
		{"profiles for missing role", func() error {
			_, err := c.ListInstanceProfilesForRole(ctx, &iam.ListInstanceProfilesForRoleInput{RoleName: aws.String("ghost")})
			return err
		}, "NoSuchEntity"},
	} {
		t.Run(tc.name, func(t *testing.T) { requireCode(t, tc.call(), tc.code) })
	}

	_, err = c.RemoveRoleFromInstanceProfile(ctx, &iam.RemoveRoleFromInstanceProfileInput{InstanceProfileName: aws.String("web-profile"), RoleName: aws.String("web")})
	require.NoError(t, err)
	gp, err = c.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: aws.String("web-profile")})
	require.NoError(t, err)
	require.Empty(t, gp.InstanceProfile.Roles)
	_, err = c.DeleteInstanceProfile(ctx, &iam.DeleteInstanceProfileInput{InstanceProfileName: aws.String("web-profile")})
	require.NoError(t, err)
	_, err = c.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("web")})
	require.NoError(t, err)
}

// TestIAMPolicies runs the same inline and managed policy checks against a
// user and a role.
func TestIAMPolicies(t *testing.T) {
	env := awssimtest.New(t)
	ctx := context.Background()
	c := iam.NewFromConfig(env.Admin)
	_, err := c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("bob")})
	require.NoError(t, err)
	_, err = c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("job"), AssumeRolePolicyDocument: aws.String(trustAccount)})
	require.NoError(t, err)
	const readOnly = "arn:aws:iam::aws:policy/ReadOnlyAccess"

	type ops struct {
		put      func(name, doc string) error
		get      func(name string) (string, error)
		del      func(name string) error
		list     func() ([]string, error)
		attach   func(arn string) error
		detach   func(arn string) error
		attached func() ([]iamtypes.AttachedPolicy, error)
	}
	user := ops{
		put: func(n, d string) error {
			_, err := c.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("bob"), PolicyName: aws.String(n), PolicyDocument: aws.String(d)})
			return err
		},
		get: func(n string) (string, error) {
			o, err := c.GetUserPolicy(ctx, &iam.GetUserPolicyInput{UserName: aws.String("bob"), PolicyName: aws.String(n)})
			if err != nil {
				return "", err
			}
			return *o.PolicyDocument, nil
		},
		del: func(n string) error {
			_, err := c.DeleteUserPolicy(ctx, &iam.DeleteUserPolicyInput{UserName: aws.String("bob"), PolicyName: aws.String(n)})
			return err
		},
		list: func() ([]string, error) {
			o, err := c.ListUserPolicies(ctx, &iam.ListUserPoliciesInput{UserName: aws.String("bob")})
			if err != nil {
				return nil, err
			}
			return o.PolicyNames, nil
		},
		attach: func(a string) error {
			_, err := c.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("bob"), PolicyArn: aws.String(a)})
			return err
		},
		detach: func(a string) error {
			_, err := c.DetachUserPolicy(ctx, &iam.DetachUserPolicyInput{UserName: aws.String("bob"), PolicyArn: aws.String(a)})
			return err
		},
		attached: func() ([]iamtypes.AttachedPolicy, error) {
			o, err := c.ListAttachedUserPolicies(ctx, &iam.ListAttachedUserPoliciesInput{UserName: aws.String("bob")})
			if err != nil {
				return nil, err
			}
			return o.AttachedPolicies, nil
		},
	}
	role := ops{
		put: func(n, d string) error {
			_, err := c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("job"), PolicyName: aws.String(n), PolicyDocument: aws.String(d)})
			return err
		},
		get: func(n string) (string, error) {
			o, err := c.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String("job"), PolicyName: aws.String(n)})
			if err != nil {
				return "", err
			}
			return *o.PolicyDocument, nil
		},
		del: func(n string) error {
			_, err := c.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String("job"), PolicyName: aws.String(n)})
			return err
		},
		list: func() ([]string, error) {
			o, err := c.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: aws.String("job")})
			if err != nil {
				return nil, err
			}
			return o.PolicyNames, nil
		},
		attach: func(a string) error {
			_, err := c.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("job"), PolicyArn: aws.String(a)})
			return err
		},
		detach: func(a string) error {
			_, err := c.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String("job"), PolicyArn: aws.String(a)})
			return err
		},
		attached: func() ([]iamtypes.AttachedPolicy, error) {
			o, err := c.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String("job")})
			if err != nil {
				return nil, err
			}
			return o.AttachedPolicies, nil
		},
	}
	for name, o := range map[string]ops{"user": user, "role": role} {
		t.Run(name, func(t *testing.T) {
			const doc = `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:TokenIssueTime":"2026-11-26T09:00:00Z"}}}]}`
			require.NoError(t, o.put("revoke", doc))
			require.NoError(t, o.put("buckets", allowListBuckets))
			enc, err := o.get("revoke")
			require.NoError(t, err)
			require.Contains(t, enc, "%7B%22Version%22", "GetXPolicy answers URL-encoded")
			dec, err := url.QueryUnescape(enc)
			require.NoError(t, err)
			require.JSONEq(t, doc, dec)
			names, err := o.list()
			require.NoError(t, err)
			require.Equal(t, []string{"buckets", "revoke"}, names)
			requireCode(t, o.put("bad", `{"Statement":`), "MalformedPolicyDocument")
			requireCode(t, o.put("principal", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}`), "MalformedPolicyDocument")
			require.NoError(t, o.del("revoke"))
			_, err = o.get("revoke")
			requireCode(t, err, "NoSuchEntity")
			requireCode(t, o.del("revoke"), "NoSuchEntity")

			require.NoError(t, o.attach(readOnly))
			require.NoError(t, o.attach(readOnly), "attaching twice is idempotent")
			att, err := o.attached()
			require.NoError(t, err)
			require.Len(t, att, 1)
			require.Equal(t, "ReadOnlyAccess", *att[0].PolicyName)
			require.Equal(t, readOnly, *att[0].PolicyArn)
			requireCode(t, o.attach("arn:aws:iam::aws:policy/NoSuchPolicy"), "NoSuchEntity")
			requireCode(t, o.attach("not-an-arn"), "InvalidInput")
			require.NoError(t, o.detach(readOnly))
			requireCode(t, o.detach(readOnly), "NoSuchEntity")
			att, err = o.attached()
			require.NoError(t, err)
			require.Empty(t, att)
		})
	}
}

// TestIAMAuthorizationUsesEntityARNs checks that IAM calls are authorized
// against the target entity's ARN and that policy changes apply once they
// have propagated.
func TestIAMAuthorizationUsesEntityARNs(t *testing.T) {
	env := awssimtest.New(t)
	ctx := context.Background()
	admin := iam.NewFromConfig(env.Admin)
	cfg := env.UserConfig(t, "dev")
	dev := iam.NewFromConfig(cfg)

	_, err := dev.ListUsers(ctx, &iam.ListUsersInput{})
	requireCode(t, err, "AccessDenied")

	_, err = admin.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("dev"), PolicyName: aws.String("self"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:GetUser","iam:ListAccessKeys"],"Resource":"arn:aws:iam::111122223333:user/dev"}]}`)})
	require.NoError(t, err)
	_, err = dev.GetUser(ctx, &iam.GetUserInput{})
	requireCode(t, err, "AccessDenied") // a grant propagates like a revoke
	env.Propagate()
	_, err = dev.GetUser(ctx, &iam.GetUserInput{})
	require.NoError(t, err)
	_, err = dev.ListAccessKeys(ctx, &iam.ListAccessKeysInput{})
	require.NoError(t, err)
	_, err = dev.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("admin")})
	requireCode(t, err, "AccessDenied")

	_, err = admin.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("dev"), PolicyArn: aws.String("arn:aws:iam::aws:policy/ReadOnlyAccess")})
	require.NoError(t, err)
	env.Propagate()
	_, err = dev.ListUsers(ctx, &iam.ListUsersInput{})
	require.NoError(t, err)
	_, err = dev.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("sneaky")})
	requireCode(t, err, "AccessDenied")

	_, err = admin.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("dev"), PolicyArn: aws.String("arn:aws:iam::aws:policy/AWSDenyAll")})
	require.NoError(t, err)
	_, err = dev.GetUser(ctx, &iam.GetUserInput{})
	require.NoError(t, err, "the deny has not propagated yet")
	env.Propagate()
	_, err = dev.GetUser(ctx, &iam.GetUserInput{})
	requireCode(t, err, "AccessDenied")
}
