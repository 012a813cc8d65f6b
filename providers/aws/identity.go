package aws

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/firedrill-ir/firedrill/providers"
)

// RevokePolicyName is the inline policy name the AWS console's "Revoke active
// sessions" button uses; reusing it means a responder's revoke and a
// console revoke update the same policy instead of stacking two.
const RevokePolicyName = "AWSRevokeOlderSessions"

// CallerIdentity returns who the provider acts as (cached after one call).
func (i *Provider) CallerIdentity(ctx context.Context) (*providers.CallerIdentity, error) {
	return i.callerIdentity(ctx)
}

// DetachInstanceIdentity replaces the instance profile with a deny-all one
// (DetachReplace: the metadata service then hands out useless credentials
// and the slot stays taken, so nothing re-attaches a working profile
// unnoticed) or removes it (DetachRemove). Neither revokes credentials the
// instance already handed out; follow with RevokeRoleSessions on Roles.
// An instance without a profile is reported with an empty
// PreviousProfileARN and no error, so a resumed playbook is idempotent.
func (i *Provider) DetachInstanceIdentity(ctx context.Context, instanceID string, mode providers.DetachMode, replacementProfile string) (*providers.IdentityDetachment, error) {
	p := i
	if mode == providers.DetachReplace && replacementProfile == "" {
		return nil, opErr("DetachInstanceIdentity", instanceID, providers.ErrInvalid, "",
			"replace mode needs a replacement instance profile (name or ARN), e.g. one whose role has AWSDenyAll")
	}
	res := &providers.IdentityDetachment{Instance: instanceID}
	assoc, err := p.currentAssociation(ctx, instanceID)
	if err != nil {
		return nil, err
	}
	if assoc == nil {
		return res, nil
	}
	res.AssociationID = awssdk.ToString(assoc.AssociationId)
	if assoc.IamInstanceProfile != nil {
		res.PreviousProfileARN = awssdk.ToString(assoc.IamInstanceProfile.Arn)
	}
	if mode == providers.DetachReplace && profileMatches(res.PreviousProfileARN, replacementProfile) {
		res.NewProfileARN = res.PreviousProfileARN
		res.PreviousProfileARN = "" // already replaced earlier; the roles behind it are not the suspect's
		return res, nil
	}
	// Learn the roles before cutting: a missing iam:GetInstanceProfile
	// permission must not block containment, so it is only logged.
	roles, _, err := p.profileRoles(ctx, res.PreviousProfileARN)
	if err != nil {
		p.log.Warn("could not list the roles of the detached profile", "profile", res.PreviousProfileARN, "error", err)
	}
	res.Roles = roles

	switch mode {
	case providers.DetachReplace:
		spec := &ec2types.IamInstanceProfileSpecification{}
		if strings.HasPrefix(replacementProfile, "arn:") {
			spec.Arn = awssdk.String(replacementProfile)
		} else {
			spec.Name = awssdk.String(replacementProfile)
		}
		out, err := p.ec2.ReplaceIamInstanceProfileAssociation(ctx, &ec2.ReplaceIamInstanceProfileAssociationInput{
			AssociationId: assoc.AssociationId, IamInstanceProfile: spec})
		if err != nil {
			return res, wrapErr("ec2:ReplaceIamInstanceProfileAssociation", instanceID, err)
		}
		if a := out.IamInstanceProfileAssociation; a != nil {
			res.AssociationID = awssdk.ToString(a.AssociationId)
			if a.IamInstanceProfile != nil {
				res.NewProfileARN = awssdk.ToString(a.IamInstanceProfile.Arn)
			}
		}
	case providers.DetachRemove:
		if _, err := p.ec2.DisassociateIamInstanceProfile(ctx, &ec2.DisassociateIamInstanceProfileInput{
			AssociationId: assoc.AssociationId}); err != nil {
			return res, wrapErr("ec2:DisassociateIamInstanceProfile", instanceID, err)
		}
		res.AssociationID = ""
	default:
		return res, opErr("DetachInstanceIdentity", instanceID, providers.ErrInvalid, "", fmt.Sprintf("unknown mode %d", mode))
	}
	p.log.Info("instance identity detached", "instance", instanceID, "previous", res.PreviousProfileARN, "new", res.NewProfileARN)
	return res, nil
}

func profileMatches(arn, nameOrARN string) bool {
	if arn == "" {
		return false
	}
	return arn == nameOrARN || strings.HasSuffix(arn, "/"+nameOrARN)
}

// revokeDoc is the console's revoke policy: deny everything to sessions
// whose token was issued before the cut-off.
type revokeDoc struct {
	Version   string `json:"Version"`
	Statement []struct {
		Effect    string                       `json:"Effect"`
		Action    []string                     `json:"Action"`
		Resource  []string                     `json:"Resource"`
		Condition map[string]map[string]string `json:"Condition"`
	} `json:"Statement"`
}

func revokePolicy(before time.Time) string {
	// Hand-written so the document is byte-for-byte the console's shape.
	return fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":["*"],"Resource":["*"],`+
		`"Condition":{"DateLessThan":{"aws:TokenIssueTime":%q}}}]}`, before.UTC().Format(time.RFC3339))
}

// existingRevokeTime reads the cut-off of an existing revoke policy.
func existingRevokeTime(doc string) (time.Time, bool) {
	if dec, err := url.QueryUnescape(doc); err == nil {
		doc = dec // IAM returns policy documents URL-encoded
	}
	var d revokeDoc
	if err := json.Unmarshal([]byte(doc), &d); err != nil {
		return time.Time{}, false
	}
	for _, s := range d.Statement {
		if v, ok := s.Condition["DateLessThan"]["aws:TokenIssueTime"]; ok && s.Effect == "Deny" {
			if t, err := time.Parse(time.RFC3339, v); err == nil {
				return t, true
			}
		}
	}
	return time.Time{}, false
}

// RevokeSessions revokes every session of a role issued until now (see
// RevokeRoleSessionsBefore). principal is a role name or ARN.
func (p *Provider) RevokeSessions(ctx context.Context, principal string) (*providers.Revocation, error) {
	role := principal
	if i := strings.LastIndex(role, ":role/"); i >= 0 {
		role = role[i+len(":role/"):]
		if j := strings.LastIndex(role, "/"); j >= 0 {
			role = role[j+1:] // a path
		}
	}
	return p.RevokeRoleSessionsBefore(ctx, role, time.Time{})
}

// RevokeRoleSessionsBefore puts the console's AWSRevokeOlderSessions inline policy
// on the role: Deny * when aws:TokenIssueTime is before the cut-off. It is
// the only way to invalidate credentials already stolen from an instance.
// Blast radius: it denies every session of the role issued before the
// cut-off, the legitimate fleet's included, until they refresh.
//
// IAM compares at one-second precision, so the cut-off is rounded up to the
// next whole second: a session issued a fraction of a second before
// "before" must not slip through. An existing, later cut-off is kept (the
// revoke never weakens).
func (p *Provider) RevokeRoleSessionsBefore(ctx context.Context, roleName string, before time.Time) (*providers.Revocation, error) {
	if roleName == "" {
		return nil, opErr("RevokeRoleSessions", "", providers.ErrInvalid, "", "role name is empty")
	}
	if before.IsZero() {
		before = p.sleeper.Now()
	}
	cut := before.UTC().Truncate(time.Second)
	if cut.Before(before) {
		cut = cut.Add(time.Second)
	}
	// IAM is eventually consistent and documents no bound on how long a
	// policy change takes to reach every endpoint; the drill models it.
	res := &providers.Revocation{Principal: providers.Ref(providers.CloudAWS, providers.KindPrincipal, roleName),
		Method: providers.RevokeTokenIssueTime, Cutoff: cut, Detail: RevokePolicyName}
	got, err := p.iam.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: awssdk.String(roleName), PolicyName: awssdk.String(RevokePolicyName)})
	switch {
	case err == nil:
		if t, ok := existingRevokeTime(awssdk.ToString(got.PolicyDocument)); ok && !t.Before(cut) {
			res.Cutoff = t
			return res, nil
		}
	case isKind(err, providers.ErrNotFound):
		// No revoke yet (or no such role: PutRolePolicy will say so).
	case isKind(err, providers.ErrAccessDenied):
		// A narrowly scoped responder may put but not read policies.
		p.log.Warn("cannot read the existing revoke policy; overwriting it", "role", roleName, "error", err)
	default:
		return nil, wrapErr("iam:GetRolePolicy", roleName, err)
	}
	if _, err := p.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: awssdk.String(roleName),
		PolicyName: awssdk.String(RevokePolicyName), PolicyDocument: awssdk.String(revokePolicy(cut))}); err != nil {
		return nil, wrapErr("iam:PutRolePolicy", roleName, err)
	}
	p.log.Info("role sessions revoked", "role", roleName, "before", cut)
	return res, nil
}

// DisableAccessKey deactivates a user's access key. Deactivation (not
// deletion) keeps the key id for the investigation and can be undone.
func (i *Provider) DisableAccessKey(ctx context.Context, user, keyID string) error {
	p := i
	if _, err := p.iam.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: awssdk.String(user),
		AccessKeyId: awssdk.String(keyID), Status: iamtypes.StatusTypeInactive}); err != nil {
		return wrapErr("iam:UpdateAccessKey", user+"/"+keyID, err)
	}
	p.log.Info("access key disabled", "user", user, "key", keyID)
	return nil
}

// DescribeAccessKey finds a key's owner (GetAccessKeyLastUsed names it, for
// any key of the account) and its state (ListAccessKeys of the owner).
func (p *Provider) DescribeAccessKey(ctx context.Context, keyID string) (*providers.AccessKeyInfo, error) {
	lu, err := p.iam.GetAccessKeyLastUsed(ctx, &iam.GetAccessKeyLastUsedInput{AccessKeyId: awssdk.String(keyID)})
	if err != nil {
		return nil, wrapErr("iam:GetAccessKeyLastUsed", keyID, err)
	}
	info := &providers.AccessKeyInfo{ID: keyID, User: awssdk.ToString(lu.UserName)}
	if u := lu.AccessKeyLastUsed; u != nil {
		info.LastUsedAt, info.LastUsedService = awssdk.ToTime(u.LastUsedDate), awssdk.ToString(u.ServiceName)
	}
	keys, err := p.iam.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: awssdk.String(info.User)})
	if err != nil {
		return nil, wrapErr("iam:ListAccessKeys", info.User, err)
	}
	for _, k := range keys.AccessKeyMetadata {
		if awssdk.ToString(k.AccessKeyId) == keyID {
			info.Status, info.CreatedAt = string(k.Status), awssdk.ToTime(k.CreateDate)
		}
	}
	return info, nil
}

// DeleteAccessKey deletes a user's key. Disable and record it first: a
// deleted key's id is all the investigation keeps.
func (p *Provider) DeleteAccessKey(ctx context.Context, user, keyID string) error {
	if _, err := p.iam.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: awssdk.String(user),
		AccessKeyId: awssdk.String(keyID)}); err != nil {
		return wrapErr("iam:DeleteAccessKey", user+"/"+keyID, err)
	}
	p.log.Info("access key deleted", "user", user, "key", keyID)
	return nil
}
