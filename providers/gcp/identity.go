package gcp

import (
	"context"
	"fmt"
	"strings"
	"time"

	compute "cloud.google.com/go/compute/apiv1"
	"cloud.google.com/go/compute/apiv1/computepb"
	iamv1 "google.golang.org/api/iam/v1"
	"google.golang.org/protobuf/proto"

	"github.com/firedrill-ir/firedrill/providers"
)

// CallerIdentity reports the project and the principal the credentials
// belong to (the key file's client_email, or the principal given with a
// static token). GCP has no "who am I" call on these APIs, so it makes no
// request.
func (i *Provider) CallerIdentity(ctx context.Context) (*providers.CallerIdentity, error) {
	p := i
	return &providers.CallerIdentity{Account: p.project, ARN: p.collector(), UserID: p.collector()}, nil
}

// DetachInstanceIdentity stops the VM (GCE changes a service account only
// on a stopped VM), then removes its service account (DetachRemove) or
// replaces it with replacementProfile, a service-account email
// (DetachReplace; empty means remove). The VM is left stopped: restarting
// is a separate, deliberate step. Tokens already issued stay valid until
// they expire (up to an hour): Roles lists the previous account, whose
// tokens RevokeRoleSessions cuts by disabling it.
func (i *Provider) DetachInstanceIdentity(ctx context.Context, instanceID string, mode providers.DetachMode, replacementProfile string) (*providers.IdentityDetachment, error) {
	p := i
	ref, err := p.resolve(ctx, instanceID)
	if err != nil {
		return nil, err
	}
	inst, err := p.getInstance(ctx, ref)
	if err != nil {
		return nil, err
	}
	res := &providers.IdentityDetachment{Instance: ref.key()}
	var prevScopes []string
	if sas := inst.GetServiceAccounts(); len(sas) > 0 {
		res.PreviousProfileARN = sas[0].GetEmail()
		prevScopes = sas[0].GetScopes()
		if res.PreviousProfileARN != "" {
			res.Roles = []string{res.PreviousProfileARN}
		}
	}
	newEmail := ""
	if mode == providers.DetachReplace {
		newEmail = replacementProfile
	}
	if res.PreviousProfileARN == newEmail {
		res.NewProfileARN = newEmail
		return res, nil
	}
	if inst.GetStatus() != "TERMINATED" {
		if err := p.stopAndWait(ctx, ref, 10*time.Minute); err != nil {
			return res, err
		}
	}
	body := &computepb.InstancesSetServiceAccountRequest{Email: proto.String(newEmail)}
	if newEmail != "" {
		body.Scopes = prevScopes
		if len(body.Scopes) == 0 {
			body.Scopes = []string{cloudPlatformScope}
		}
	}
	err = p.mutate(ctx, "compute.instances.setServiceAccount", ref.key(), func(ctx context.Context) (*compute.Operation, error) {
		return p.instances.SetServiceAccount(ctx, &computepb.SetServiceAccountInstanceRequest{Project: ref.project, Zone: ref.zone,
			Instance: ref.name, InstancesSetServiceAccountRequestResource: body}, noRetry)
	})
	if err != nil {
		return res, err
	}
	res.NewProfileARN = newEmail
	return res, nil
}

// saName turns an email or resource name into the IAM resource name.
func (p *Provider) saName(role string) string {
	if strings.HasPrefix(role, "projects/") {
		return role
	}
	return fmt.Sprintf("projects/%s/serviceAccounts/%s", p.project, role)
}

// RevokeSessions disables the service account principal (an email or
// projects/P/serviceAccounts/E). GCP cannot revoke tokens issued before a
// time: disabling rejects every token of the account at once, and it cuts
// every VM and workload running as the account, not only the compromised
// one. The blast radius is logged at Warn and returned;
// ServiceAccountUsers lists it before acting.
func (p *Provider) RevokeSessions(ctx context.Context, principal string) (*providers.Revocation, error) {
	name := p.saName(principal)
	email := name[strings.LastIndexByte(name, '/')+1:]
	users, uerr := p.ServiceAccountUsers(ctx, email)
	if uerr != nil {
		p.log.Warn("could not list the users of the service account before disabling it", "serviceAccount", email, "error", uerr)
	}
	if len(users) > 0 {
		p.log.Warn("disabling a service account cuts every workload that runs as it", "serviceAccount", email, "vms", users)
	}
	err := p.call(ctx, "iam.serviceAccounts.disable", name, func(ctx context.Context) error {
		_, err := p.iam.Projects.ServiceAccounts.Disable(name, &iamv1.DisableServiceAccountRequest{}).Context(ctx).Do()
		return err
	})
	if err != nil {
		return nil, err
	}
	desc := "iam.serviceAccounts.disable"
	if len(users) > 0 {
		desc = fmt.Sprintf("iam.serviceAccounts.disable (blast radius: %d VM(s): %s)", len(users), strings.Join(users, ", "))
	}
	res := &providers.Revocation{Principal: providers.Ref(providers.CloudGCP, providers.KindPrincipal, email),
		Method: providers.RevokeDisablePrincipal, Cutoff: p.sleeper.Now(), Detail: desc}
	for _, u := range users {
		res.BlastRadius = append(res.BlastRadius, providers.Ref(providers.CloudGCP, providers.KindVM, u))
	}
	return res, nil
}

// DisableAccessKey disables (does not delete) a user-managed key of a
// service account: user is the account's email, keyID the key id. New
// token grants signed with the key fail; tokens already minted from it stay
// valid until they expire, so pair it with RevokeSessions when the key was
// used.
func (p *Provider) DisableAccessKey(ctx context.Context, user, keyID string) error {
	name := p.saName(user) + "/keys/" + keyID
	return p.call(ctx, "iam.serviceAccountKeys.disable", name, func(ctx context.Context) error {
		_, err := p.iam.Projects.ServiceAccounts.Keys.Disable(name, &iamv1.DisableServiceAccountKeyRequest{}).Context(ctx).Do()
		return err
	})
}

// RemoveInstanceIdentity takes the service account off the VM (stopping it
// first, as GCE requires) and nothing else: tokens already minted keep
// working until they expire, and the account stays enabled.
func (p *Provider) RemoveInstanceIdentity(ctx context.Context, instanceID string) (*providers.IdentityDetachment, error) {
	return p.DetachInstanceIdentity(ctx, instanceID, providers.DetachRemove, "")
}
