package azure

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v8"

	"github.com/firedrill-ir/firedrill/providers"
)

// CallerIdentity returns who the provider acts as: the object id (ARN) and
// application id (UserID) of its token, and the subscription.
func (i *Provider) CallerIdentity(ctx context.Context) (*providers.CallerIdentity, error) {
	return i.callerIdentity(ctx)
}

// DetachInstanceIdentity removes the VM's system-assigned managed identity
// and, first, deletes every role assignment of that identity. Azure cannot
// revoke a managed identity's tokens: anything stolen from the VM's
// metadata service stays valid for about 24 hours after the identity is
// removed, and role assignments outlive the identity (orphaned). Deleting
// the assignments is the documented fallback: ARM authorizes each call
// against the current assignments, so the stolen tokens are denied at
// once. Roles carries the identity's object id (RevokeRoleSessions on it
// is idempotent). Replace mode has no Azure analogue that keeps a deny-all
// identity in the slot and is refused.
func (i *Provider) DetachInstanceIdentity(ctx context.Context, instanceID string, mode providers.DetachMode, replacementProfile string) (*providers.IdentityDetachment, error) {
	p := i
	if mode != providers.DetachRemove {
		return nil, opErr("DetachInstanceIdentity", instanceID, providers.ErrUnsupported, "",
			"Azure has no deny-all replacement for a managed identity; use DetachRemove (role assignments are removed as well)")
	}
	ref, err := p.parseVM("DetachInstanceIdentity", instanceID)
	if err != nil {
		return nil, err
	}
	vm, err := p.getVM(ctx, "DetachInstanceIdentity", ref, false)
	if err != nil {
		return nil, err
	}
	res := &providers.IdentityDetachment{Instance: str(vm.ID)}
	if vm.Identity == nil || vm.Identity.Type == nil || *vm.Identity.Type == armcompute.ResourceIdentityTypeNone {
		return res, nil
	}
	principal := str(vm.Identity.PrincipalID)
	res.PreviousProfileARN = string(*vm.Identity.Type)
	res.Roles = []string{principal}
	if _, err := p.removeRoleAssignments(ctx, principal); err != nil {
		return res, err
	}
	poller, err := p.vms.BeginUpdate(ctx, ref.rg, ref.name, armcompute.VirtualMachineUpdate{
		Identity: &armcompute.VirtualMachineIdentity{Type: to.Ptr(armcompute.ResourceIdentityTypeNone)}}, nil)
	if err != nil {
		return res, wrapErr("compute:VirtualMachines.BeginUpdate(identity None)", ref.id, err)
	}
	if _, err := waitLRO(ctx, p, poller, "compute:VirtualMachines.BeginUpdate(identity None)", ref.id, lroTimeout); err != nil {
		return res, err
	}
	p.log.Info("instance identity removed", "instance", ref.id, "principal", principal)
	return res, nil
}

// RBACPropagation is how long Azure documents a role assignment change
// may take to take effect: "can take up to 10 minutes" ("Troubleshoot
// Azure RBAC": Azure Resource Manager caches assignments). Until then a
// deleted assignment may go on authorizing.
const RBACPropagation = 10 * time.Minute

// RemoveGrants is Azure's cut for a principal whose tokens cannot be
// revoked (principal is its object id): it deletes every role assignment
// of the principal in the subscription, so all of its tokens, cached or
// stolen, are denied once the deletion has propagated (RBACPropagation,
// reported as the revocation's Propagation). It cannot be undone by the
// token holder; restoring access means re-creating the assignments.
func (p *Provider) RemoveGrants(ctx context.Context, principal string) (*providers.Revocation, error) {
	if principal == "" {
		return nil, opErr("RemoveGrants", "", providers.ErrInvalid, "", "principal object id is empty")
	}
	n, err := p.removeRoleAssignments(ctx, principal)
	if err != nil {
		return nil, err
	}
	var propagation time.Duration
	if n > 0 {
		propagation = RBACPropagation
	}
	return &providers.Revocation{Principal: providers.Ref(providers.CloudAzure, providers.KindPrincipal, principal),
		Method: providers.RevokeRemoveGrants, Cutoff: p.sleeper.Now(), Grants: n, Propagation: propagation,
		Detail: fmt.Sprintf("%d role assignment(s) deleted", n)}, nil
}

// RoleAssignments lists the role assignments of a principal anywhere in the
// subscription, by id.
func (p *Provider) RoleAssignments(ctx context.Context, principalID string) ([]*armauthorization.RoleAssignment, error) {
	var out []*armauthorization.RoleAssignment
	pg := p.roles.NewListForScopePager("/subscriptions/"+p.sub, &armauthorization.RoleAssignmentsClientListForScopeOptions{
		Filter: to.Ptr(fmt.Sprintf("assignedTo('%s')", principalID))})
	for pg.More() {
		page, err := pg.NextPage(ctx)
		if err != nil {
			return nil, wrapErr("authorization:RoleAssignments.ListForScope", principalID, err)
		}
		for _, ra := range page.Value {
			if ra.Properties != nil && str(ra.Properties.PrincipalID) == principalID {
				out = append(out, ra)
			}
		}
	}
	sort.Slice(out, func(a, b int) bool { return str(out[a].ID) < str(out[b].ID) })
	return out, nil
}

// removeRoleAssignments deletes a principal's role assignments and returns
// how many it deleted.
func (p *Provider) removeRoleAssignments(ctx context.Context, principalID string) (int, error) {
	ras, err := p.RoleAssignments(ctx, principalID)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, ra := range ras {
		id := str(ra.ID)
		if _, err := p.roles.DeleteByID(ctx, id, nil); err != nil {
			if isKind(err, providers.ErrNotFound) {
				continue
			}
			return n, wrapErr("authorization:RoleAssignments.DeleteByID", id, err)
		}
		n++
		p.log.Info("role assignment deleted", "principal", principalID, "assignment", id)
	}
	return n, nil
}

// RemoveInstanceIdentity sets the VM's identity to None and nothing else,
// the console habit: the token stolen from IMDS stays valid about 24 hours
// and, the role assignments intact, keeps authorizing.
func (p *Provider) RemoveInstanceIdentity(ctx context.Context, instanceID string) (*providers.IdentityDetachment, error) {
	ref, err := p.parseVM("RemoveInstanceIdentity", instanceID)
	if err != nil {
		return nil, err
	}
	poller, err := p.vms.BeginUpdate(ctx, ref.rg, ref.name, armcompute.VirtualMachineUpdate{
		Identity: &armcompute.VirtualMachineIdentity{Type: to.Ptr(armcompute.ResourceIdentityTypeNone)}}, nil)
	if err != nil {
		return nil, wrapErr("compute:VirtualMachines.BeginUpdate(identity None)", ref.id, err)
	}
	if _, err := waitLRO(ctx, p, poller, "compute:VirtualMachines.BeginUpdate(identity None)", ref.id, lroTimeout); err != nil {
		return nil, err
	}
	p.log.Info("instance identity removed, role assignments kept (naive)", "instance", ref.id)
	return &providers.IdentityDetachment{Instance: ref.id}, nil
}
