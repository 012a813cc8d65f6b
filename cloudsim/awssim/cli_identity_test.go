package awssim_test

import (
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/cloudsim/world/awsworld"
)

// TestCLIIAMEnumeration: groups, policies, the whole account, MFA devices
// and console passwords, through the AWS CLI; a group's policy authorizes
// its members.
func TestCLIIAMEnumeration(t *testing.T) {
	t.Parallel()
	e := newCLIEnv(t)
	e.run("iam", "create-group", "--group-name", "ops")
	e.run("iam", "add-user-to-group", "--group-name", "ops", "--user-name", "ci-deploy")
	e.run("iam", "attach-group-policy", "--group-name", "ops", "--policy-arn", "arn:aws:iam::aws:policy/AmazonEC2FullAccess")
	e.run("iam", "put-group-policy", "--group-name", "ops", "--policy-name", "trail-read",
		"--policy-document", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"cloudtrail:DescribeTrails","Resource":"*"}]}`)

	require.Len(t, list(t, e.run("iam", "list-groups"), "Groups"), 1)
	g := e.run("iam", "get-group", "--group-name", "ops")
	require.Equal(t, "ci-deploy", list(t, g, "Users")[0].(map[string]any)["UserName"])
	require.Equal(t, "ops", list(t, e.run("iam", "list-groups-for-user", "--user-name", "ci-deploy"), "Groups")[0].(map[string]any)["GroupName"])
	attached := list(t, e.run("iam", "list-attached-group-policies", "--group-name", "ops"), "AttachedPolicies")
	require.Equal(t, "AmazonEC2FullAccess", attached[0].(map[string]any)["PolicyName"])
	require.Equal(t, []any{"trail-read"}, list(t, e.run("iam", "list-group-policies", "--group-name", "ops"), "PolicyNames"))
	require.Contains(t, e.fail("iam", "get-group", "--group-name", "nope"), "NoSuchEntity")

	pols := list(t, e.run("iam", "list-policies", "--only-attached"), "Policies")
	var names []string
	for _, p := range pols {
		names = append(names, p.(map[string]any)["PolicyName"].(string))
	}
	require.Contains(t, names, "AmazonEC2FullAccess")
	require.NotContains(t, names, "AWSDenyAll", "attached to nothing")
	require.Empty(t, list(t, e.run("iam", "list-policies", "--scope", "Local"), "Policies"))

	det := e.run("iam", "get-account-authorization-details")
	users := map[string]map[string]any{}
	for _, u := range list(t, det, "UserDetailList") {
		users[u.(map[string]any)["UserName"].(string)] = u.(map[string]any)
	}
	require.Contains(t, users, "firedrill-responder")
	require.Equal(t, []any{"ops"}, users["ci-deploy"]["GroupList"])
	require.Equal(t, "firedrill-incident-response", users["firedrill-responder"]["UserPolicyList"].([]any)[0].(map[string]any)["PolicyName"])
	doc := users["firedrill-responder"]["UserPolicyList"].([]any)[0].(map[string]any)["PolicyDocument"]
	require.IsType(t, map[string]any{}, doc, "the CLI decodes the URL-encoded document into JSON")
	roles := list(t, det, "RoleDetailList")
	require.NotEmpty(t, roles)
	require.Len(t, list(t, det, "GroupDetailList"), 1)
	require.NotEmpty(t, list(t, det, "Policies"))
	onlyRoles := e.run("iam", "get-account-authorization-details", "--filter", "Role")
	require.Empty(t, list(t, onlyRoles, "UserDetailList"))

	mfa := list(t, e.run("iam", "list-mfa-devices", "--user-name", "admin"), "MFADevices")
	require.Len(t, mfa, 1)
	require.Equal(t, "arn:aws:iam::111122223333:mfa/admin", mfa[0].(map[string]any)["SerialNumber"])
	require.Empty(t, list(t, e.run("iam", "list-mfa-devices", "--user-name", "ci-deploy"), "MFADevices"))

	require.Equal(t, "alice", obj(t, e.run("iam", "get-login-profile", "--user-name", "alice"), "LoginProfile")["UserName"])
	e.run("iam", "delete-login-profile", "--user-name", "alice")
	require.Contains(t, e.fail("iam", "get-login-profile", "--user-name", "alice"), "NoSuchEntity")
	e.run("iam", "create-login-profile", "--user-name", "ci-deploy", "--password", "S3cret-Backdoor!")
	require.Contains(t, e.fail("iam", "delete-user", "--user-name", "ci-deploy"), "DeleteConflict")
	require.Equal(t, "AmazonEC2FullAccess", obj(t, e.run("iam", "get-policy", "--policy-arn", "arn:aws:iam::aws:policy/AmazonEC2FullAccess"), "Policy")["PolicyName"])
	require.Contains(t, e.fail("iam", "get-policy", "--policy-arn", "arn:aws:iam::aws:policy/Nope"), "NoSuchEntity")
	require.Contains(t, e.run("iam", "get-group-policy", "--group-name", "ops", "--policy-name", "trail-read")["PolicyDocument"], "Statement")

	// ci-deploy (AmazonS3FullAccess) gets EC2 and DescribeTrails through
	// its group, once the group's policies have propagated.
	e.world.Lock()
	k := e.addKey("ci-deploy")
	e.world.Unlock()
	e.key, e.secret = k[0], k[1]
	e.advance(time.Minute)
	require.NotNil(t, e.run("ec2", "describe-vpcs")["Vpcs"])
	require.NotNil(t, e.run("cloudtrail", "describe-trails")["trailList"])
	require.Contains(t, e.fail("cloudtrail", "stop-logging", "--name", "firedrill-demo-trail"), "AccessDeniedException")

	// Taking the group apart: members and policies first.
	e.key, e.secret = e.env.AdminKeyID, e.env.AdminSecret
	require.Contains(t, e.fail("iam", "delete-group", "--group-name", "ops"), "DeleteConflict")
	e.run("iam", "remove-user-from-group", "--group-name", "ops", "--user-name", "ci-deploy")
	e.run("iam", "detach-group-policy", "--group-name", "ops", "--policy-arn", "arn:aws:iam::aws:policy/AmazonEC2FullAccess")
	e.run("iam", "delete-group-policy", "--group-name", "ops", "--policy-name", "trail-read")
	e.run("iam", "delete-group", "--group-name", "ops")
	require.Empty(t, list(t, e.run("iam", "list-groups"), "Groups"))
	for _, op := range []string{"CreateGroup", "AddUserToGroup", "GetAccountAuthorizationDetails", "ListMFADevices", "DeleteLoginProfile",
		"CreateLoginProfile", "RemoveUserFromGroup", "DeleteGroup"} {
		require.Contains(t, e.audited(), op)
	}
}

// TestCLISessionTokenTrailsAndSampleFindings: STS GetSessionToken,
// CloudTrail trails (StopLogging stops the trail's delivery and is itself
// delivered), GuardDuty sample findings.
func TestCLISessionTokenTrailsAndSampleFindings(t *testing.T) {
	t.Parallel()
	e := newCLIEnv(t)
	creds := obj(t, e.run("sts", "get-session-token", "--duration-seconds", "3600"), "Credentials")
	require.True(t, strings.HasPrefix(creds["AccessKeyId"].(string), "ASIA"))
	admin := [2]string{e.key, e.secret}
	e.key, e.secret, e.token = creds["AccessKeyId"].(string), creds["SecretAccessKey"].(string), creds["SessionToken"].(string)
	require.Equal(t, "arn:aws:iam::111122223333:user/admin", e.run("sts", "get-caller-identity")["Arn"], "the session acts as the user")
	require.NotEmpty(t, e.run("ec2", "describe-instances")["Reservations"])
	require.Contains(t, e.fail("sts", "get-session-token"), "AccessDenied")
	e.token = ""
	require.Contains(t, e.fail("sts", "get-caller-identity"), "InvalidClientTokenId", "a session key needs its token")
	e.key, e.secret = admin[0], admin[1]
	// No allow is needed, but an explicit deny refuses it.
	e.world.Lock()
	awsworld.Of(e.world).AddUser(e.env.Account, "quarantined", "arn:aws:iam::aws:policy/AWSDenyAll")
	k := e.addKey("quarantined")
	awsworld.Of(e.world).AddUser(e.env.Account, "nobody")
	k2 := e.addKey("nobody")
	e.world.Unlock()
	e.key, e.secret = k[0], k[1]
	require.Contains(t, e.fail("sts", "get-session-token"), "explicit deny")
	e.key, e.secret = k2[0], k2[1]
	require.NotEmpty(t, obj(t, e.run("sts", "get-session-token"), "Credentials")["SessionToken"])
	e.key, e.secret = admin[0], admin[1]

	trails := list(t, e.run("cloudtrail", "describe-trails"), "trailList")
	require.Len(t, trails, 1)
	require.Equal(t, "firedrill-demo-trail", trails[0].(map[string]any)["Name"])
	require.Equal(t, "firedrill-demo-logs", trails[0].(map[string]any)["S3BucketName"])
	require.Equal(t, true, e.run("cloudtrail", "get-trail-status", "--name", "firedrill-demo-trail")["IsLogging"])
	require.Contains(t, e.fail("cloudtrail", "get-trail-status", "--name", "nope"), "TrailNotFoundException")

	// The attacker's marker call, then the trail is stopped; later calls
	// are not delivered to the bucket, the StopLogging call is.
	e.run("ec2", "describe-key-pairs")
	e.run("cloudtrail", "stop-logging", "--name", "firedrill-demo-trail")
	status := e.run("cloudtrail", "get-trail-status", "--name", "firedrill-demo-trail")
	require.Equal(t, false, status["IsLogging"])
	require.NotEmpty(t, status["StopLoggingTime"])
	e.advance(time.Minute)
	e.run("ec2", "describe-images", "--owners", "amazon")
	e.advance(15 * time.Minute)
	delivered := e.trailEvents()
	require.Contains(t, delivered, "DescribeKeyPairs")
	require.Contains(t, delivered, "StopLogging", "StopLogging is itself delivered")
	require.NotContains(t, delivered, "DescribeImages", "nothing after StopLogging is delivered")
	// Event history does not depend on trails.
	hist := e.run("cloudtrail", "lookup-events", "--lookup-attributes", "AttributeKey=EventName,AttributeValue=DescribeImages")
	require.Len(t, list(t, hist, "Events"), 1)

	e.run("cloudtrail", "start-logging", "--name", "firedrill-demo-trail")
	e.run("ec2", "describe-subnets")
	e.run("s3api", "head-object", "--bucket", "firedrill-demo-app-data", "--key", "config/app.json")
	e.run("s3api", "get-bucket-logging", "--bucket", "firedrill-demo-app-data")
	e.advance(15 * time.Minute)
	delivered = e.trailEvents()
	require.NotContains(t, delivered, "HeadObject", "data events are not in a trail without data event selectors")
	require.Contains(t, delivered, "GetBucketLogging", "bucket configuration reads are management events")
	require.Contains(t, delivered, "StartLogging")
	require.Contains(t, delivered, "DescribeSubnets")
	require.NotContains(t, delivered, "DescribeImages")

	det := list(t, e.run("guardduty", "list-detectors"), "DetectorIds")[0].(string)
	e.run("guardduty", "create-sample-findings", "--detector-id", det, "--finding-types", "CryptoCurrency:EC2/BitcoinTool.B!DNS")
	ids := list(t, e.run("guardduty", "list-findings", "--detector-id", det), "FindingIds")
	require.Len(t, ids, 1)
	f := list(t, e.run("guardduty", "get-findings", "--detector-id", det, "--finding-ids", ids[0].(string)), "Findings")[0]
	require.Equal(t, "CryptoCurrency:EC2/BitcoinTool.B!DNS", f.(map[string]any)["Type"])
	require.Equal(t, `{"sample":true}`, obj(t, obj(t, f, "Service"), "AdditionalInfo")["Value"], "marked as GuardDuty marks samples")
	require.Contains(t, e.fail("guardduty", "create-sample-findings", "--detector-id", det, "--finding-types", "Nope:EC2/Nothing"), "BadRequestException")
	require.Contains(t, e.audited(), "CreateSampleFindings")
}

// trailEvents reads every CloudTrail log file in the logs bucket through
// the CLI and returns the event names delivered.
func (e *cliEnv) trailEvents() []string {
	t := e.t
	dir := t.TempDir()
	e.run("s3", "sync", "s3://firedrill-demo-logs/AWSLogs/", dir, "--exclude", "*", "--include", "*/CloudTrail/*")
	var names []string
	require.NoError(t, filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		zr, err := gzip.NewReader(f)
		if err != nil {
			return err
		}
		body, err := io.ReadAll(zr)
		if err != nil {
			return err
		}
		var doc struct {
			Records []struct {
				EventName string `json:"eventName"`
			}
		}
		if err := json.Unmarshal(body, &doc); err != nil {
			return err
		}
		for _, r := range doc.Records {
			names = append(names, r.EventName)
		}
		return nil
	}))
	return names
}
