package network

import (
	"context"
	"path"

	"github.com/firedrill-ir/firedrill/providers"
	"github.com/firedrill-ir/firedrill/responder/action"
	"github.com/firedrill-ir/firedrill/responder/actions/audit"
)

func init() {
	action.Register(action.Spec{Name: "delete_planted_rules", Domain: "network", Mutates: true,
		Doc:   "record, then delete every firewall rule find_planted found the attacker added (a backdoor outlives the VM it came from)",
		Needs: []action.Capability{action.Need[providers.NetworkRuleDeleter]()}, Run: deletePlantedRules})
	action.Register(action.Spec{Name: "disable_planted_rules", Domain: "network", Mutates: true,
		Doc: "record, then disable every firewall rule find_planted found the attacker added (GCP disabled, an NSG rule " +
			"turned to Deny): it admits nothing and stays for the record",
		Needs: []action.Capability{action.Need[providers.NetworkRuleDisabler]()}, Run: disablePlantedRules})
}

func disablePlantedRules(ctx context.Context, x *action.Run) (map[string]any, error) {
	dis, err := action.Get[providers.NetworkRuleDisabler](x)
	if err != nil {
		return nil, err
	}
	done, gone, err := audit.RemovePlanted(ctx, x, providers.KindNetworkRule,
		func(p audit.Planted) string { return "network-rule-" + path.Base(p.ID) + "-before-disable" },
		func(p audit.Planted) error { return dis.DisableNetworkRule(ctx, p.ID) })
	return map[string]any{"disabled": done, "already_gone": gone}, err
}

func deletePlantedRules(ctx context.Context, x *action.Run) (map[string]any, error) {
	del, err := action.Get[providers.NetworkRuleDeleter](x)
	if err != nil {
		return nil, err
	}
	done, gone, err := audit.RemovePlanted(ctx, x, providers.KindNetworkRule,
		func(p audit.Planted) string { return "network-rule-" + path.Base(p.ID) + "-before-delete" },
		func(p audit.Planted) error { return del.DeleteNetworkRule(ctx, p.ID) })
	return map[string]any{"deleted": done, "already_gone": gone}, err
}
