package awssim_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/cloudsim/awssim"
	"github.com/firedrill-ir/firedrill/cloudsim/awssim/awssimtest"
	"github.com/firedrill-ir/firedrill/cloudsim/fault"
	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/awsworld"
)

const roleARN = "arn:aws:iam::111122223333:role/responder"

// newRole creates a role with a trust policy and the ReadOnlyAccess policy.
func newRole(t *testing.T, env *awssimtest.Env, name, trust string) {
	t.Helper()
	ctx := context.Background()
	c := iam.NewFromConfig(env.Admin)
	_, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trust)})
	require.NoError(t, err)
	_, err = c.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String(name), PolicyArn: aws.String("arn:aws:iam::aws:policy/ReadOnlyAccess")})
	require.NoError(t, err)
}

// assume calls AssumeRole with cfg and returns an SDK config for the session.
func assume(t *testing.T, env *awssimtest.Env, cfg aws.Config, arn, name string, secs int32) (aws.Config, *ststypes.Credentials, error) {
	t.Helper()
	in := &sts.AssumeRoleInput{RoleArn: aws.String(arn), RoleSessionName: aws.String(name)}
	if secs != 0 {
		in.DurationSeconds = aws.Int32(secs)
	}
	out, err := sts.NewFromConfig(cfg).AssumeRole(context.Background(), in)
	if err != nil {
		return aws.Config{}, nil, err
	}
	cr := out.Credentials
	return env.Config(*cr.AccessKeyId, *cr.SecretAccessKey, *cr.SessionToken), cr, nil
}

func TestAssumeRoleSessionWorksUntilItExpires(t *testing.T) {
	env := awssimtest.New(t)
	ctx := context.Background()
	newRole(t, env, "responder", trustAccount)
	env.Propagate() // the role's ReadOnlyAccess authorizes
	t0 := env.Clock.Now()

	out, err := sts.NewFromConfig(env.Admin).AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn: aws.String(roleARN), RoleSessionName: aws.String("ir-1"), DurationSeconds: aws.Int32(900)})
	require.NoError(t, err)
	require.Regexp(t, `^ASIA[A-Z2-7]{16}$`, *out.Credentials.AccessKeyId)
	require.NotEmpty(t, *out.Credentials.SessionToken)
	require.Equal(t, t0.Add(15*time.Minute), *out.Credentials.Expiration)
	require.Equal(t, "arn:aws:sts::111122223333:assumed-role/responder/ir-1", *out.AssumedRoleUser.Arn)
	require.Regexp(t, `^AROA[A-Z2-7]{17}:ir-1$`, *out.AssumedRoleUser.AssumedRoleId)

	sess := env.Config(*out.Credentials.AccessKeyId, *out.Credentials.SecretAccessKey, *out.Credentials.SessionToken)
	id, err := sts.NewFromConfig(sess).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	require.NoError(t, err)
	require.Equal(t, *out.AssumedRoleUser.Arn, *id.Arn)
	require.Equal(t, *out.AssumedRoleUser.AssumedRoleId, *id.UserId)

	_, err = iam.NewFromConfig(sess).ListRoles(ctx, &iam.ListRolesInput{})
	require.NoError(t, err, "the session has the role's read-only permissions")
	_, err = iam.NewFromConfig(sess).CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("x")})
	requireCode(t, err, "AccessDenied")

	env.Clock.Advance(15*time.Minute - time.Second)
	_, err = sts.NewFromConfig(sess).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	require.NoError(t, err, "still valid one second before expiry")
	env.Clock.Advance(time.Second)
	_, err = sts.NewFromConfig(sess).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	requireCode(t, err, "ExpiredToken")
	_, err = iam.NewFromConfig(sess).ListRoles(ctx, &iam.ListRolesInput{})
	requireCode(t, err, "ExpiredToken")

	env.World.Lock()
	s := awsworld.Of(env.World).Sessions.Lookup(*out.Credentials.AccessKeyId)
	env.World.Unlock()
	require.Equal(t, "assume-role:arn:aws:iam::111122223333:user/admin", s.Source)
}

func TestAssumeRoleDecisions(t *testing.T) {
	env := awssimtest.New(t)
	newRole(t, env, "responder", trustAccount)
	newRole(t, env, "named", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/plain"},"Action":"sts:AssumeRole"}]}`)
	newRole(t, env, "foreign", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999988887777:root"},"Action":"sts:AssumeRole"}]}`)
	newRole(t, env, "ec2only", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)
	newRole(t, env, "denier", `{"Version":"2012-10-17","Statement":[`+
		`{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"},`+
		`{"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::111122223333:user/admin"},"Action":"sts:AssumeRole"}]}`)
	newRole(t, env, "chained", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"`+roleARN+`"},"Action":"sts:AssumeRole"}]}`)
	env.World.Lock()
	awsworld.Of(env.World).Roles.Lookup("chained").MaxSession = 12 * time.Hour
	env.World.Unlock()

	plain := env.UserConfig(t, "plain") // no identity policies at all
	denied := env.UserConfig(t, "denied", "arn:aws:iam::aws:policy/AdministratorAccess")
	env.World.Lock()
	awsworld.Of(env.World).Users.Lookup("denied").Policies["no-assume"] = `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"sts:AssumeRole","Resource":"*"}]}`
	env.World.Unlock()
	session, _, err := assume(t, env, env.Admin, roleARN, "hop", 0)
	require.NoError(t, err)

	for _, tc := range []struct {
		name   string
		cfg    aws.Config
		role   string
		sess   string
		secs   int32
		code   string
		expiry time.Duration
	}{
		{"default duration is one hour", env.Admin, roleARN, "s1", 0, "", time.Hour},
		{"minimum duration", env.Admin, roleARN, "s2", 900, "", 15 * time.Minute},
		{"below minimum", env.Admin, roleARN, "s3", 899, "ValidationError", 0},
		{"above maximum", env.Admin, roleARN, "s4", 43201, "ValidationError", 0},
		{"above the role's MaxSessionDuration", env.Admin, roleARN, "s5", 7200, "ValidationError", 0},
		{"bad session name", env.Admin, roleARN, "a", 0, "ValidationError", 0},
		{"malformed role arn", env.Admin, "arn:aws:iam::role", "s6", 0, "ValidationError", 0},
		{"missing role is access denied", env.Admin, "arn:aws:iam::111122223333:role/ghost", "s7", 0, "AccessDenied", 0},
		{"trust names another account", env.Admin, "arn:aws:iam::111122223333:role/foreign", "s8", 0, "AccessDenied", 0},
		{"trust names only a service", env.Admin, "arn:aws:iam::111122223333:role/ec2only", "s9", 0, "AccessDenied", 0},
		{"trust deny wins over trust allow", env.Admin, "arn:aws:iam::111122223333:role/denier", "s10", 0, "AccessDenied", 0},
		{"account trust needs identity permission", plain, roleARN, "s11", 0, "AccessDenied", 0},
		{"trust naming the user needs no identity permission", plain, "arn:aws:iam::111122223333:role/named", "s12", 0, "", time.Hour},
		{"identity deny wins", denied, roleARN, "s13", 0, "AccessDenied", 0},
		{"role chaining within one hour", session, "arn:aws:iam::111122223333:role/chained", "s14", 3600, "", time.Hour},
		{"role chaining over one hour", session, "arn:aws:iam::111122223333:role/chained", "s15", 7200, "ValidationError", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, cr, err := assume(t, env, tc.cfg, tc.role, tc.sess, tc.secs)
			if tc.code != "" {
				requireCode(t, err, tc.code)
				return
			}
			require.NoError(t, err)
			require.Equal(t, awssimtest.Start.Add(tc.expiry), *cr.Expiration)
		})
	}
}

// TestTokenIssueTimeRevocation is the IR step that revokes stolen role
// credentials: a Deny on sessions issued before "now" cuts off old sessions
// and leaves new ones working, once it has propagated. Checked at once, the
// revoke looks like it failed to bite: the "fix, then verify immediately"
// trap.
func TestTokenIssueTimeRevocation(t *testing.T) {
	env := awssimtest.New(t)
	ctx := context.Background()
	newRole(t, env, "responder", trustAccount)
	env.Propagate()
	stolen, _, err := assume(t, env, env.Admin, roleARN, "instance", 0)
	require.NoError(t, err)
	_, err = iam.NewFromConfig(stolen).ListRoles(ctx, &iam.ListRolesInput{})
	require.NoError(t, err)

	env.Clock.Advance(time.Second)
	revoke := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:TokenIssueTime":"%s"}}}]}`,
		world.IAMTime(env.Clock.Now()))
	_, err = iam.NewFromConfig(env.Admin).PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("responder"),
		PolicyName: aws.String("AWSRevokeOlderSessions"), PolicyDocument: aws.String(revoke)})
	require.NoError(t, err)
	got, err := iam.NewFromConfig(env.Admin).GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String("responder"),
		PolicyName: aws.String("AWSRevokeOlderSessions")})
	require.NoError(t, err, "readers see the new policy at once")
	require.Contains(t, aws.ToString(got.PolicyDocument), "TokenIssueTime")

	_, err = iam.NewFromConfig(stolen).ListRoles(ctx, &iam.ListRolesInput{})
	require.NoError(t, err, "probed at once, the stolen session still works: the deny has not propagated")
	env.Propagate()
	_, err = iam.NewFromConfig(stolen).ListRoles(ctx, &iam.ListRolesInput{})
	requireCode(t, err, "AccessDenied")
	_, err = sts.NewFromConfig(stolen).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	require.NoError(t, err, "GetCallerIdentity needs no permission, even under a deny-all")

	env.Clock.Advance(time.Second)
	fresh, _, err := assume(t, env, env.Admin, roleARN, "responder", 0)
	require.NoError(t, err)
	_, err = iam.NewFromConfig(fresh).ListRoles(ctx, &iam.ListRolesInput{})
	require.NoError(t, err, "sessions issued after the cut-off keep working")
	_, err = iam.NewFromConfig(stolen).ListRoles(ctx, &iam.ListRolesInput{})
	requireCode(t, err, "AccessDenied")
}

// TestNewRoleIsEventuallyConsistent checks the stale-read fault on IAM and
// STS: a role created moments ago cannot yet be read or assumed.
func TestNewRoleIsEventuallyConsistent(t *testing.T) {
	faults := &fault.Set{}
	require.NoError(t, faults.Add(fault.Rule{Kind: fault.Stale, Window: 10 * time.Second}))
	env := awssimtest.New(t, awssim.WithFaults(faults))
	ctx := context.Background()
	newRole(t, env, "responder", trustAccount)

	_, err := iam.NewFromConfig(env.Admin).GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("responder")})
	requireCode(t, err, "NoSuchEntity")
	_, _, err = assume(t, env, env.Admin, roleARN, "early", 0)
	requireCode(t, err, "AccessDenied")

	env.Clock.Advance(10 * time.Second)
	_, err = iam.NewFromConfig(env.Admin).GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("responder")})
	require.NoError(t, err)
	_, _, err = assume(t, env, env.Admin, roleARN, "later", 0)
	require.NoError(t, err)
}

// TestSessionKeysNeedTheirToken: temporary credentials are the key, the
// secret and the session token together. A session key presented without
// its token, or with another token, is refused on every service with that
// service's invalid-credential code (STS and IAM InvalidClientTokenId, "The
// security token included in the request is invalid"); so is a long-term
// key sent with a session token.
func TestSessionKeysNeedTheirToken(t *testing.T) {
	env := awssimtest.New(t)
	ctx := context.Background()
	newRole(t, env, "responder", trustAccount)
	env.Propagate()
	_, cr, err := assume(t, env, env.Admin, roleARN, "ir-1", 0)
	require.NoError(t, err)
	_, other, err := assume(t, env, env.Admin, roleARN, "ir-2", 0)
	require.NoError(t, err)

	calls := map[string]func(cfg aws.Config) error{
		"sts": func(cfg aws.Config) error {
			_, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
			return err
		},
		"iam": func(cfg aws.Config) error {
			_, err := iam.NewFromConfig(cfg).ListRoles(ctx, &iam.ListRolesInput{})
			return err
		},
		"ec2": func(cfg aws.Config) error {
			_, err := ec2.NewFromConfig(cfg).DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
			return err
		},
		"s3": func(cfg aws.Config) error {
			_, err := s3Client(cfg).ListBuckets(ctx, &s3.ListBucketsInput{})
			return err
		},
		"cloudtrail": func(cfg aws.Config) error {
			_, err := cloudtrail.NewFromConfig(cfg).LookupEvents(ctx, &cloudtrail.LookupEventsInput{})
			return err
		},
	}
	for _, tc := range []struct {
		name, akid, secret, token string
		want                      map[string]string // service -> code; nil: succeeds
	}{
		{"with its token", *cr.AccessKeyId, *cr.SecretAccessKey, *cr.SessionToken, nil},
		{"without its token", *cr.AccessKeyId, *cr.SecretAccessKey, "", map[string]string{"sts": "InvalidClientTokenId",
			"iam": "InvalidClientTokenId", "ec2": "AuthFailure", "s3": "InvalidAccessKeyId", "cloudtrail": "UnrecognizedClientException"}},
		{"with another session's token", *cr.AccessKeyId, *cr.SecretAccessKey, *other.SessionToken, map[string]string{"sts": "InvalidClientTokenId",
			"iam": "InvalidClientTokenId", "ec2": "AuthFailure", "s3": "InvalidToken", "cloudtrail": "UnrecognizedClientException"}},
		{"long-term key with a token", env.AdminKey.ID, env.AdminKey.Secret, *cr.SessionToken, map[string]string{"sts": "InvalidClientTokenId",
			"iam": "InvalidClientTokenId", "ec2": "AuthFailure", "s3": "InvalidToken", "cloudtrail": "UnrecognizedClientException"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := env.Config(tc.akid, tc.secret, tc.token)
			for _, svc := range world.SortedKeys(calls) {
				env.Clock.Advance(time.Second) // CloudTrail's 2 TPS
				err := calls[svc](cfg)
				if tc.want == nil {
					require.NoError(t, err, svc)
					continue
				}
				require.Equal(t, tc.want[svc], errCode(err), "%s: %v", svc, err)
				if svc == "sts" {
					require.ErrorContains(t, err, "The security token included in the request is invalid")
				}
			}
		})
	}
}
