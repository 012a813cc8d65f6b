package vm

import (
	"context"
	"path"

	"github.com/firedrill-ir/firedrill/providers"
	"github.com/firedrill-ir/firedrill/responder/action"
	"github.com/firedrill-ir/firedrill/responder/actions/audit"
)

func init() {
	action.Register(action.Spec{Name: "terminate_planted_compute", Domain: "vm", Mutates: true,
		Doc:   "record, then terminate every instance find_planted found the attacker launched (in its own region)",
		Needs: []action.Capability{action.Need[providers.InstanceTerminator]()}, Run: terminatePlanted})
	action.Register(action.Spec{Name: "stop_planted_compute", Domain: "vm", Mutates: true,
		Doc: "record, then stop every instance find_planted found the attacker launched (in its own region): the " +
			"mining and the spending stop, the disks stay for the record",
		Needs: []action.Capability{action.Need[providers.InstanceHalter]()}, Run: stopPlanted})
}

func stopPlanted(ctx context.Context, x *action.Run) (map[string]any, error) {
	halt, err := action.Get[providers.InstanceHalter](x)
	if err != nil {
		return nil, err
	}
	done, gone, err := audit.RemovePlanted(ctx, x, providers.KindVM,
		func(p audit.Planted) string { return "instance-" + path.Base(p.ID) + "-before-stop" },
		func(p audit.Planted) error { return halt.HaltInstance(ctx, p.ID, p.Region) })
	return map[string]any{"stopped": done, "already_gone": gone}, err
}

// terminatePlanted is the eradication of launched compute: miners in a
// region the victim does not use keep costing until someone terminates
// them. Each is recorded first (what launched it, when, from where).
func terminatePlanted(ctx context.Context, x *action.Run) (map[string]any, error) {
	term, err := action.Get[providers.InstanceTerminator](x)
	if err != nil {
		return nil, err
	}
	done, gone, err := audit.RemovePlanted(ctx, x, providers.KindVM,
		func(p audit.Planted) string { return "instance-" + path.Base(p.ID) + "-before-terminate" },
		func(p audit.Planted) error { return term.TerminateInstance(ctx, p.ID, p.Region) })
	return map[string]any{"terminated": done, "already_gone": gone}, err
}
