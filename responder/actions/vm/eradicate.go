package vm

import (
	"context"

	"github.com/firedrill-ir/firedrill/providers"
	"github.com/firedrill-ir/firedrill/responder/actions/audit"
)

// Launched compute: miners in a region the victim does not use keep costing
// until someone stops them (containment) and terminates them (eradication).
// Each is recorded first: what launched it, when, from where.
func init() {
	audit.PlantedAction[providers.InstanceHalter]{Name: "stop_planted_compute", Domain: "vm",
		Doc: "record, then stop every instance find_planted found the attacker launched (in its own region): the " +
			"mining and the spending stop, the disks stay for the record",
		Kind: providers.KindVM, Record: "instance", Verb: "stop", Done: "stopped",
		Act: func(ctx context.Context, h providers.InstanceHalter, p audit.Planted) error {
			return h.HaltInstance(ctx, p.ID, p.Region)
		}}.Register()
	audit.PlantedAction[providers.InstanceTerminator]{Name: "terminate_planted_compute", Domain: "vm",
		Doc:  "record, then terminate every instance find_planted found the attacker launched (in its own region)",
		Kind: providers.KindVM, Record: "instance", Verb: "terminate", Done: "terminated",
		Act: func(ctx context.Context, t providers.InstanceTerminator, p audit.Planted) error {
			return t.TerminateInstance(ctx, p.ID, p.Region)
		}}.Register()
}
