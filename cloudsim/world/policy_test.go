package world_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/cloudsim/world"
)

type fixedClock struct{ t time.Time }

func (c *fixedClock) Now() time.Time { return c.t }

var t0 = time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)

func TestParsePolicyShapes(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		stmts     int
		bad       string // substring of the error, "" when valid
	}{
		{"list statement", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`, 1, ""},
		{"single statement object", `{"Statement":{"Effect":"Deny","Action":["s3:*","iam:*"],"Resource":["a","b"]}}`, 1, ""},
		{"principal forms", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject"},` +
			`{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::1:root","arn:aws:iam::2:root"],"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`, 2, ""},
		{"not json", `{"Statement":`, 0, "not valid JSON"},
		{"bad effect", `{"Statement":[{"Effect":"allow","Action":"*"}]}`, 0, "Effect"},
		{"no action", `{"Statement":[{"Effect":"Allow","Resource":"*"}]}`, 0, "Action or NotAction"},
		{"action not a string", `{"Statement":[{"Effect":"Allow","Action":5}]}`, 0, "Statement"},
		{"principal not an object", `{"Statement":[{"Effect":"Allow","Principal":7,"Action":"*"}]}`, 0, "Principal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := world.ParsePolicy(tc.doc)
			if tc.bad != "" {
				require.ErrorContains(t, err, tc.bad)
				return
			}
			require.NoError(t, err)
			require.Len(t, p.Statement, tc.stmts)
		})
	}
	p, err := world.ParsePolicy(`{"Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com","AWS":"arn:aws:iam::1:root"},"Action":"sts:AssumeRole"}]}`)
	require.NoError(t, err)
	require.Equal(t, []string{"arn:aws:iam::1:root", "ec2.amazonaws.com"}, p.Statement[0].Principal, "principal keys are flattened in sorted order")
}

func TestEvaluate(t *testing.T) {
	ctx := world.Context{"aws:TokenIssueTime": {"2026-11-26T09:00:00.5Z"}, "aws:SourceIp": {"203.0.113.9"}, "aws:username": {"Alice"}}
	for _, tc := range []struct {
		name   string
		docs   []string
		req    world.Request
		expect world.Decision
	}{
		{"no policies", nil, world.Request{Action: "s3:GetObject"}, world.ImplicitDeny},
		{"allow all", []string{`{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`},
			world.Request{Action: "ec2:StopInstances"}, world.Allowed},
		{"explicit deny beats allow", []string{`{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`,
			`{"Statement":[{"Effect":"Deny","Action":"ec2:*","Resource":"*"}]}`},
			world.Request{Action: "ec2:StopInstances"}, world.ExplicitDeny},
		{"action match ignores case", []string{`{"Statement":[{"Effect":"Allow","Action":"EC2:stop*","Resource":"*"}]}`},
			world.Request{Action: "ec2:StopInstances"}, world.Allowed},
		{"other action", []string{`{"Statement":[{"Effect":"Allow","Action":"ec2:Describe*","Resource":"*"}]}`},
			world.Request{Action: "ec2:StopInstances"}, world.ImplicitDeny},
		{"NotAction", []string{`{"Statement":[{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}]}`},
			world.Request{Action: "iam:CreateUser"}, world.ImplicitDeny},
		{"resource glob", []string{`{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::logs/2026/*"}]}`},
			world.Request{Action: "s3:GetObject", Resources: []string{"arn:aws:s3:::logs/2026/11/26.gz"}}, world.Allowed},
		{"resource outside glob", []string{`{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::logs/*"}]}`},
			world.Request{Action: "s3:GetObject", Resources: []string{"arn:aws:s3:::secrets/key"}}, world.ImplicitDeny},
		{"token issued before the cut-off is denied", []string{
			`{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:TokenIssueTime":"2026-11-26T09:00:01Z"}}}]}`},
			world.Request{Action: "s3:GetObject", Context: ctx}, world.ExplicitDeny},
		{"token issued after the cut-off is allowed", []string{
			`{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:TokenIssueTime":"2026-11-26T09:00:00Z"}}}]}`},
			world.Request{Action: "s3:GetObject", Context: ctx}, world.Allowed},
		{"condition on a missing key does not match", []string{
			`{"Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:TokenIssueTime":"2030-01-01T00:00:00Z"}}}]}`},
			world.Request{Action: "s3:GetObject", Context: world.Context{}}, world.ImplicitDeny},
		{"IfExists matches a missing key", []string{
			`{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEqualsIfExists":{"aws:username":"bob"}}}]}`},
			world.Request{Action: "s3:GetObject", Context: world.Context{}}, world.Allowed},
		{"StringLike source ip", []string{
			`{"Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringLike":{"aws:SourceIp":"203.0.113.*"}}}]}`},
			world.Request{Action: "s3:GetObject", Context: ctx}, world.ExplicitDeny},
		{"StringEqualsIgnoreCase", []string{
			`{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEqualsIgnoreCase":{"aws:username":"alice"}}}]}`},
			world.Request{Action: "s3:GetObject", Context: ctx}, world.Allowed},
		{"unknown operator is inert", []string{
			`{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"IpAddressInRange":{"aws:SourceIp":"203.0.113.0/24"}}}]}`},
			world.Request{Action: "s3:GetObject", Context: ctx}, world.ImplicitDeny},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.expect, world.Evaluate(parsePolicies(t, tc.docs), tc.req))
		})
	}
}

func TestPrincipalMatches(t *testing.T) {
	st := world.Statement{Principal: []string{"arn:aws:iam::111122223333:root"}}
	require.True(t, st.PrincipalMatches("arn:aws:iam::111122223333:user/a", "111122223333"))
	require.False(t, st.PrincipalMatches("arn:aws:iam::999988887777:user/a", "999988887777"))
	require.True(t, world.Statement{Principal: []string{"*"}}.PrincipalMatches("*", ""))
	require.False(t, world.Statement{}.PrincipalMatches("arn:aws:iam::1:user/a", "1"))
}

// TestObjectVersions covers the versioning model behind S3.
func TestObjectVersions(t *testing.T) {
	clk := &fixedClock{t0}
	w := world.New(clk, 1)
	w.Lock()
	defer w.Unlock()
	b, err := w.CreateBucketLocked("111122223333", "us-east-1", "vault", false)
	require.NoError(t, err)
	v1, err := w.PutObjectLocked("vault", "k", []byte("one"), "text/plain", nil)
	require.NoError(t, err)
	require.Equal(t, world.NullVersion, v1.VersionID)
	_, err = w.PutObjectLocked("vault", "k", []byte("two"), "text/plain", nil)
	require.NoError(t, err)
	require.Len(t, b.Objects["k"], 1, "unversioned writes replace the null version")

	b.Versioning = "Enabled"
	v3, err := w.PutObjectLocked("vault", "k", []byte("three"), "text/plain", nil)
	require.NoError(t, err)
	require.Len(t, v3.VersionID, 32)
	m, err := w.DeleteObjectLocked("vault", "k", "")
	require.NoError(t, err)
	require.True(t, m.DeleteMarker)
	_, err = w.GetObjectLocked("vault", "k", "")
	require.ErrorIs(t, err, world.ErrNoSuchKey)
	_, err = w.GetObjectLocked("vault", "k", m.VersionID)
	require.ErrorIs(t, err, world.ErrVersionIsMarker)
	got, err := w.GetObjectLocked("vault", "k", world.NullVersion)
	require.NoError(t, err)
	require.Equal(t, "two", string(got.Data))
	all, err := w.AllVersionsLocked("vault", "")
	require.NoError(t, err)
	require.Len(t, all, 3)
	require.True(t, all[0].DeleteMarker, "newest first")
	cur, err := w.CurrentObjectsLocked("vault", "")
	require.NoError(t, err)
	require.Empty(t, cur)
	require.ErrorIs(t, w.DeleteBucketLocked("vault"), world.ErrBucketNotEmpty)
	_, err = w.CreateBucketLocked("222233334444", "us-east-1", "vault", false)
	require.ErrorIs(t, err, world.ErrBucketExists)
	_, err = w.CreateBucketLocked("111122223333", "us-east-1", "vault", false)
	require.ErrorIs(t, err, world.ErrBucketOwnedByYou)
	_, err = w.CreateBucketLocked("111122223333", "us-east-1", "No", false)
	require.ErrorIs(t, err, world.ErrInvalidBucketName)
}
