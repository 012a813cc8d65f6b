// Package identity holds the responder's credential containment actions:
// take the identity off the resource, cut what it already issued (by the
// cloud's own method, or by removing its grants where tokens cannot be
// revoked), the naive variant that does neither, and the check.
package identity

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/firedrill-ir/firedrill/providers"
	"github.com/firedrill-ir/firedrill/responder/action"
	"github.com/firedrill-ir/firedrill/responder/actions/audit"
	"github.com/firedrill-ir/firedrill/responder/actions/vm"
)

func init() {
	vmOnly := []providers.Kind{providers.KindVM}
	reg := func(s action.Spec) { s.Domain = "identity"; action.Register(s) }
	reg(action.Spec{Name: "detach_identity", Mutates: true, Kinds: vmOnly,
		Doc:    "replace the instance identity with a deny-all one, or remove it (issued credentials stay valid: revoke them too)",
		Params: []string{"mode", "replacement_profile", "fallback_remove"},
		Needs:  []action.Capability{action.Need[providers.IdentityDetacher]()}, Run: detachIdentity})
	reg(action.Spec{Name: "naive_detach_identity", Mutates: true, Kinds: vmOnly,
		Doc: "NAIVE: remove the VM's identity and nothing else (AWS disassociate, Azure identity None keeping its role " +
			"assignments, GCP setServiceAccount): stolen credentials keep working",
		Needs: []action.Capability{action.Need[providers.NaiveIdentityRemover]()}, Run: naiveDetachIdentity})
	reg(action.Spec{Name: "naive_deny_operations", Mutates: true,
		Doc: "NAIVE: deny the identity only the operations listed (what the finding showed); every other operation " +
			"it was granted keeps working for a stolen credential",
		Params: []string{"operations", "role"}, Needs: []action.Capability{action.Need[providers.OperationDenier]()},
		Run: naiveDenyOperations})
	reg(action.Spec{Name: "revoke_sessions", Mutates: true,
		Doc: "make every credential the identity already issued stop working, by the cloud's method (AWS TokenIssueTime deny, GCP disable); " +
			"with await_propagation, finish only once the cut has had the time the cloud documents to take effect",
		Params: []string{"role", "await_propagation"}, Needs: []action.Capability{action.Need[providers.SessionRevoker]()}, Run: revokeSessions})
	reg(action.Spec{Name: "remove_role_assignments", Mutates: true,
		Doc: "delete every grant of the identity (Azure role assignments): its tokens cannot be revoked, this makes them authorize nothing; " +
			"with await_propagation, finish only once the deletion has had the time the cloud documents to take effect (Azure: up to 10 minutes)",
		Params: []string{"principal", "await_propagation"}, Needs: []action.Capability{action.Need[providers.GrantRemover]()}, Run: removeGrants})
	reg(action.Spec{Name: "check_identity_detached", Kinds: vmOnly, Doc: "verify the instance no longer runs as its original identity",
		Needs: []action.Capability{action.Need[providers.InstanceDescriber]()}, Run: checkIdentityDetached})
}

func detachIdentity(ctx context.Context, x *action.Run) (map[string]any, error) {
	idp, err := action.Get[providers.IdentityDetacher](x)
	if err != nil {
		return nil, err
	}
	mode := providers.DetachReplace
	switch m := x.Params.String("mode", "replace"); m {
	case "replace":
	case "remove":
		mode = providers.DetachRemove
	default:
		return nil, action.BadParams("mode %q (expected replace or remove)", m)
	}
	fallback, err := x.Params.Bool("fallback_remove", true)
	if err != nil {
		return nil, err
	}
	profile := x.Params.String("replacement_profile", "")
	used := "replace"
	if mode == providers.DetachRemove {
		used = "remove"
	}
	id := x.ResourceID()
	var res *providers.IdentityDetachment
	var replaceErr error
	if mode == providers.DetachReplace && profile == "" {
		replaceErr = errors.New("no replacement_profile given")
	} else {
		res, err = idp.DetachInstanceIdentity(ctx, id, mode, profile)
		if err != nil {
			if mode == providers.DetachRemove || !(errors.Is(err, providers.ErrNotFound) || errors.Is(err, providers.ErrInvalid)) {
				return nil, fmt.Errorf("detaching the identity of %s: %w", id, err)
			}
			replaceErr = err
		}
	}
	if replaceErr != nil {
		// A missing deny-all profile must not leave the stolen role
		// attached: removing it is the documented fallback.
		if !fallback {
			return nil, fmt.Errorf("replacing the identity of %s: %w", id, replaceErr)
		}
		used = "remove"
		res, err = idp.DetachInstanceIdentity(ctx, id, providers.DetachRemove, "")
		if err != nil {
			return nil, fmt.Errorf("removing the identity of %s after replace failed (%v): %w", id, replaceErr, err)
		}
	}
	roles := []any{}
	for _, r := range res.Roles {
		roles = append(roles, r)
	}
	if len(res.Roles) > 0 {
		x.SetFact("identity_roles", roles)
	}
	out := map[string]any{"mode": used, "previous_profile": res.PreviousProfileARN, "new_profile": res.NewProfileARN, "roles": roles}
	if replaceErr != nil {
		out["replace_error"] = replaceErr.Error()
	}
	return out, nil
}

func naiveDetachIdentity(ctx context.Context, x *action.Run) (map[string]any, error) {
	nr, err := action.Get[providers.NaiveIdentityRemover](x)
	if err != nil {
		return nil, err
	}
	res, err := nr.RemoveInstanceIdentity(ctx, x.ResourceID())
	if err != nil {
		return nil, fmt.Errorf("removing the identity of %s: %w", x.ResourceID(), err)
	}
	return map[string]any{"previous": res.PreviousProfileARN, "note": "identity removed; issued credentials not revoked"}, nil
}

func naiveDenyOperations(ctx context.Context, x *action.Run) (map[string]any, error) {
	od, err := action.Get[providers.OperationDenier](x)
	if err != nil {
		return nil, err
	}
	ops, err := x.Params.Strings("operations")
	if err != nil {
		return nil, err
	}
	if len(ops) == 0 {
		return nil, action.BadParams("operations: at least one operation to deny is needed")
	}
	who := principals(x, "role")
	for _, p := range who {
		if err := od.DenyOperations(ctx, p, ops); err != nil {
			return nil, fmt.Errorf("denying %s to %s: %w", strings.Join(ops, ", "), p, err)
		}
	}
	return map[string]any{"roles": toAny(who), "denied": toAny(ops), "note": "only these operations are denied"}, nil
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// principals are whose credentials to cut: the parameter, else the roles
// detach_identity found, else the identity describe recorded.
func principals(x *action.Run, param string) []string {
	if r := x.Params.String(param, ""); r != "" {
		return []string{r}
	}
	if v, ok := x.Fact("identity_roles"); ok {
		var out []string
		for _, r := range v.([]any) {
			out = append(out, fmt.Sprint(r))
		}
		if len(out) > 0 {
			return out
		}
	}
	if r := x.FactString("instance", "identity", "role_name"); r != "" {
		return []string{r}
	}
	return nil
}

// recordRevocations keeps who was cut, and (for all-or-nothing methods)
// who else lost their credentials with it, for the checks, the
// communication plan and the case record.
func recordRevocations(x *action.Run, revs []*providers.Revocation) map[string]any {
	done := []any{}
	var others []any
	all := []any{}
	var details []string
	for _, r := range revs {
		done = append(done, r.Principal.ID)
		details = append(details, r.Detail)
		for _, b := range r.BlastRadius {
			all = append(all, b.ID)
			if b.ID != x.ResourceID() && b.ID != x.FactString("instance", "id") {
				others = append(others, b.ID)
			}
		}
	}
	x.SetFact("revoked_roles", done)
	out := map[string]any{"principals": done}
	if len(all) > 0 {
		slices.SortFunc(others, func(a, b any) int { return strings.Compare(a.(string), b.(string)) })
		slices.SortFunc(all, func(a, b any) int { return strings.Compare(a.(string), b.(string)) })
		if others == nil {
			others = []any{}
		}
		x.SetFact("blast_radius", map[string]any{"identities": done, "affected": all, "others": others,
			"count": len(others), "revocation": strings.Join(details, "; ")})
		out["blast_radius"] = fmt.Sprintf("all-or-nothing revoke: %d other workload(s) lose their credentials too: %s",
			len(others), joinAny(others))
		out["other_workloads"] = others
	}
	return out
}

// awaitPropagation waits, when the step asks for it (await_propagation),
// until every revocation has had the propagation delay its cloud documents
// (an Azure role assignment deletion "can take up to 10 minutes"): the
// stolen credentials stop working then, not when the call returned, and
// containment is declared when the steps are done. It records what it
// waited for in out.
func awaitPropagation(ctx context.Context, x *action.Run, revs []*providers.Revocation, out map[string]any) error {
	wait, err := x.Params.Bool("await_propagation", false)
	if err != nil {
		return err
	}
	var longest time.Duration
	for _, r := range revs {
		longest = max(longest, r.Propagation)
	}
	if longest <= 0 {
		return nil
	}
	out["propagation"] = longest.String()
	if !wait {
		return nil
	}
	start := x.Now()
	if err := x.Sleep(ctx, longest); err != nil {
		return fmt.Errorf("waiting %s for the revocation to take effect: %w", longest, err)
	}
	out["waited"] = x.Now().Sub(start).String()
	return nil
}

func revokeSessions(ctx context.Context, x *action.Run) (map[string]any, error) {
	sr, err := action.Get[providers.SessionRevoker](x)
	if err != nil {
		return nil, err
	}
	if _, err := x.Params.Bool("await_propagation", false); err != nil {
		return nil, err
	}
	who := principals(x, "role")
	if len(who) == 0 {
		return map[string]any{"roles": []any{}, "note": "the instance had no identity"}, nil
	}
	var revs []*providers.Revocation
	var cutoff time.Time
	for _, p := range who {
		r, err := sr.RevokeSessions(ctx, p)
		if err != nil {
			return nil, fmt.Errorf("revoking the sessions of %s: %w", p, err)
		}
		revs = append(revs, r)
		cutoff = r.Cutoff
	}
	out := recordRevocations(x, revs)
	out["roles"] = out["principals"]
	delete(out, "principals")
	out["method"] = string(revs[0].Method)
	out["before"] = cutoff.UTC().Format(time.RFC3339)
	if _, ok := out["blast_radius"]; !ok {
		out["blast_radius"] = "every session of these identities issued before the cut-off is denied, the healthy fleet's included, until it refreshes"
	}
	return out, awaitPropagation(ctx, x, revs, out)
}

// removeGrants is the documented fallback where a cloud cannot revoke
// issued tokens (Azure managed identities, ir-semantics §3.2): ARM
// authorizes each call against the current role assignments, so a token
// stolen from the metadata service is denied from the next call on, though
// it stays cryptographically valid for about 24 hours.
func removeGrants(ctx context.Context, x *action.Run) (map[string]any, error) {
	gr, err := action.Get[providers.GrantRemover](x)
	if err != nil {
		return nil, err
	}
	if _, err := x.Params.Bool("await_propagation", false); err != nil {
		return nil, err
	}
	who := principals(x, "principal")
	if len(who) == 0 {
		return map[string]any{"principals": []any{}, "removed": 0, "note": "the instance had no identity"}, nil
	}
	var revs []*providers.Revocation
	removed := 0
	for _, p := range who {
		r, err := gr.RemoveGrants(ctx, p)
		if err != nil {
			return nil, fmt.Errorf("removing the grants of %s: %w", p, err)
		}
		revs = append(revs, r)
		removed += r.Grants
	}
	out := recordRevocations(x, revs)
	out["removed"] = removed
	out["note"] = "the identity's tokens stay valid about 24 h but no longer authorize anything"
	return out, awaitPropagation(ctx, x, revs, out)
}

func checkIdentityDetached(ctx context.Context, x *action.Run) (map[string]any, error) {
	inst, err := vm.DescribeNow(ctx, x)
	if err != nil {
		return nil, err
	}
	orig := x.FactString("instance", "identity", "profile_arn")
	origRole := x.FactString("instance", "identity", "role_name")
	still := ""
	switch {
	case inst.Identity == nil:
	case orig != "" && inst.Identity.ProfileARN == orig:
		still = orig
	case orig == "" && origRole != "" && inst.Identity.RoleName == origRole:
		// GCP: a service account, not a profile.
		still = origRole
	}
	if still != "" {
		// Still attached, but cut if the case revoked the identity itself
		// (a disabled service account: the metadata server mints no token
		// for it).
		revoked, _ := x.Fact("revoked_roles")
		list, _ := revoked.([]any)
		if !slices.ContainsFunc(list, func(v any) bool { return fmt.Sprint(v) == inst.Identity.RoleName }) {
			return nil, fmt.Errorf("the instance still runs as %s: %w", still, providers.ErrFailed)
		}
		return map[string]any{"detached": false, "revoked": true, "identity": inst.Identity.RoleName}, nil
	}
	now := ""
	if inst.Identity != nil {
		now = inst.Identity.ProfileARN
	}
	return map[string]any{"detached": true, "profile": now}, nil
}

func joinAny(v []any) string {
	parts := make([]string, len(v))
	for i, e := range v {
		parts[i] = fmt.Sprint(e)
	}
	return strings.Join(parts, ", ")
}

func init() {
	action.Register(action.Spec{Name: "remove_planted_keys", Domain: "identity", Mutates: true,
		Doc:    "record, disable, then delete every access key find_planted found (disable only with delete: false)",
		Params: []string{"delete"},
		Needs: []action.Capability{action.Need[providers.AccessKeyDescriber](), action.Need[providers.AccessKeyDisabler](),
			action.Need[providers.AccessKeyDeleter]()},
		Run: removePlantedKeys})
	action.Register(action.Spec{Name: "disable_planted_keys", Domain: "identity", Mutates: true,
		Doc:   "record, then disable every access key find_planted found: the planted credential stops working at once, kept for the record",
		Needs: []action.Capability{action.Need[providers.AccessKeyDescriber](), action.Need[providers.AccessKeyDisabler]()},
		Run: func(ctx context.Context, x *action.Run) (map[string]any, error) {
			return plantedKeys(ctx, x, "disable", nil)
		}})
}

// removePlantedKeys is the eradication of planted credentials: each key is
// recorded as evidence (owner, state, creation, last use), disabled (which
// cuts it at once and can be undone), then deleted. A key already gone
// counts as removed, so a retried step does not fail on its own work.
func removePlantedKeys(ctx context.Context, x *action.Run) (map[string]any, error) {
	doDelete, err := x.Params.Bool("delete", true)
	if err != nil {
		return nil, err
	}
	if !doDelete {
		return plantedKeys(ctx, x, "disable", nil)
	}
	del, err := action.Get[providers.AccessKeyDeleter](x)
	if err != nil {
		return nil, err
	}
	return plantedKeys(ctx, x, "delete", del)
}

// plantedKeys records, then disables each planted key, then deletes it
// when del is given; verb names the record ("before-disable").
func plantedKeys(ctx context.Context, x *action.Run, verb string, del providers.AccessKeyDeleter) (map[string]any, error) {
	desc, err := action.Get[providers.AccessKeyDescriber](x)
	if err != nil {
		return nil, err
	}
	dis, err := action.Get[providers.AccessKeyDisabler](x)
	if err != nil {
		return nil, err
	}
	done, gone := []any{}, []any{}
	var errs []error
	for _, k := range audit.PlantedOf(x, providers.KindAccessKey) {
		info, err := desc.DescribeAccessKey(ctx, k.ID)
		if errors.Is(err, providers.ErrNotFound) {
			gone = append(gone, k.ID)
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("reading planted key %s: %w", k.ID, err))
			continue
		}
		if err := x.RecordPlanted(ctx, "access-key-"+k.ID+"-before-"+verb, map[string]any{"planted": k, "key": info}); err != nil {
			errs = append(errs, err)
			continue
		}
		if err := dis.DisableAccessKey(ctx, info.User, k.ID); err != nil {
			errs = append(errs, fmt.Errorf("disabling planted key %s of %s: %w", k.ID, info.User, err))
			continue
		}
		if del != nil {
			if err := del.DeleteAccessKey(ctx, info.User, k.ID); err != nil && !errors.Is(err, providers.ErrNotFound) {
				errs = append(errs, fmt.Errorf("deleting planted key %s of %s: %w", k.ID, info.User, err))
				continue
			}
		}
		done = append(done, info.User+"/"+k.ID)
	}
	key := "disabled"
	if del != nil {
		key = "removed"
	}
	return map[string]any{key: done, "already_gone": gone, "deleted": del != nil}, errors.Join(errs...)
}
