package awssim_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/firedrill-ir/firedrill/cloudsim/awssim"
	"github.com/firedrill-ir/firedrill/cloudsim/awssim/awssimtest"
	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/awsworld"
)

// FuzzForm feeds arbitrary form bodies to the query-protocol decoder: the
// list, structure, filter and tag helpers must never panic.
func FuzzForm(f *testing.F) {
	for _, seed := range []string{
		"Action=DescribeInstances&Version=2016-11-15&InstanceId.1=i-0abc&InstanceId.2=i-0def",
		"Action=DescribeVolumes&Filter.1.Name=attachment.instance-id&Filter.1.Value.1=i-0abc&Filter.2.Name=status&Filter.2.Value.1=in-use",
		"Action=CreateSecurityGroup&TagSpecification.1.ResourceType=security-group&TagSpecification.1.Tag.1.Key=ir&TagSpecification.1.Tag.1.Value=quarantine",
		"Action=SetInstanceProtection&InstanceIds.member.1=i-0abc&ProtectedFromScaleIn=true",
		"Action=CreateUser&UserName=alice&Tags.member.1.Key=team&Tags.member.1.Value=sre",
		"IpPermissions.1.IpProtocol=-1&IpPermissions.1.IpRanges.1.CidrIp=0.0.0.0%2F0",
		"InstanceId.-1=x&InstanceId.99999999999999999999=y&InstanceId..=z&Filter.1.Value.1.=q",
		"MaxItems=abc&Marker=%ZZ&X.member.member.1=1",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		vals, _ := url.ParseQuery(body) // partial values on error, as the server would not get here
		form := awssim.Form(vals)
		for _, key := range []string{"InstanceId", "InstanceIds", "GroupId", "Filter", "Tag", "Tags", "IpPermissions", ""} {
			_ = form.List(key)
			for _, s := range form.Structs(key) {
				_ = s.List("Value")
				_ = s.Structs("IpRanges")
			}
			_ = form.Struct(key)
			_ = form.Tags(key)
		}
		_ = form.Filters()
		_, _ = form.Int("MaxItems", 100)
		_, _ = form.Bool("DryRun")
		_ = form.Get("Action")
	})
}

// FuzzAWSChunked checks the aws-chunked decoder on arbitrary bodies: no
// panic, and a successful decode re-encodes and decodes to the same bytes.
func FuzzAWSChunked(f *testing.F) {
	for _, seed := range []string{
		"5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\r\n\r\n",
		"400;chunk-signature=" + strings.Repeat("a", 64) + "\r\n" + strings.Repeat("x", 1024) + "\r\n0;chunk-signature=" + strings.Repeat("b", 64) + "\r\n\r\n",
		"0\r\n\r\n",
		"0\r\nx-amz-checksum-sha256:abc=\r\nx-amz-trailer-signature:00\r\n\r\n",
		"7fffffffffffffff\r\nx\r\n",
		"ffffffffffffffffff\r\n",
		"3\r\nab",
		"\r\n\r\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		data, trailers, err := awssim.DecodeAWSChunked(body)
		if err != nil {
			return
		}
		if trailers == nil {
			t.Fatal("a successful decode must return a trailer map")
		}
		again := []byte(fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(data), data))
		if len(data) == 0 {
			again = []byte("0\r\n\r\n")
		}
		round, _, err := awssim.DecodeAWSChunked(again)
		if err != nil || !bytes.Equal(round, data) {
			t.Fatalf("re-encoded body does not round-trip: %v", err)
		}
	})
}

// FuzzParsePolicy checks that arbitrary documents parse or fail cleanly, and
// that any policy that parses can be evaluated without panicking.
func FuzzParsePolicy(f *testing.F) {
	for _, seed := range []string{
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`,
		`{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":["s3:*"],"Resource":["arn:aws:s3:::b","arn:aws:s3:::b/*"]}}`,
		`{"Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:TokenIssueTime":"2026-11-26T09:00:00Z"}}}]}`,
		`{"Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111122223333:root"]},"Action":"sts:AssumeRole"}]}`,
		`{"Statement":[{"Effect":"Allow","Principal":"*","NotAction":"iam:*","Resource":"[","Condition":{"StringLikeIfExists":{"aws:SourceIp":["10.*"]}}}]}`,
		`{"Statement":null}`, `{"Statement":"x"}`, `[]`, `{`, ``,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		p, err := world.ParsePolicy(doc)
		if err != nil {
			return
		}
		for _, st := range p.Statement {
			if st.Effect != "Allow" && st.Effect != "Deny" {
				t.Fatalf("parsed a statement with effect %q", st.Effect)
			}
			_ = st.PrincipalMatches("arn:aws:iam::111122223333:user/a", "111122223333")
		}
		req := world.Request{Action: "s3:GetObject", Resources: []string{"arn:aws:s3:::b/k"},
			Context: world.Context{"aws:TokenIssueTime": {"2026-11-26T09:00:00Z"}, "aws:SourceIp": {"10.0.0.1"}, "aws:TagKeys": {"a", "b"}}}
		_ = world.Evaluate([]*world.Policy{p}, req)
		_ = world.Evaluate([]*world.Policy{p}, world.Request{Action: doc})
	})
}

// FuzzServeHTTP sends arbitrary requests to the whole simulator, signed as
// the administrator with signature checks off so they reach the handlers of
// every service: the server must never panic and must always answer with a
// valid status.
func FuzzServeHTTP(f *testing.F) {
	env := awssimtest.New(f)
	srv := awssim.New(env.World, awssim.WithoutSignatureCheck())
	env.World.Lock()
	if _, err := env.World.CreateBucketLocked(awssimtest.Account, "us-east-1", "seeded", true); err != nil {
		f.Fatal(err)
	}
	if _, err := env.World.PutObjectLocked("seeded", "k", []byte("hello"), "text/plain", nil); err != nil {
		f.Fatal(err)
	}
	awsworld.Of(env.World).AddRole(awssimtest.Account, "r", `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}`)
	env.World.Unlock()
	form := "application/x-www-form-urlencoded; charset=utf-8"
	type seed struct {
		svc, method, target, ctype, amzTarget, body string
	}
	for _, s := range []seed{
		{"iam", "POST", "/", form, "", "Action=CreateUser&Version=2010-05-08&UserName=fuzz"},
		{"iam", "POST", "/", form, "", "Action=ListUsers&Version=2010-05-08&MaxItems=1&Marker=ZmQxOmE"},
		{"iam", "POST", "/", form, "", "Action=PutRolePolicy&RoleName=r&PolicyName=p&PolicyDocument=%7B%7D"},
		{"sts", "POST", "/", form, "", "Action=AssumeRole&RoleArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Fr&RoleSessionName=s&DurationSeconds=900"},
		{"s3", "GET", "/seeded?list-type=2&max-keys=1&delimiter=/", "", "", ""},
		{"s3", "PUT", "/seeded/obj", "", "", "5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\r\n\r\n"},
		{"s3", "PUT", "/seeded?policy", "", "", `{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::seeded/*"}]}`},
		{"s3", "PUT", "/seeded?object-lock", "", "", "<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled></ObjectLockConfiguration>"},
		{"s3", "GET", "/seeded/k?versionId=null", "", "", ""},
		{"s3", "GET", "/seeded?acl", "", "", ""},
		{"ec2", "POST", "/", form, "", "Action=DescribeInstances&Version=2016-11-15&InstanceId.1=i-0abc"},
		{"autoscaling", "POST", "/", form, "", "Action=DescribeAutoScalingInstances&InstanceIds.member.1=i-0abc"},
		{"cloudtrail", "POST", "/", "application/x-amz-json-1.1", "CloudTrail_20131101.LookupEvents", `{"MaxResults":5}`},
		{"ssm", "POST", "/", "application/x-amz-json-1.1", "AmazonSSM.SendCommand", `{"InstanceIds":["i-0abc"],"DocumentName":"AWS-RunShellScript"}`},
		{"guardduty", "GET", "/detector", "application/json", "", ""},
		{"monitoring", "POST", "/", form, "", "Action=DescribeAlarms"},
		{"", "GET", "/", "", "", ""},
	} {
		f.Add(s.svc, s.method, s.target, s.ctype, s.amzTarget, []byte(s.body))
	}
	auth := "AWS4-HMAC-SHA256 Credential=" + env.AdminKey.ID + "/20261126/us-east-1/%s/aws4_request, SignedHeaders=host;x-amz-date, Signature=00"
	f.Fuzz(func(t *testing.T, svc, method, target, ctype, amzTarget string, body []byte) {
		req, err := http.NewRequest(method, "http://sim.local"+target, bytes.NewReader(body))
		if err != nil || !strings.HasPrefix(req.URL.Path, "/") {
			return
		}
		if svc != "" {
			req.Header.Set("Authorization", fmt.Sprintf(auth, svc))
			req.Header.Set("X-Amz-Date", "20261126T090000Z")
		}
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		if amzTarget != "" {
			req.Header.Set("X-Amz-Target", amzTarget)
		}
		if len(body) > 0 && body[0]%3 == 0 {
			req.Header.Set("Content-Encoding", "aws-chunked")
			req.Header.Set("Range", "bytes="+string(body[:min(len(body), 8)]))
		}
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		env.World.Lock()
		if len(env.World.Audit) > 10000 {
			env.World.Audit = nil // bound memory on long fuzzing runs
		}
		env.World.Unlock()
		if rec.Code < 100 || rec.Code > 599 {
			t.Fatalf("answered with status %d", rec.Code)
		}
	})
}
