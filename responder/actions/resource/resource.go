// Package resource holds the kind-independent actions on the case's
// resource: describe_resource records whatever the case is about through
// the describer registered for its kind.
package resource

import (
	"context"
	"fmt"

	"github.com/firedrill-ir/firedrill/responder/action"
)

func init() {
	action.Register(action.Spec{Name: "describe_resource", Domain: "resource",
		Doc:    "record the case's resource through its kind's describer as facts.resource (and the kind's alias, facts.instance for a VM) and as evidence",
		Params: []string{"store", "bucket"}, Run: describe})
}

func describe(ctx context.Context, x *action.Run) (map[string]any, error) {
	ref := x.Resource()
	d, ok := action.DescriberFor(ref.Kind)
	if !ok {
		return nil, action.BadParams("no describer for resource kind %q", ref.Kind)
	}
	if !d.Needs.Has(x.Provider()) {
		return nil, &action.CapabilityError{Cloud: x.Cloud(), Capability: d.Needs.Name}
	}
	facts, body, err := d.Describe(ctx, x)
	if err != nil {
		return nil, err
	}
	x.SetFact("resource", action.ResourceFacts(ref, facts))
	out := map[string]any{"kind": string(ref.Kind), "id": ref.ID, "facts": len(facts)}
	store, err := x.Params.Bool("store", true)
	if err != nil || !store {
		return out, err
	}
	ev, err := x.StoreArtifact(ctx, fmt.Sprintf("%s-record.json", ref.Kind), body)
	if err != nil {
		return nil, err
	}
	x.AddEvidence(action.Evidence{Kind: d.EvidenceKind, ID: ev.ID, Location: ev.Location, SHA256: ev.SHA256,
		Size: ev.Size, Source: ref.ID, State: "completed", CollectedBy: ev.CollectedBy, CollectedAt: ev.CollectedAt})
	return out, nil
}
