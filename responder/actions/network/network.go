// Package network holds the responder's network containment actions:
// isolation that cuts established flows, its naive console-habit variant
// (kept so drills show why it fails), and the check that verifies it.
package network

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/firedrill-ir/firedrill/providers"
	"github.com/firedrill-ir/firedrill/responder/action"
	"github.com/firedrill-ir/firedrill/responder/actions/vm"
)

func init() {
	vmOnly := []providers.Kind{providers.KindVM}
	naive := action.Spec{Name: "naive_isolate", Domain: "network", Mutates: true, Kinds: vmOnly,
		Doc: "NAIVE: AWS one security-group swap; Azure an NSG swap without flushConnection; GCP a deny-by-tag " +
			"firewall without access-config churn (established flows survive all three)",
		Params: []string{"group_name"}, Needs: []action.Capability{action.Need[providers.NaiveIsolator]()}, Run: naiveIsolate}
	action.Register(naive)
	// The name the first AWS naive playbooks used.
	naive.Name, naive.Doc = "swap_security_groups", "NAIVE: the same as naive_isolate (its first, AWS-only name)"
	action.Register(naive)
	action.Register(action.Spec{Name: "isolate_network", Domain: "network", Mutates: true, Kinds: vmOnly,
		Doc:    "isolation that cuts established flows (two-step group swap, NSG with flushConnection, deny-by-tag plus access-config churn)",
		Params: []string{"allow_cidrs", "detach_public_ips"}, Needs: []action.Capability{action.Need[providers.NetworkIsolator]()},
		Run: isolateNetwork})
	action.Register(action.Spec{Name: "check_isolated", Domain: "network", Kinds: vmOnly,
		Doc:   "verify every interface is in the forensic group only (or carries the quarantine tag where groups add up)",
		Needs: []action.Capability{action.Need[providers.InstanceDescriber]()}, Run: checkIsolated})
}

// recordIsolation keeps what isolation did for the checks and a later
// release.
func recordIsolation(x *action.Run, res *providers.IsolationResult) {
	x.SetFact("isolation", map[string]any{"forensic_group": res.ForensicGroup, "transition_group": res.TransitionGroup,
		"additive": res.Additive})
}

func isolateNetwork(ctx context.Context, x *action.Run) (map[string]any, error) {
	ni, err := action.Get[providers.NetworkIsolator](x)
	if err != nil {
		return nil, err
	}
	allow, err := x.Params.Strings("allow_cidrs")
	if err != nil {
		return nil, err
	}
	detach, err := x.Params.Bool("detach_public_ips", true)
	if err != nil {
		return nil, err
	}
	res, err := ni.IsolateInstance(ctx, x.ResourceID(), providers.IsolateOptions{AllowCIDRs: allow, CaseID: x.CaseID(), DetachPublicIPs: detach})
	if err != nil {
		return nil, fmt.Errorf("isolating %s: %w", x.ResourceID(), err)
	}
	nics := []any{}
	for _, n := range res.NICs {
		prev := []any{}
		for _, g := range n.PreviousGroups {
			prev = append(prev, g)
		}
		nics = append(nics, map[string]any{"id": n.ID, "previous_groups": prev})
	}
	detached := []any{}
	for _, a := range res.DetachedAddresses {
		detached = append(detached, a)
	}
	recordIsolation(x, res)
	return map[string]any{"forensic_group": res.ForensicGroup, "transition_group": res.TransitionGroup, "nics": nics,
		"detached_addresses": detached}, nil
}

func naiveIsolate(ctx context.Context, x *action.Run) (map[string]any, error) {
	ni, err := action.Get[providers.NaiveIsolator](x)
	if err != nil {
		return nil, err
	}
	res, err := ni.IsolateNaively(ctx, x.ResourceID(), x.Params.String("group_name", ""))
	if err != nil {
		return nil, fmt.Errorf("isolating %s (naively): %w", x.ResourceID(), err)
	}
	recordIsolation(x, res)
	return map[string]any{"group": res.ForensicGroup, "note": "no flow cut: established connections survive"}, nil
}

func checkIsolated(ctx context.Context, x *action.Run) (map[string]any, error) {
	group := x.FactString("isolation", "forensic_group")
	if group == "" {
		return nil, fmt.Errorf("no isolation was recorded in this case: %w", providers.ErrFailed)
	}
	inst, err := vm.DescribeNow(ctx, x)
	if err != nil {
		return nil, err
	}
	// Security groups and NSGs are exclusive per interface: only the
	// forensic one may remain. Where groups add up (GCP network tags, the
	// quarantine tag's priority-0 deny rules winning over every allow),
	// the forensic group being present is isolation.
	additive, _ := x.Fact("isolation", "additive")
	for _, n := range inst.NICs {
		has := slices.ContainsFunc(n.Groups, func(g string) bool { return strings.EqualFold(g, group) })
		if !has || (additive != true && len(n.Groups) != 1) {
			return nil, fmt.Errorf("interface %s is in %s, not only %s: %w", n.ID, strings.Join(n.Groups, ","), group, providers.ErrFailed)
		}
	}
	return map[string]any{"isolated": true, "interfaces": len(inst.NICs)}, nil
}
