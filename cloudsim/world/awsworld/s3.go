package awsworld

import (
	"fmt"
	"slices"

	"github.com/firedrill-ir/firedrill/cloudsim/world"
)

// S3's resource policies: the bucket store itself is the kernel's, shared
// with Azure's blob containers and Cloud Storage; who a bucket policy lets
// in is AWS's.

// PolicyIsPublic reports whether a bucket policy grants anything to
// everyone: an Allow whose Principal is "*" (S3's notion of a public policy,
// without the condition analysis S3 also does).
func PolicyIsPublic(doc string) bool {
	p, err := world.ParsePolicy(doc)
	if err != nil {
		return false
	}
	for _, st := range p.Statement {
		// An Allow with NotPrincipal grants to everyone it does not name.
		if st.Effect == "Allow" && (slices.Contains(st.Principal, "*") || len(st.NotPrincipal) > 0) {
			return true
		}
	}
	return false
}

// BucketPolicyDecision evaluates a bucket's resource policy for a
// request by p: only statements whose Principal names p (or "*", its
// account, its role) count. With RestrictPublicBuckets set, a public policy
// only grants to principals of the bucket owner's account.
func (s *State) BucketPolicyDecision(b *world.Bucket, p *Principal, req world.Request) (world.Decision, error) {
	if b.Policy == "" {
		return world.ImplicitDeny, nil
	}
	pol, err := world.ParsePolicy(b.Policy)
	if err != nil {
		return world.ImplicitDeny, fmt.Errorf("bucket policy of %s: %w", b.Name, err)
	}
	arns := []string{p.ARN}
	if p.Role != nil {
		arns = append(arns, p.Role.ARN)
	}
	restricted := b.PublicAccessBlock != nil && b.PublicAccessBlock.RestrictPublicBuckets && PolicyIsPublic(b.Policy)
	var matching []world.Statement
	for _, st := range pol.Statement {
		if !st.AppliesToPrincipal(arns, p.Account) {
			continue
		}
		if st.Effect == "Allow" && restricted && (p.Account == "" || p.Account != b.Account) {
			continue // RestrictPublicBuckets: the public grant does not reach outsiders
		}
		matching = append(matching, st)
	}
	return world.Evaluate([]*world.Policy{{Statement: matching}}, req), nil
}
