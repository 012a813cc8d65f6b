package attacker

import (
	"context"
	"fmt"

	"github.com/firedrill-ir/firedrill/clock"
	"github.com/firedrill-ir/firedrill/cloudsim/world"
)

// Actor is a legitimate principal acting in one cloud (background
// activity): its calls go through the same SDKs and transport as the
// attacker's, marked with its own address and user agent, with its own
// credential.
type Actor struct {
	Clock clock.Clock
	// World is read for what the principal knows of its environment (the
	// members of its VM group), never changed directly.
	World      *world.World
	Target     *Target
	Caller     Caller
	Principal  string
	Credential *Credential
}

// groupMember is a running VM of the site's VM group that the principal
// works with (the oldest), "" when the group has none.
func (a *Actor) groupMember() string {
	h, err := host(a.Target.Cloud)
	if err != nil {
		return ""
	}
	a.World.LockAs(a.Caller.Actor)
	defer a.World.Unlock()
	members, err := h.GroupMembersLocked(a.World, a.Target.Site, a.Target.Prop("vm_group"))
	if err != nil || len(members) == 0 {
		return ""
	}
	return members[0]
}

// routineCall is one ordinary call a routine technique can make, by the
// name scenarios list it under (the cloud's operation name).
type routineCall struct {
	name string
	do   func(ctx context.Context, a *Actor, p Params, n int) error
}

// routine is a legitimate principal going about its day: each round makes
// the scenario's list of calls, in order, with the principal's own
// credential from its own address, so the audit log is not only the attack
// and investigations must separate the two. Act returns the first failure.
func routine(cloud, id, name string, calls []routineCall, extra ...ParamSpec) *Technique {
	names := make([]string, len(calls))
	for i, c := range calls {
		names[i] = c.name
	}
	return &Technique{ID: id, Name: name, Cloud: cloud, Legitimate: true,
		Params: append([]ParamSpec{{Name: "calls", Kind: KindList, Required: true, Doc: "the calls each round makes, in order",
			Values: names}}, extra...),
		Act: func(ctx context.Context, a *Actor, p Params, n int) error {
			var first error
			for _, want := range p.List("calls") {
				for _, c := range calls {
					if c.name != want {
						continue
					}
					if err := c.do(ctx, a, p, n); err != nil && first == nil {
						first = fmt.Errorf("%s as %s: %w", want, a.Principal, err)
					}
				}
			}
			return first
		}}
}

// plantedBackdoor records a network rule the attacker added for itself as
// a backdoor_rule path, probed through the cloud's network model.
func (e *Env) plantedBackdoor(cloud, rule, what string, port int) {
	e.State.Gain(&Path{Kind: BackdoorRule, Cloud: cloud, Credential: "none", Resource: rule,
		Description: fmt.Sprintf("%s letting %s/32 in on port %d", what, e.SourceIP, port),
		Probe:       backdoorProbe(cloud, rule, port), ArtifactKind: "network_rule", Artifact: rule})
}
