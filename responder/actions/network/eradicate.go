package network

import (
	"context"

	"github.com/firedrill-ir/firedrill/providers"
	"github.com/firedrill-ir/firedrill/responder/actions/audit"
)

// Backdoor rules outlive the VM they came from: disabled in containment
// (kept for the record), deleted in eradication.
func init() {
	audit.PlantedAction[providers.NetworkRuleDisabler]{Name: "disable_planted_rules", Domain: "network",
		Doc: "record, then disable every firewall rule find_planted found the attacker added (GCP disabled, an NSG rule " +
			"turned to Deny): it admits nothing and stays for the record",
		Kind: providers.KindNetworkRule, Record: "network-rule", Verb: "disable", Done: "disabled",
		Act: func(ctx context.Context, d providers.NetworkRuleDisabler, p audit.Planted) error {
			return d.DisableNetworkRule(ctx, p.ID)
		}}.Register()
	audit.PlantedAction[providers.NetworkRuleDeleter]{Name: "delete_planted_rules", Domain: "network",
		Doc:  "record, then delete every firewall rule find_planted found the attacker added (a backdoor outlives the VM it came from)",
		Kind: providers.KindNetworkRule, Record: "network-rule", Verb: "delete", Done: "deleted",
		Act: func(ctx context.Context, d providers.NetworkRuleDeleter, p audit.Planted) error {
			return d.DeleteNetworkRule(ctx, p.ID)
		}}.Register()
}
