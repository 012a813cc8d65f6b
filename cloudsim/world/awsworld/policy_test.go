package awsworld

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/cloudsim/world"
)

// policyT0 is when the policy tests' worlds start.
var policyT0 = time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)

// TestTrustDecision covers the role trust evaluation behind AssumeRole.
func TestTrustDecision(t *testing.T) {
	w := world.New(&computeClock{t: policyT0}, 1)
	w.Lock()
	defer w.Unlock()
	w.AddAccountLocked("aws", "111122223333", "test", "us-east-1")
	alice := Of(w).AddUser("111122223333", "alice")
	role := Of(w).AddRole("111122223333", "r", `{"Statement":[`+
		`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"sts:AssumeRole"},`+
		`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"sts:AssumeRole"}]}`)
	p := &Principal{Kind: "user", ARN: alice.ARN, Account: "111122223333", User: alice}
	d, byName, err := Of(w).TrustDecision(role, p, nil)
	require.NoError(t, err)
	require.Equal(t, world.Allowed, d)
	require.True(t, byName)

	outsider := &Principal{Kind: "user", ARN: "arn:aws:iam::999988887777:user/eve", Account: "999988887777"}
	d, _, err = Of(w).TrustDecision(role, outsider, nil)
	require.NoError(t, err)
	require.Equal(t, world.ImplicitDeny, d)

	require.NoError(t, Of(w).UpdateAssumeRolePolicy("r", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"},`+
		`{"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::999988887777:root"},"Action":"sts:AssumeRole"}]}`))
	d, byName, err = Of(w).TrustDecision(role, outsider, nil)
	require.NoError(t, err)
	require.Equal(t, world.ExplicitDeny, d)
	require.False(t, byName)

	err = Of(w).UpdateAssumeRolePolicy("r", `{"Statement":[{"Effect":"Allow","Action":"sts:AssumeRole"}]}`)
	require.True(t, errors.Is(err, ErrMalformedPolicy), "a trust policy needs a Principal: %v", err)
}

// TestBucketPolicyDecision covers resource-policy evaluation for S3.
func TestBucketPolicyDecision(t *testing.T) {
	w := world.New(&computeClock{t: policyT0}, 1)
	w.Lock()
	defer w.Unlock()
	b, err := w.CreateBucketLocked("111122223333", "us-east-1", "site", false)
	require.NoError(t, err)
	anon := &Principal{Kind: "anonymous", ARN: "*"}
	insider := &Principal{Kind: "user", ARN: "arn:aws:iam::111122223333:user/a", Account: "111122223333"}
	get := world.Request{Action: "s3:GetObject", Resources: []string{"arn:aws:s3:::site/index.html"}}

	d, err := Of(w).BucketPolicyDecision(b, anon, get)
	require.NoError(t, err)
	require.Equal(t, world.ImplicitDeny, d, "no policy grants nothing")

	b.Policy = `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::site/*"}]}`
	require.True(t, PolicyIsPublic(b.Policy))
	d, _ = Of(w).BucketPolicyDecision(b, anon, get)
	require.Equal(t, world.Allowed, d)

	b.PublicAccessBlock = &world.PublicAccessBlock{RestrictPublicBuckets: true}
	d, _ = Of(w).BucketPolicyDecision(b, anon, get)
	require.Equal(t, world.ImplicitDeny, d, "RestrictPublicBuckets keeps the public grant from outsiders")
	d, _ = Of(w).BucketPolicyDecision(b, insider, get)
	require.Equal(t, world.Allowed, d, "but not from the owner's account")

	b.Policy = `{"Statement":[{"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::111122223333:user/a"},"Action":"s3:*","Resource":"arn:aws:s3:::site/*"}]}`
	d, _ = Of(w).BucketPolicyDecision(b, insider, get)
	require.Equal(t, world.ExplicitDeny, d)
	d, _ = Of(w).BucketPolicyDecision(b, anon, get)
	require.Equal(t, world.ImplicitDeny, d, "a statement naming someone else does not apply")
}

// TestNotPrincipalBucketPolicy puts a NotPrincipal deny in a bucket policy:
// with the documented pattern only the named user of the named account
// keeps access.
func TestNotPrincipalBucketPolicy(t *testing.T) {
	w := world.New(&computeClock{t: policyT0}, 1)
	w.Lock()
	defer w.Unlock()
	b, err := w.CreateBucketLocked("111122223333", "us-east-1", "evidence", false)
	require.NoError(t, err)
	b.Policy = `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"s3:*","Resource":"arn:aws:s3:::evidence/*"},` +
		`{"Effect":"Deny","NotPrincipal":{"AWS":["arn:aws:iam::111122223333:user/ir","arn:aws:iam::111122223333:root"]},"Action":"s3:DeleteObject","Resource":"arn:aws:s3:::evidence/*"}]}`
	del := world.Request{Action: "s3:DeleteObject", Resources: []string{"arn:aws:s3:::evidence/case-1/disk.img"}}
	ir := &Principal{Kind: "user", ARN: "arn:aws:iam::111122223333:user/ir", Account: "111122223333"}
	dev := &Principal{Kind: "user", ARN: "arn:aws:iam::111122223333:user/dev", Account: "111122223333"}
	d, err := Of(w).BucketPolicyDecision(b, ir, del)
	require.NoError(t, err)
	require.Equal(t, world.Allowed, d)
	d, err = Of(w).BucketPolicyDecision(b, dev, del)
	require.NoError(t, err)
	require.Equal(t, world.ExplicitDeny, d)
	require.True(t, PolicyIsPublic(`{"Statement":{"Effect":"Allow","NotPrincipal":{"AWS":"arn:aws:iam::1:root"},"Action":"s3:GetObject","Resource":"*"}}`),
		"an Allow with NotPrincipal grants to everyone else")
}

// TestIdentityPolicyRejectsPrincipal: an identity policy names no
// principal, NotPrincipal included.
func TestIdentityPolicyRejectsPrincipal(t *testing.T) {
	require.ErrorIs(t, ValidateIdentityPolicy(`{"Statement":{"Effect":"Deny","NotPrincipal":{"AWS":"1"},"Action":"s3:*","Resource":"*"}}`),
		ErrMalformedPolicy)
}
