package attacker

import (
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
