package attacker

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

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
	// members of its VM group, a member's own address) and for what code
	// on a member sees (its metadata service, whether its port answers),
	// never changed directly.
	World     *world.World
	Target    *Target
	Caller    Caller
	Principal string
	// Credential is the principal's own (nil for activity that does not
	// sign in: see Technique.NoSignIn).
	Credential *Credential
	// Compromised lists the VMs the attacker runs code on in the cloud
	// (nil: none): breaking those is the response's job, so the probes of
	// a VM group's healthy members leave them out.
	Compromised func() []string
	// Rand is the activity's own random stream, for what it draws (when a
	// member's SDK last fetched its credential); nil draws nothing.
	Rand *rand.Rand

	// members are the credentials the group's members hold, by VM.
	members map[string]*memberCredential
}

// Result is one answer of a legitimate round: the principal that acted
// ("" for the activity's own), what it acted on, details for the record,
// and the error that refused or failed it (nil: it worked).
type Result struct {
	Principal, Resource string
	Detail              map[string]string
	Err                 error
}

// Refusal is a legitimate round the cloud refused outside its APIs: a
// connection its network model would not admit, a metadata service that
// no longer hands a workload a credential. Classify counts it denied: from
// the user's side it is the response saying no, like an AccessDenied.
type Refusal struct{ Code, Msg string }

func (r *Refusal) Error() string { return r.Msg }

// groupMember is a running VM of the site's VM group that the principal
// works with (the oldest), "" when the group has none.
func (a *Actor) groupMember() string {
	members := a.groupMembers(a.Target.Prop("vm_group"), false)
	if len(members) == 0 {
		return ""
	}
	return members[0]
}

// groupMembers lists a VM group's running members ("" for the site's
// web group), oldest first; with healthyOnly, without the VMs the
// attacker holds.
func (a *Actor) groupMembers(group string, healthyOnly bool) []string {
	h, err := host(a.Target.Cloud)
	if err != nil {
		return nil
	}
	if group == "" {
		group = a.Target.Prop("vm_group")
	}
	a.World.LockAs(a.Caller.Actor)
	defer a.World.Unlock()
	members, err := h.GroupMembersLocked(a.World, a.Target.Site, group)
	if err != nil || !healthyOnly || a.Compromised == nil {
		return members
	}
	bad := a.Compromised()
	out := members[:0:0]
	for _, m := range members {
		if !slices.Contains(bad, m) {
			out = append(out, m)
		}
	}
	return out
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
// and investigations must separate the two. A round's answer is its first
// failure.
func routine(cloud, id, name string, calls []routineCall, extra ...ParamSpec) *Technique {
	names := make([]string, len(calls))
	for i, c := range calls {
		names[i] = c.name
	}
	return &Technique{ID: id, Name: name, Cloud: cloud, Legitimate: true,
		Params: append([]ParamSpec{{Name: "calls", Kind: KindList, Required: true, Doc: "the calls each round makes, in order",
			Values: names}}, extra...),
		Act: func(ctx context.Context, a *Actor, p Params, n int) []Result {
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
			return []Result{{Err: first}}
		}}
}

// defaultClientIP is where web clients connect from when the scenario
// gives the activity no address (TEST-NET-2).
const defaultClientIP = "198.51.100.200"

// webClients are the users of the site's web tier: each round a new
// connection from the internet to the service port of the group's healthy
// members, decided by the cloud's network model (security groups and
// network ACLs, NSGs, the VPC firewall, the public address) as the
// attacker's own connections are. The site serves while any healthy member
// accepts; a round where none does is refused (denied): isolating the
// compromised VM leaves the site up, cutting the group's shared rules for
// everyone takes it down. Without a load balancer in the model, the
// members are reached on their public addresses.
func webClients(cloud, id string) *Technique {
	return &Technique{ID: id, Name: "Clients of the web tier", Cloud: cloud, Legitimate: true, NoSignIn: true, Continuous: true,
		Params: []ParamSpec{
			{Name: "group", Kind: KindString, Doc: "the VM group serving (default: the environment's web group)"},
			{Name: "port", Kind: KindInt, Default: "443", Doc: "the service port"},
		},
		Act: func(_ context.Context, a *Actor, p Params, _ int) []Result {
			group := p.String("group")
			if group == "" {
				group = a.Target.Prop("vm_group")
			}
			from := a.Caller.SourceIP
			if from == "" {
				from = defaultClientIP
			}
			members := a.groupMembers(group, true)
			h, err := host(a.Target.Cloud)
			if err != nil {
				return []Result{{Resource: group, Err: err}}
			}
			serving, code := 0, "NoHealthyMember"
			var refused []string
			a.World.LockAs(a.Caller.Actor)
			for _, vm := range members {
				ok, why := h.AcceptsLocked(a.World, vm, from, p.Int("port"))
				if ok {
					serving++
					continue
				}
				if len(refused) == 0 {
					code = why
				}
				refused = append(refused, lastSegment(vm)+" "+why)
			}
			a.World.Unlock()
			r := Result{Resource: group, Detail: map[string]string{"port": p.String("port"),
				"serving": fmt.Sprintf("%d/%d", serving, len(members))}}
			if serving == 0 {
				msg := fmt.Sprintf("no healthy member of %s accepts connections from %s on port %d", group, from, p.Int("port"))
				if len(refused) > 0 {
					msg += ": " + strings.Join(refused, ", ")
				}
				r.Err = &Refusal{Code: code, Msg: msg}
			}
			return []Result{r}
		}}
}

// fleetSpec is how a cloud's VM workloads use their identity: the
// operation an application makes with the credential its metadata service
// hands it, and when the cloud's SDK asks the metadata service again.
type fleetSpec struct {
	ID, Name  string
	Operation string
	// MaxAge is how long the SDK keeps a credential before asking the
	// metadata service again (0: until Early before it expires).
	MaxAge, Early time.Duration
	// Call makes the operation on vm with the member's credential, marked
	// as the member's (from its own address).
	Call func(ctx context.Context, a *Actor, caller Caller, c *Credential, vm string) error
}

// memberCredential is the credential one member's SDK holds and when it
// will ask for another.
type memberCredential struct {
	cred    *Credential
	refresh time.Time
}

// fleetCalls are the other members of the site's VM group at work: each
// healthy member's application calls the cloud with the credential of its
// own VM identity, from the VM's own address, as its SDK holds it. The SDK
// fetches a credential from the metadata service and keeps it until it
// would refresh (MaxAge, or Early before it expires), not when a call is
// denied; a member's first credential is taken to have been fetched at a
// random point of that span before it was first seen. So a response that
// cuts every session of a shared identity (AWS's TokenIssueTime deny, a
// disabled GCP service account) denies the healthy members too, until
// their next fetch gets a credential the cut spares, if any: the blast
// radius, round by round. One answer per member, as the member's
// principal.
func fleetCalls(cloud string, s fleetSpec) *Technique {
	return &Technique{ID: s.ID, Name: s.Name, Cloud: cloud, Legitimate: true, NoSignIn: true, Continuous: true,
		Params: []ParamSpec{{Name: "group", Kind: KindString, Doc: "the VM group whose members call (default: the environment's web group)"}},
		Act: func(ctx context.Context, a *Actor, p Params, _ int) []Result {
			var out []Result
			for _, vm := range a.groupMembers(p.String("group"), true) {
				r := Result{Principal: a.Principal + "/" + lastSegment(vm), Resource: vm,
					Detail: map[string]string{"operation": s.Operation}}
				c, caller, err := a.memberCredential(s, vm)
				if err == nil {
					err = s.Call(ctx, a, caller, c, vm)
				}
				if err != nil {
					r.Err = fmt.Errorf("%s as the identity of %s: %w", s.Operation, lastSegment(vm), err)
				}
				out = append(out, r)
			}
			return out
		}}
}

// memberCredential is the credential a member's SDK would use now,
// fetched from the VM's metadata service when it has none or its cache
// says to refresh, and the member's caller. A metadata service that hands
// out nothing (the identity removed or disabled) is a Refusal: the
// application cannot work.
func (a *Actor) memberCredential(s fleetSpec, vm string) (*Credential, Caller, error) {
	h, err := host(a.Target.Cloud)
	if err != nil {
		return nil, Caller{}, err
	}
	if a.members == nil {
		a.members = map[string]*memberCredential{}
	}
	w := a.World
	w.LockAs(a.Caller.Actor)
	defer w.Unlock()
	caller := a.Caller
	if inst := w.Instances.Lookup(vm); inst != nil && inst.PrivateIP != "" {
		caller.SourceIP = inst.PrivateIP
	}
	now := w.Now()
	m := a.members[vm]
	if m != nil && m.cred != nil && now.Before(m.refresh) {
		return m.cred, caller, nil
	}
	c, _, err := h.CredentialLocked(w, vm)
	if err != nil {
		return nil, caller, &Refusal{Code: "NoCredential",
			Msg: fmt.Sprintf("the metadata service of %s hands out no credential: %v", lastSegment(vm), err)}
	}
	span := c.Expires.Sub(now) - s.Early
	if s.MaxAge > 0 && s.MaxAge < span {
		span = s.MaxAge
	}
	refresh := now.Add(span)
	if m == nil && a.Rand != nil && span > 0 {
		// Seen for the first time: its SDK fetched at some point of the
		// span before now, so it refreshes that much sooner.
		refresh = refresh.Add(-time.Duration(a.Rand.Int64N(int64(span))))
	}
	a.members[vm] = &memberCredential{cred: c, refresh: refresh}
	return c, caller, nil
}
